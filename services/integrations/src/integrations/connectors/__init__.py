"""Connectors: how the marketplace reaches each organization's external systems (EDO operator,
1C over OData, partner webhooks), with their credentials encrypted at rest."""

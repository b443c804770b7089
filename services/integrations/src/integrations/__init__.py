"""Vitrina integrations service: Connectors to EDO operators, 1C, banks and partner webhooks; UPD generation."""

"""Integrations' copy of the organizations (EDO participant ids), kept from identity's events."""

"""Vitrina integrations service: EDO operators, 1C, banks, partner webhooks; UPD generation."""

"""Vitrina integrations service: EDO operators, 1C, banks, partner webhooks; UPD generation."""

SERVICE_NAME = "integrations"
"""The service's name (``SERVICE.name``): its spans, its jobs' among them, are made in it."""

"""Vitrina identity service: Organizations, API clients, signing keys, OAuth 2.0 tokens."""

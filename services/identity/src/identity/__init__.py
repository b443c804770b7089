"""Vitrina identity service: Organizations, their API clients, signing keys and OAuth 2.0 token issuance."""

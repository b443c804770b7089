"""Vitrina orders service: businesses order plans and manage their subscriptions."""

"""Subscriptions: a customer's use of one plan over time, and its lifecycle."""

"""Billing accounts: a customer's payment terms and balance."""

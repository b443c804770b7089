"""Payments from bank statements and their allocation to invoices."""

"""Invoices for payment, closing documents (UPD) and credit notes: what billing issues."""

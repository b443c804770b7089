"""Vitrina billing service: accounts, invoices, UPDs, VAT, payments, dunning, settlements."""

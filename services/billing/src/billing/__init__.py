"""Vitrina billing service: Billing accounts, invoices, closing documents, VAT, payments, dunning and partner settlements."""

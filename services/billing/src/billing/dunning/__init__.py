"""Reminders, overdue marks and suspension requests for unpaid invoices."""

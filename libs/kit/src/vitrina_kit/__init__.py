"""Vitrina's shared mechanisms, written once and imported by every service."""

"""Bank statements: the 1C client-bank exchange format, parsed into payment documents."""

"""Every event type, one module per publishing service; shared value types in ``base``."""

"""Stand-ins for the external systems Vitrina integrates with."""

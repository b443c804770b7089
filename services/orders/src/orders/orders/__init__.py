"""Orders: what a business asks to buy, and whether the marketplace accepts it."""

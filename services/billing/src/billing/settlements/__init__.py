"""Monthly settlements with partners: their sales, the commission, the payout."""

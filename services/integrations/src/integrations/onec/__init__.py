"""1C:Enterprise over its standard OData interface: the operator's accounting base receives the
counterparties, invoices for payment and sales, and gives back the incoming payments."""

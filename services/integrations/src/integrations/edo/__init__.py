"""EDO: the UPD (format 5.03) the marketplace sends to its customers' EDO operators."""

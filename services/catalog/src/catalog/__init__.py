"""Vitrina catalog service: partners publish products and plans; businesses browse them."""

"""Catalogue, orders and CF parsing: plain Python, no Flask and no platform SDK."""

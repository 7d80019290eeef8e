"""Vendor adapters behind small interfaces, each with a local or simulated implementation."""

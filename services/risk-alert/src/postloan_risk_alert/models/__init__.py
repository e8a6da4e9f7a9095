"""Shipped model artifacts (JSON, never pickles)."""

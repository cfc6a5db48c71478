"""Concrete workflow definitions."""

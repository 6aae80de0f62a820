"""Implementations of the domain ports over concrete engines."""

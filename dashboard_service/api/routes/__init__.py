"""Routers of dashboard_service."""

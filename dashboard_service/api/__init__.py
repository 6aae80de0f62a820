"""The HTTP edge of dashboard_service."""

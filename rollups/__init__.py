"""Dashboard rollups: counts and visitor sketches per campaign bucket, kept by core_service's
consumer at ingest and read by dashboard_service (a shared library: it imports no service)."""

"""dashboard_service: campaign metrics for marketing staff, over a pluggable analytics store."""

"""What every Pulse service shares at the HTTP edge: errors, health, logging, units of work."""

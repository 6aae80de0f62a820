"""The `pulse` command: run the services (all in one process or one each), migrate, demo."""

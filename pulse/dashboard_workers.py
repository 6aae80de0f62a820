"""`pulse dashboard --workers N`: dashboard_service in N uvicorn worker processes on one port.

As `pulse.entry_workers` does for entry_service: uvicorn spawns each worker, so the app comes
from this import string. Each worker reads the same settings as `pulse dashboard` (tokens made
up in the data directory for the embedded default: the parent makes them before spawning, so
every worker reads the same file).
"""

from fastapi import FastAPI

from dashboard_service.main import create_app as create_dashboard
from servicekit.logs import configure_logging
from servicekit.settings import CommonSettings

FACTORY = "pulse.dashboard_workers:create_app"


def create_app() -> FastAPI:
    """One worker's dashboard_service (called by uvicorn in every worker process)."""
    from pulse.cli import service_settings  # the CLI imports this module: no cycle at import

    common = CommonSettings()
    configure_logging(common.log_level, common.log_format or "json", service="dashboard")
    _, _, dashboard = service_settings(common, make_up_tokens=common.database.embedded)
    return create_dashboard(dashboard)

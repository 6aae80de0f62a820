"""`pulse run | migrate | core | entry | dashboard`: the one command line of Pulse."""

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import SecretStr

from core_service.main import create_app as create_core
from core_service.settings import CoreSettings
from dashboard_service.main import create_app as create_dashboard
from dashboard_service.settings import DashboardSettings
from entry_service.main import create_app as create_entry
from entry_service.settings import EntrySettings
from pulse import demo
from pulse.demo_page import DemoPage
from pulse.entry_workers import serve_workers
from pulse.migrate import migrate_all
from pulse.servers import Service, serve
from servicekit.logs import configure_logging
from servicekit.secrets import persistent_token
from servicekit.settings import CommonSettings

log = logging.getLogger("pulse")

DEFAULT_PORTS = {"core": 8080, "entry": 8081, "dashboard": 8082}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.data_dir:
        os.environ["PULSE_DATA_DIR"] = str(args.data_dir)
    common = CommonSettings()
    configure_logging(common.log_level)
    if args.command == "migrate":
        migrate_all(common)
        return 0
    if args.command == "run":
        return _run_all(args, common)
    return _run_one(args, common)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pulse", description=__doc__)
    parser.add_argument("--data-dir", type=Path, help="where embedded data lives (./.pulse)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run all three services in one process")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--demo", action="store_true", help="seed a demo shop and post events")
    run.add_argument("--access-log", action="store_true", help="log every HTTP request")
    for name, port in DEFAULT_PORTS.items():
        run.add_argument(f"--{name}-port", type=int, default=port)
    sub.add_parser("migrate", help="bring the database to the latest schema")
    for name, port in DEFAULT_PORTS.items():
        one = sub.add_parser(name, help=f"run {name}_service alone")
        one.add_argument("--host", default="0.0.0.0")  # containers listen on all interfaces
        one.add_argument("--port", type=int, default=port)
        if name == "entry":
            one.add_argument(
                "--workers",
                type=_positive,
                default=1,
                help="worker processes sharing the port (default 1: one process)",
            )
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _tokens(common: CommonSettings) -> tuple[str, str]:
    admin = os.environ.get("PULSE_ADMIN_TOKEN") or persistent_token(
        common.data_dir / "admin_token", "adm_"
    )
    dashboard = os.environ.get("PULSE_DASHBOARD_TOKEN") or persistent_token(
        common.data_dir / "dashboard_token", "dash_"
    )
    return admin, dashboard


def _run_all(args: argparse.Namespace, common: CommonSettings) -> int:
    migrate_all(common)  # idempotent, and `pulse run` is the one-command developer setup
    admin, dashboard = _tokens(common)
    entry_settings = EntrySettings()
    entry_app = create_entry(entry_settings)
    services = [
        Service("core", create_core(CoreSettings(admin_token=SecretStr(admin))), args.core_port),
        Service("entry", entry_app, args.entry_port),
        Service(
            "dashboard",
            create_dashboard(
                DashboardSettings(
                    admin_token=SecretStr(admin), dashboard_token=SecretStr(dashboard)
                )
            ),
            args.dashboard_port,
        ),
    ]
    urls = {s.name: f"http://{args.host}:{s.port}" for s in services}
    _announce(urls, admin, dashboard, common)
    extra = []
    if args.demo:
        origins = [f"http://localhost:{args.entry_port}", f"http://127.0.0.1:{args.entry_port}"]
        # The demo shop page lives on entry_service's port: one of the demo site's origins.
        page = DemoPage(entry_settings.snippet_path, urls["dashboard"])
        entry_app.include_router(page.router())
        extra.append(demo.trickle(urls, admin, origins, on_seeded=page.show))
    asyncio.run(
        serve(
            services,
            args.host,
            common.log_level,
            extra,
            access_log=args.access_log,
            forwarded_allow_ips=common.forwarded_allow_ips,
        )
    )
    return 0


def _run_one(args: argparse.Namespace, common: CommonSettings) -> int:
    """One service, as deployed. Only the embedded default migrates and makes up tokens."""
    embedded = common.database_url is None
    if embedded:
        migrate_all(common)
    tokens = _tokens(common) if embedded else None
    if args.command == "entry" and args.workers > 1:
        serve_workers(args.host, args.port, args.workers, common)
        return 0
    if args.command == "core":
        app = create_core(
            CoreSettings(admin_token=SecretStr(tokens[0])) if tokens else CoreSettings()
        )
    elif args.command == "entry":
        app = create_entry(EntrySettings())
    elif tokens:
        app = create_dashboard(
            DashboardSettings(
                admin_token=SecretStr(tokens[0]), dashboard_token=SecretStr(tokens[1])
            )
        )
    else:
        app = create_dashboard(DashboardSettings())
    asyncio.run(
        serve(
            [Service(args.command, app, args.port)],
            args.host,
            common.log_level,
            forwarded_allow_ips=common.forwarded_allow_ips,
        )
    )
    return 0


def _announce(urls: dict[str, str], admin: str, dashboard: str, common: CommonSettings) -> None:
    lines = [
        "Pulse is starting",
        f"  core (admin API)   {urls['core']}/docs",
        f"  entry (public)     {urls['entry']}/docs",
        f"  dashboard          {urls['dashboard']}/docs",
        f"  dashboard UI       {urls['dashboard']}/  (sign in with the dashboard token)",
        f"  admin token        {admin}",
        f"  dashboard token    {dashboard}",
        f"  data               {common.data_dir.resolve()}",
        f"  engines            {_engines(common)}",
        "Stop with Ctrl-C.",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def _engines(common: CommonSettings) -> str:
    return ", ".join(
        (
            "postgres" if common.database_url else "sqlite",
            "kafka" if common.kafka_bootstrap_servers else "embedded log",
            "elasticsearch" if common.elasticsearch_url else "sql analytics",
            "redis" if common.redis_url else "no redis",
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())

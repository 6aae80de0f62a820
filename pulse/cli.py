"""`pulse run | migrate | core | worker | entry | dashboard | dlq`: Pulse's command line."""

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from fastapi import FastAPI
from pydantic import SecretStr

from common_messaging import ENTRIES_DLQ, EVENTS_DLQ, EVENTS_ENRICHED_DLQ
from core_service.main import create_app as create_core
from core_service.settings import CoreSettings
from core_service.worker import create_worker_app
from dashboard_service.main import create_app as create_dashboard
from dashboard_service.settings import DashboardSettings
from entry_service.main import create_app as create_entry
from entry_service.settings import EntrySettings
from pulse import dead_letters, demo
from pulse.dashboard_workers import FACTORY as DASHBOARD_FACTORY
from pulse.demo_page import DemoPage
from pulse.entry_workers import FACTORY as ENTRY_FACTORY
from pulse.entry_workers import serve_workers
from pulse.migrate import migrate_all
from pulse.servers import Service, serve
from pulse.worker_processes import EmbeddedBusHasOneConsumer
from pulse.worker_processes import serve_workers as serve_consumer_workers
from servicekit.logs import configure_logging, register_secret
from servicekit.secrets import ADMIN_TOKEN, DASHBOARD_TOKEN, TokenFile, resolve_token
from servicekit.settings import CommonSettings
from servicekit.tracing import configure_tracing, shutdown_tracing

log = logging.getLogger("pulse")

DEFAULT_PORTS = {"core": 8080, "entry": 8081, "dashboard": 8082}
S = TypeVar("S", bound=CommonSettings)
WORKER_PORT = 8083  # the consumers' probes and metrics


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Settings are read from the environment once, here; `--data-dir` overrides it.
    common = _read(CommonSettings, args.data_dir)
    configure_logging(
        common.log_level,
        common.log_format or ("text" if args.command == "run" else "json"),
        service=args.command,
    )
    configure_tracing(args.command, common.otlp_endpoint)
    try:
        if args.command == "migrate":
            migrate_all(common)
            return 0
        if args.command == "dlq":
            return _dead_letters(args, common)
        if args.command == "run":
            return _run_all(args, common)
        return _run_one(args, common)
    finally:
        shutdown_tracing()


def build_parser() -> argparse.ArgumentParser:
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
    dlq = sub.add_parser("dlq", help="list or replay dead-lettered messages")
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument(
        "--topic",
        choices=["events", "entries", "index"],
        default="events",
        help="which dead letters (index: bulk lines Elasticsearch refused)",
    )
    dlq.add_argument("--wait", type=float, default=10.0, help="seconds to wait for messages")
    for name, port in {**DEFAULT_PORTS, "worker": WORKER_PORT}.items():
        what = "core_service's consumers alone" if name == "worker" else f"{name}_service alone"
        one = sub.add_parser(name, help=f"run {what}")
        one.add_argument("--host", default="0.0.0.0")  # containers listen on all interfaces
        one.add_argument("--port", type=int, default=port)
        if name in ("entry", "dashboard", "worker"):
            one.add_argument(
                "--workers",
                type=_positive,
                default=1,
                help="worker processes sharing the port (default 1: one process); for `worker`, "
                "members of the same consumer groups (Kafka only)",
            )
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _read(cls: type[S], data_dir: Path | None) -> S:
    return cls() if data_dir is None else cls(data_dir=data_dir)


def service_settings(
    common: CommonSettings, *, make_up_tokens: bool
) -> tuple[CoreSettings, EntrySettings, DashboardSettings]:
    """Each service's settings; with `make_up_tokens`, unset tokens are the data dir's."""
    core, entry, dashboard = (
        _read(CoreSettings, common.data_dir),
        _read(EntrySettings, common.data_dir),
        _read(DashboardSettings, common.data_dir),
    )
    _mask_in_logs(core, dashboard)
    if not make_up_tokens:
        return core, entry, dashboard
    admin = resolve_token(core.admin_token, common.data_dir, ADMIN_TOKEN, embedded=True)
    reader = resolve_token(
        dashboard.dashboard_token, common.data_dir, DASHBOARD_TOKEN, embedded=True
    )
    core = core.model_copy(update={"admin_token": SecretStr(admin or "")})
    dashboard = dashboard.model_copy(
        update={"admin_token": SecretStr(admin or ""), "dashboard_token": SecretStr(reader or "")}
    )
    _mask_in_logs(core, dashboard)
    return core, entry, dashboard


def _mask_in_logs(core: CoreSettings, dashboard: DashboardSettings) -> None:
    """Every token is masked in log lines, whatever logs it."""
    for token in (core.admin_token, dashboard.dashboard_token, dashboard.admin_token):
        if token is not None and token.get_secret_value():
            register_secret(token.get_secret_value())


def _run_all(args: argparse.Namespace, common: CommonSettings) -> int:
    migrate_all(common)  # idempotent, and `pulse run` is the one-command developer setup
    core, entry_settings, dashboard = service_settings(common, make_up_tokens=True)
    entry_app = create_entry(entry_settings)
    services = [
        Service("core", create_core(core), args.core_port),
        Service("entry", entry_app, args.entry_port),
        Service("dashboard", create_dashboard(dashboard), args.dashboard_port),
    ]
    urls = {s.name: f"http://{args.host}:{s.port}" for s in services}
    admin = _secret(core.admin_token)
    _announce(
        urls,
        shown_token(admin, common, ADMIN_TOKEN),
        shown_token(_secret(dashboard.dashboard_token), common, DASHBOARD_TOKEN),
        common,
    )
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


def _dead_letters(args: argparse.Namespace, common: CommonSettings) -> int:
    topic = {"events": EVENTS_DLQ, "entries": ENTRIES_DLQ, "index": EVENTS_ENRICHED_DLQ}[args.topic]
    if args.action == "replay":
        count = dead_letters.replay(common.bus, topic, args.wait)
        sys.stdout.write(f"replayed {count} message(s) from {topic}\n")
        return 0
    for letter in dead_letters.list_dead_letters(common.bus, topic, args.wait):
        sys.stdout.write(letter.line() + "\n")
    return 0


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def shown_token(token: str, common: CommonSettings, file: TokenFile) -> str:
    """A token Pulse made up (kept in the data dir) is shown; one from the environment never."""
    kept = common.data_dir / file.name
    if kept.exists() and kept.read_text().strip() == token:
        return token
    return f"(from PULSE_{file.name.upper()})"


def _run_one(args: argparse.Namespace, common: CommonSettings) -> int:
    """One service, as deployed. Only the embedded default migrates and makes up tokens."""
    if args.command == "worker" and args.workers > 1 and not common.bus.kafka_bootstrap_servers:
        sys.stderr.write(f"error: {EmbeddedBusHasOneConsumer.__doc__}\n")
        return 2
    if common.database.embedded:
        migrate_all(common)
    if args.command == "worker" and args.workers > 1:
        serve_consumer_workers(args.host, args.port, args.workers, common)
        return 0
    core, entry, dashboard = service_settings(common, make_up_tokens=common.database.embedded)
    if args.command in ("entry", "dashboard") and args.workers > 1:
        factory = {"entry": ENTRY_FACTORY, "dashboard": DASHBOARD_FACTORY}[args.command]
        serve_workers(args.host, args.port, args.workers, common, factory)
        return 0
    apps: dict[str, Callable[[], FastAPI]] = {
        "core": lambda: create_core(core),
        "worker": lambda: create_worker_app(core),
        "entry": lambda: create_entry(entry),
        "dashboard": lambda: create_dashboard(dashboard),
    }
    asyncio.run(
        serve(
            [Service(args.command, apps[args.command](), args.port)],
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

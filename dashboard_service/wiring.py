"""dashboard_service's composition root: its ports, built from its settings.

The embedded default reads the SQL analytics table; the full stack reads Elasticsearch. The
catalog (campaigns, activities, capacity) is always the database.
"""

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from elasticsearch import Elasticsearch

from dashboard_service.adapters.es_analytics import ElasticsearchAnalyticsStore
from dashboard_service.adapters.rollup_analytics import RollupAnalyticsStore
from dashboard_service.adapters.sql_analytics import SqlAnalyticsStore
from dashboard_service.adapters.sql_catalog import SqlCampaignCatalog
from dashboard_service.adapters.sql_money import SqlMoneyStore
from dashboard_service.domain.live import LiveMetrics, StreamSlots
from dashboard_service.domain.ports import (
    AnalyticsStore,
    CampaignCatalog,
    MoneyStore,
    SiteTraffic,
)
from dashboard_service.domain.sign_in_guard import SignInGuard
from dashboard_service.errors import MissingReadToken
from dashboard_service.settings import DashboardSettings
from datastore.engine import make_engine
from servicekit.database import Database
from servicekit.health import ReadinessCheck
from servicekit.secrets import DASHBOARD_TOKEN, resolve_token


@dataclass(frozen=True, slots=True)
class DashboardPorts:
    database: Database
    catalog: CampaignCatalog
    analytics_store: AnalyticsStore
    money: MoneyStore
    traffic: SiteTraffic
    live: LiveMetrics
    stream_slots: StreamSlots
    sign_in_guard: SignInGuard
    read_tokens: list[str]
    session_hours: float
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)


def read_tokens(settings: DashboardSettings) -> list[str]:
    """The dashboard and admin tokens that are set; the embedded default makes its own."""
    tokens = [
        token
        for secret in (settings.dashboard_token, settings.admin_token)
        if (token := resolve_token(secret, settings.data_dir, DASHBOARD_TOKEN, embedded=False))
    ]
    if tokens:
        return tokens
    made_up = resolve_token(
        None, settings.data_dir, DASHBOARD_TOKEN, embedded=settings.database.embedded
    )
    if made_up is not None:
        return [made_up]
    raise MissingReadToken(
        "dashboard_service needs a token on a configured database: "
        "set PULSE_DASHBOARD_TOKEN (or PULSE_ADMIN_TOKEN)"
    )


@contextmanager
def open_ports(settings: DashboardSettings) -> Iterator[DashboardPorts]:
    tokens = read_tokens(settings)
    with ExitStack() as stack:
        database = Database(make_engine(settings.database.url))
        stack.callback(database.dispose)
        readiness: dict[str, ReadinessCheck] = {"database": database.ping}
        store: AnalyticsStore
        traffic: SiteTraffic
        if settings.index.elasticsearch_url:
            # The client connects lazily: building it needs no reachable cluster.
            es = Elasticsearch(settings.index.elasticsearch_url, request_timeout=10)
            stack.callback(es.close)
            es_store = ElasticsearchAnalyticsStore(es, settings.index.prefix)

            async def elasticsearch() -> None:
                await asyncio.to_thread(es_store.ping)

            readiness["elasticsearch"] = elasticsearch
            store = traffic = es_store
            if settings.dashboard_rollups:  # core_service keeps them beside the index
                store = traffic = RollupAnalyticsStore(database.engine, es_store, es_store)
        else:
            store = traffic = SqlAnalyticsStore(database.engine)
        catalog = SqlCampaignCatalog(database.engine)
        money = SqlMoneyStore(database.engine)
        yield DashboardPorts(
            database=database,
            catalog=catalog,
            analytics_store=store,
            money=money,
            traffic=traffic,
            live=LiveMetrics(
                catalog,
                store,
                money=money,
                interval_s=settings.dashboard_stream_interval_s,
                max_stream_s=settings.dashboard_stream_max_s,
            ),
            stream_slots=StreamSlots(settings.dashboard_max_streams),
            sign_in_guard=SignInGuard(settings.dashboard_sign_in_failures, timedelta(minutes=15)),
            read_tokens=tokens,
            session_hours=settings.dashboard_session_hours,
            readiness=readiness,
        )

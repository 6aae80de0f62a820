"""Postgres and Elasticsearch go away under a steady event load and come back: nothing is lost,
the index catches up, and nothing is dead-lettered for a transient fault.

The outage is a relay in front of the shared engine that cuts every connection and refuses new
ones for a while, which is what a restart looks like from Pulse (the shared engines serve other
people's tests and are never restarted). The consumer classifies the errors as operational,
rewinds to the committed offsets and retries after a backoff. Indexing is a consumer group of
its own: while Elasticsearch is away, Postgres ingestion goes on.
"""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.engines import engine_url
from tests.support.event_load import Load, steady_load
from tests.support.factories import seed_site
from tests.support.fault_deployment import deployment, wait_until
from tests.support.replicated_stack import ReplicatedStack
from tests.support.tcp_outage import TcpOutage

pytestmark = [
    pytest.mark.integration,
    pytest.mark.fault,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]

BATCHES, BATCH_SIZE = 100, 20  # 2,000 events over ~20 s
DOWN_AT, UP_AT = 25, 65  # batches: the store is away for ~8 s of the load


@pytest.fixture
def relay(request: pytest.FixtureRequest) -> Iterator[TcpOutage]:
    engine = request.param
    url = engine_url(engine)
    port = make_url(url).port or (5432 if engine == "postgres" else 9200)
    outage = TcpOutage(port)
    try:
        yield outage
    finally:
        outage.close()


@pytest.mark.parametrize("relay", ["postgres", "elasticsearch"], indirect=True)
def test_a_store_away_mid_load_loses_nothing_and_dead_letters_nothing(
    healthy: ReplicatedStack, relay: TcpOutage, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    engine = request.node.callspec.params["relay"]
    relays = {"postgres": relay} if engine == "postgres" else {"elasticsearch": relay}
    with deployment(tmp_path, healthy.pulse_env(), **relays) as pulse:
        with pulse.db.unit_of_work() as s:
            site_key = seed_site(s).site_key

        def outage(load: Load, n: int) -> None:
            if n == DOWN_AT:
                relay.down()
                load.marks.append(f"{engine} down")
            elif n == UP_AT:
                if engine == "elasticsearch":
                    # Everything acknowledged so far reaches Postgres with the index still away.
                    acked = set(load.acknowledged)
                    wait_until(
                        lambda: pulse.stored_events(acked)[0] == len(acked),
                        60,
                        "Postgres ingestion while Elasticsearch is away",
                    )
                    load.marks.append(f"{len(acked)} in Postgres, index away")
                relay.up()
                load.marks.append(f"{engine} up")

        entry = [pulse.services["entry-0"].url]
        load = asyncio.run(
            steady_load(
                entry,
                site_key,
                batches=BATCHES,
                batch_size=BATCH_SIZE,
                interval_s=0.2,
                during=outage,
            )
        )
        assert [m for m in load.marks if "Postgres" not in m] == [f"{engine} down", f"{engine} up"]
        assert len(load.marks) == (3 if engine == "elasticsearch" else 2)
        assert len(load.acknowledged) == BATCHES * BATCH_SIZE
        pulse.assert_stored_once(load.acknowledged, timeout_s=120)
        assert pulse.dead_lettered() == 0

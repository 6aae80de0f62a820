"""core_service keeps Python's cyclic garbage collector off its consumers' batches while it runs
(`PULSE_CORE_GC_TUNING`), and gives the process its collector back when it stops."""

import gc
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from core_service.main import create_app
from core_service.settings import CoreSettings
from servicekit.server_gc import YOUNG_THRESHOLD


@pytest.fixture
def sqlite_url(migrated_sqlite: Path, data_dir: Path) -> str:
    path = data_dir / "pulse.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.mark.parametrize("tuned", [True, False])
def test_the_collector_is_tuned_while_core_service_runs(
    sqlite_url: str, data_dir: Path, tuned: bool
) -> None:
    before = gc.get_threshold()
    assert before[0] != YOUNG_THRESHOLD  # the test process runs with the default collector
    settings = CoreSettings(
        database_url=sqlite_url,
        data_dir=data_dir,
        admin_token=SecretStr("t"),
        # The embedded default whatever the environment says: this is about the process.
        elasticsearch_url=None,
        redis_url=None,
        kafka_bootstrap_servers=None,
        core_gc_tuning=tuned,
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        running = gc.get_threshold()
        frozen = gc.get_freeze_count()
    assert running[0] == (YOUNG_THRESHOLD if tuned else before[0])
    assert (frozen > 0) == tuned  # startup objects out of every collection's walk
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0

"""Catalog domain rules without a database: pure validators and in-memory repositories."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from core_service.domain import catalog
from core_service.domain.catalog_definitions import create_definition, update_definition
from core_service.domain.catalog_models import (
    Activity,
    Campaign,
    EventDefinition,
    NewActivity,
    NewCampaign,
    NewDefinition,
    NewSite,
    Site,
    Trigger,
)
from core_service.domain.catalog_paging import CursorKey, decode_cursor, encode_cursor
from core_service.domain.validation import (
    check_trigger,
    check_window,
    normalize_origins,
    url_matches,
)
from core_service.errors import DuplicateDefinitionName, InvalidCursor, InvalidField

T0 = datetime(2030, 1, 1, tzinfo=UTC)


class Memory:
    """One in-memory store serving all four ports, ordered like the SQL adapter."""

    def __init__(self) -> None:
        self.rows: dict[UUID, object] = {}

    def add(self, entity: object) -> None:
        self.rows[entity.id] = entity

    save = add

    def get(self, entity_id: UUID) -> object | None:
        return self.rows.get(entity_id)

    def _after(self, kind: type, after: CursorKey | None, limit: int) -> Sequence[object]:
        items = sorted(
            (r for r in self.rows.values() if isinstance(r, kind)),
            key=lambda r: (r.created_at, r.id),
        )
        if after is not None:
            items = [r for r in items if (r.created_at, r.id) > (after.created_at, after.id)]
        return items[:limit]

    def list_sites(self, *, after: CursorKey | None, limit: int) -> Sequence[object]:
        return self._after(Site, after, limit)

    def find_by_name(self, site_id: UUID, name: str) -> object | None:
        for row in self.rows.values():
            if isinstance(row, EventDefinition) and (row.site_id, row.name) == (site_id, name):
                return row
        return None

    @property
    def sites(self) -> "Memory":
        return self

    campaigns = activities = definitions = sites


class Ticking:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def test_origins_are_normalized_and_deduplicated() -> None:
    got = normalize_origins(["https://A.example", "https://a.example", "*", "http://x:8080"])
    assert got == ("https://a.example", "*", "http://x:8080")


@pytest.mark.parametrize(
    "origin",
    [
        "https://a.example/",
        "https://a.example?q",
        "ws://a.example",
        "https://u:p@a.example",
        "https://a.example:99999",
        "https://-bad-.example",
        "//a.example",
    ],
)
def test_bad_origins_name_their_index(origin: str) -> None:
    with pytest.raises(InvalidField) as caught:
        normalize_origins(["*", origin])
    assert caught.value.field == "allowed_origins.1"


def test_window_must_end_after_start() -> None:
    check_window(T0, None)
    check_window(T0, T0 + timedelta(seconds=1))
    with pytest.raises(InvalidField):
        check_window(T0, T0)


def test_triggers() -> None:
    check_trigger(Trigger("click", selector="#buy", url_pattern="https://a.example/*"))
    check_trigger(Trigger("page_view"))
    with pytest.raises(InvalidField, match="selector"):
        check_trigger(Trigger("form_submit"))


@pytest.mark.parametrize(
    ("pattern", "url", "matches"),
    [
        (None, "https://a.example/x", True),
        ("/products/*", "https://a.example/products/42?ref=x", True),
        ("/products/*", "https://a.example/cart", False),
        ("https://a.example/*", "https://a.example/x/y", True),
        ("https://a.example/*", "https://b.example/x", False),
        ("/a.b", "https://a.example/axb", False),
    ],
)
def test_url_globs(pattern: str | None, url: str, matches: bool) -> None:
    assert url_matches(pattern, url) is matches


def test_cursor_round_trip_and_garbage() -> None:
    key = CursorKey(T0, UUID(int=7))
    assert decode_cursor(encode_cursor(key)) == key
    for garbage in ["", "!!", "bnVsbA", "WyIyMDMwLTAxLTAxVDAwOjAwOjAwIiwgIngiXQ"]:
        with pytest.raises(InvalidCursor):
            decode_cursor(garbage)


def test_site_pages_with_fakes() -> None:
    repo, clock = Memory(), Ticking()
    made = [catalog.create_site(repo, NewSite(f"s{i}", ["*"]), clock).id for i in range(5)]
    seen, cursor = [], None
    for _ in range(10):  # bounded: a cursor that never ends must fail the test, not hang it
        page = catalog.list_sites(repo, 2, cursor)
        seen += [s.id for s in page.items]
        if (cursor := page.next_cursor) is None:
            break
    else:
        raise AssertionError(f"still paging after 10 pages: {seen}")
    assert seen == made


def test_definition_scope_and_names_with_fakes() -> None:
    store, clock = Memory(), Ticking()
    site = catalog.create_site(store, NewSite("s", ["*"]), clock)
    campaign: Campaign = catalog.create_campaign(store, NewCampaign(site.id, "c"), clock)
    activity: Activity = catalog.create_activity(
        store, campaign.id, NewActivity("a", "raffle"), clock
    )
    definition = create_definition(
        store, NewDefinition(site.id, "d", Trigger("purchase"), activity_id=activity.id), clock
    )
    assert definition.campaign_id == campaign.id
    with pytest.raises(DuplicateDefinitionName):
        create_definition(store, NewDefinition(site.id, "d", Trigger("custom")), clock)
    cleared = update_definition(store, definition.id, {"activity_id": None}, clock)
    assert cleared.activity_id is None and cleared.campaign_id == campaign.id
    assert cleared.updated_at > definition.updated_at

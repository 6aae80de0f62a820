"""A site's webhook endpoints: registered, changed, deactivated, and their secrets rotated.

The secret is returned only by `create` and `rotate_secret`; reads never show it.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from datastore.schema import Site, WebhookEndpoint
from servicekit.errors import InvalidInput, NotFound
from servicekit.keyset import CursorKey, Page, page_of
from shop_webhooks.signing import new_secret
from shop_webhooks.targets import Resolver, check_target, system_resolver


class WebhookEndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"

    def __init__(self, endpoint_id: uuid.UUID) -> None:
        super().__init__(f"no webhook endpoint with id {endpoint_id}")


class WebhookSiteNotFound(NotFound):
    code = "site_not_found"

    def __init__(self, site_id: uuid.UUID) -> None:
        super().__init__(f"no site with id {site_id}")


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: uuid.UUID
    site_id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EndpointWithSecret:
    endpoint: Endpoint
    secret: str


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    """Where webhooks may go (see `targets`); the resolver is a parameter for tests."""

    allow_private: bool = False
    resolve: Resolver = system_resolver

    def check(self, url: str) -> None:
        check_target(url, allow_private=self.allow_private, resolve=self.resolve)


def _endpoint(row: WebhookEndpoint) -> Endpoint:
    return Endpoint(
        row.id,
        row.site_id,
        row.url,
        list(row.event_types),
        row.description,
        row.active,
        row.created_at,
        row.updated_at,
    )


def _event_types(types: Sequence[str]) -> list[str]:
    if not types:
        raise InvalidInput(
            "subscribe to at least one event type",
            details=[{"field": "event_types", "message": "empty"}],
        )
    return sorted(set(types))


def create(
    session: Session,
    policy: TargetPolicy,
    now: datetime,
    *,
    site_id: uuid.UUID,
    url: str,
    event_types: Sequence[str],
    description: str | None,
) -> EndpointWithSecret:
    if session.get(Site, site_id) is None:
        raise WebhookSiteNotFound(site_id)
    policy.check(url)
    secret = new_secret()
    row = WebhookEndpoint(
        site_id=site_id,
        url=url,
        event_types=_event_types(event_types),
        description=description,
        secret=secret,
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return EndpointWithSecret(_endpoint(row), secret)


def _row(session: Session, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    row = session.get(WebhookEndpoint, endpoint_id)
    if row is None:
        raise WebhookEndpointNotFound(endpoint_id)
    return row


def get(session: Session, endpoint_id: uuid.UUID) -> Endpoint:
    return _endpoint(_row(session, endpoint_id))


def list_for_site(
    session: Session, site_id: uuid.UUID, after: CursorKey | None, limit: int
) -> Page[Endpoint]:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.site_id == site_id)
    if after is not None:
        stmt = stmt.where(
            or_(
                WebhookEndpoint.created_at > after.created_at,
                and_(WebhookEndpoint.created_at == after.created_at, WebhookEndpoint.id > after.id),
            )
        )
    stmt = stmt.order_by(WebhookEndpoint.created_at, WebhookEndpoint.id).limit(limit + 1)
    return page_of([_endpoint(r) for r in session.scalars(stmt)], limit)


def update(
    session: Session,
    policy: TargetPolicy,
    now: datetime,
    endpoint_id: uuid.UUID,
    *,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
) -> Endpoint:
    row = _row(session, endpoint_id)
    if url is not None:
        policy.check(url)
        row.url = url
    if event_types is not None:
        row.event_types = _event_types(event_types)
    if description is not None:
        row.description = description
    if active is not None:
        row.active = active
    row.updated_at = now
    session.flush()
    return _endpoint(row)


def rotate_secret(
    session: Session, now: datetime, endpoint_id: uuid.UUID, secret: Callable[[], str] = new_secret
) -> EndpointWithSecret:
    """A new secret, used from the next attempt on; the old one stops signing at once."""
    row = _row(session, endpoint_id)
    row.secret = secret()
    row.updated_at = now
    session.flush()
    return EndpointWithSecret(_endpoint(row), row.secret)

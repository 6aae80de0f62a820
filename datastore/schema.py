"""SQLAlchemy 2 models of every table. Alembic revisions in `versions/` must match them."""

import secrets
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only autoincrements INTEGER PRIMARY KEY; Postgres gets a real BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    site_key: Mapped[str] = mapped_column(String(64), unique=True)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The HMAC key the site's backend signs shoppers' user tokens with (HS256 JWTs).
    signing_secret: Mapped[str] = mapped_column(
        String(128), default=lambda: secrets.token_urlsafe(32)
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_site_created", "site_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_campaign_created", "campaign_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    per_user_limit: Mapped[int] = mapped_column(Integer, default=1)
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    conditions: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The capacity guard: raised only by `... WHERE confirmed_count < capacity`.
    confirmed_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EventDefinition(Base):
    __tablename__ = "event_definitions"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("campaigns.id"), nullable=True)
    activity_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("activities.id"), nullable=True
    )
    name: Mapped[str] = mapped_column(String(200))
    trigger_type: Mapped[str] = mapped_column(String(32))
    url_pattern: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    selector: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class User(Base):
    """A visitor of one site: `user_key` is `u:<site user id>` or `a:<anonymous id>`."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("site_id", "user_key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    user_key: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class UserSummary(Base):
    __tablename__ = "user_summaries"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    last_purchase_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    purchase_count: Mapped[int] = mapped_column(Integer, default=0)
    total_spent: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal("0"))
    entry_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_entry_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class EventOccurrence(Base):
    __tablename__ = "event_occurrences"
    __table_args__ = (
        Index("ix_event_occurrences_campaign_occurred", "campaign_id", "occurred_at"),
        Index("ix_event_occurrences_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    definition_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    activity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    anonymous_id: Mapped[str] = mapped_column(String(128))
    session_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    referrer: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    device_type: Mapped[str] = mapped_column(String(16))
    browser: Mapped[str | None] = mapped_column(String(64), nullable=True)
    os: Mapped[str | None] = mapped_column(String(64), nullable=True)
    is_new_user: Mapped[bool] = mapped_column(Boolean)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Purchase(Base):
    __tablename__ = "purchases"
    __table_args__ = (
        # The dashboard's money views: a campaign's purchases in a range, a site's customers.
        Index("ix_purchases_campaign_occurred", "campaign_id", "occurred_at"),
        Index("ix_purchases_site_user_occurred", "site_id", "user_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    activity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    order_id: Mapped[str] = mapped_column(String(128))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Vouched for by the site (server-to-server, or with the user's signed token): only these
    # count in the user summary that eligibility conditions read.
    trusted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class CohortCustomer(Base):
    """A customer's first trusted purchase on their site: the cohort they belong to (the campaign
    it was in, NULL for none, and its time). Kept with `cohort_sizes` and `cohort_cells` by
    whoever stores trusted purchases (core_service.adapters.cohort_cells), in the same
    transaction. Two purchases at the same instant: the lower event id is the first."""

    __tablename__ = "cohort_customers"
    # A campaign's new customers in a range (CAC).
    __table_args__ = (Index("ix_cohort_customers_campaign_first", "campaign_id", "first_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class CohortSize(Base):
    """Customers a campaign acquired per UTC day of their first trusted purchase on the site."""

    __tablename__ = "cohort_sizes"

    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    first_day: Mapped[date] = mapped_column(Date, primary_key=True)
    customers: Mapped[int] = mapped_column(BigInteger, default=0)


class CohortCell(Base):
    """Trusted purchases on the site of the customers a campaign acquired, per UTC day of their
    first purchase, whole weeks since it and currency. Amounts in hundredths of the currency's
    unit (purchases.amount has two decimals), so sums stay exact integers on both engines."""

    __tablename__ = "cohort_cells"

    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    first_day: Mapped[date] = mapped_column(Date, primary_key=True)
    weeks_since: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class Visitor(Base):
    """entry_service's record of who it has seen, for marking new vs returning at ingestion."""

    __tablename__ = "visitors"

    site_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    visitor_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AnalyticsEvent(Base):
    """The embedded analytics store's index: one flat row per occurrence, like an ES document."""

    __tablename__ = "analytics_events"
    __table_args__ = (Index("ix_analytics_events_campaign_ts", "campaign_id", "occurred_ts"),)

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    activity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    type: Mapped[str] = mapped_column(String(32))
    # Epoch seconds: bucketing by integer division is the same SQL on SQLite and Postgres.
    occurred_ts: Mapped[int] = mapped_column(BigInteger)
    visitor_key: Mapped[str] = mapped_column(String(200))
    device_type: Mapped[str] = mapped_column(String(16))
    is_new_user: Mapped[bool] = mapped_column(Boolean)
    revenue: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))


class RollupCount(Base):
    """Dashboard rollups (rollups/): a campaign's event counts per bucket, activity, device and
    new vs returning, one column per event type. Every event is in a minute row (`span` 60), a
    10-minute row (600) and an hour row (3600); only events stored for the first time are added."""

    __tablename__ = "rollup_counts"
    # The site overview reads every campaign of a site.
    __table_args__ = (Index("ix_rollup_counts_site_id", "site_id", "span", "bucket_ts"),)

    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    span: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # The nil UUID for events of no activity (a primary key column cannot be NULL).
    activity_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    device_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    is_new_user: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    visits: Mapped[int] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    form_submits: Mapped[int] = mapped_column(BigInteger, default=0)
    purchases: Mapped[int] = mapped_column(BigInteger, default=0)
    entries: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal("0"))
    last_entry_ts: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RollupSketch(Base):
    """Dashboard rollups: a HyperLogLog sketch of the visitors of one group (everyone, a funnel
    stage, an activity, a device, ...) of a campaign per bucket; adding a visitor twice changes
    nothing, so replays cannot inflate it."""

    __tablename__ = "rollup_sketches"
    __table_args__ = (Index("ix_rollup_sketches_site_id", "site_id", "grp", "span", "bucket_ts"),)

    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    span: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    grp: Mapped[str] = mapped_column(String(48), primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sketch: Mapped[bytes] = mapped_column(LargeBinary)


class RollupEntryTotal(Base):
    """Dashboard rollups: every confirmed entry of an activity, whatever the range (what used its
    capacity), so a view reads one row per activity instead of the campaign's every hour."""

    __tablename__ = "rollup_entry_totals"

    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    activity_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    entries: Mapped[int] = mapped_column(BigInteger, default=0)
    last_entry_ts: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RollupCountedEntry(Base):
    """Confirmed entries already added to the rollups (they come from the decisions, which a
    replay re-announces; occurrences are deduplicated by their own table instead)."""

    __tablename__ = "rollup_counted_entries"

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)


# Only a won entry claims its Idempotency-Key: refusals (at the gate or by the ledger) are each a
# record of their own, so a retry with the same key after a refusal is decided afresh.
CONFIRMED_ONLY = text("status = 'confirmed'")


class Entry(Base):
    """Every answer that carried an entry id, and its decision: the source of truth.

    Rows are confirmed or rejected (with a reason), written once and never changed: by the
    ledger for reservations, or as a record of a refusal decided before or at the gate.
    `user_slot` (1..per_user_limit) is set on confirmed rows only: the unique constraint on
    (activity, user, slot) makes the per-user limit hold even when Redis forgot who entered,
    and rejected rows (slot NULL) never count against it.
    """

    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("activity_id", "user_id", "user_slot", name="uq_entries_user_slot"),
        Index(
            "uq_entries_idempotency",
            "activity_id",
            "user_id",
            "idempotency_key",
            unique=True,
            postgresql_where=CONFIRMED_ONLY,
            sqlite_where=CONFIRMED_ONLY,
        ),
        Index("ix_entries_activity_status", "activity_id", "status"),
        # Winners for staff: an activity's entries keyset-paged by (decided_at, id), by status.
        Index("ix_entries_activity_decided", "activity_id", "decided_at", "id"),
        Index("ix_entries_activity_status_decided", "activity_id", "status", "decided_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id"))
    user_id: Mapped[str] = mapped_column(String(128))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[str | None] = mapped_column(String(500), nullable=True)
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    user_slot: Mapped[int | None] = mapped_column(Integer, nullable=True)
    device_type: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SiteMoney(Base):
    """A site's reporting currency, and the rates that convert other currencies into it."""

    __tablename__ = "site_money"

    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    # {"EUR": "1.0800"}: units of the reporting currency per unit of the other one.
    rates: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CampaignBudget(Base):
    """What staff plan to spend on a campaign, in the site's reporting currency."""

    __tablename__ = "campaign_budgets"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    # As staff typed it, before conversion into the reporting currency.
    entered_amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    entered_currency: Mapped[str] = mapped_column(String(3))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CampaignSpend(Base):
    """What a campaign cost: one row per UTC day (`period` = YYYY-MM-DD), or one `total` row."""

    __tablename__ = "campaign_spend"
    __table_args__ = (
        UniqueConstraint("campaign_id", "period"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"))
    period: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    entered_amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    entered_currency: Mapped[str] = mapped_column(String(3))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookEndpoint(Base):
    """A shop's URL that receives signed webhooks for the event types it subscribed to."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_site_created", "site_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # `whsec_<base64>`, as Standard Webhooks prints it; shown once, at creation or rotation.
    secret: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


# An event the dispatcher has not yet fanned out to the site's endpoints.
NOT_FANNED_OUT = text("fanned_out_at IS NULL")


class WebhookEvent(Base):
    """The outbox: a fact to tell the shop, written in the transaction that made it true.

    `id` is derived from (event_type, event_id), so enqueueing the same fact twice is a no-op;
    it is also the `webhook-id` every delivery of the event carries.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index(
            "ix_webhook_events_pending",
            "created_at",
            postgresql_where=NOT_FANNED_OUT,
            sqlite_where=NOT_FANNED_OUT,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_type: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    fanned_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WebhookDelivery(Base):
    """One event to one endpoint: `pending` until a 2xx (`succeeded`) or the retries run out
    (`failed`). A dispatcher owns it while `lease_until` is in the future."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_events.id"))
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id"))
    status: Mapped[str] = mapped_column(String(16))
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # When the current retry window began (creation, or a redelivery by hand).
    window_started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Staff asked for one more attempt now (the attempt is logged as manual).
    redeliver_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookAttempt(Base):
    """The delivery log: every POST, with its outcome and how long it took."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_deliveries.id"))
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer)
    manual: Mapped[bool] = mapped_column(Boolean, default=False)


class ActivityReward(Base):
    """What an activity's winners get: a code from its coupon pool, or a product hold.

    A product's price is the server's (integer minor units), never a client's; its stock is
    the activity's capacity. `hold_ttl_s`: how long a winner has to pay before the unit goes
    back to the activity.
    """

    __tablename__ = "activity_rewards"
    __table_args__ = (
        CheckConstraint("kind IN ('coupon', 'product')", name="kind_known"),
        CheckConstraint("price_minor IS NULL OR price_minor > 0", name="price_positive"),
    )

    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    price_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    hold_ttl_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CouponCode(Base):
    """One code of an activity's pool; `entry_id` is set once, in the winning transaction."""

    __tablename__ = "coupon_codes"
    __table_args__ = (
        UniqueConstraint("activity_id", "code"),
        # No code to two winners, no winner with two codes.
        UniqueConstraint("entry_id"),
        Index("ix_coupon_codes_activity_free", "activity_id", "entry_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id"))
    code: Mapped[str] = mapped_column(String(64))
    entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("entries.id"), nullable=True)
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RewardHold(Base):
    """A product unit held for a winner: `held` until paid (`paid`) or released (`expired`,
    `failed`). Held and paid holds are what the activity's confirmed count stands for."""

    __tablename__ = "reward_holds"
    __table_args__ = (
        CheckConstraint("status IN ('held', 'paid', 'expired', 'failed')", name="status_known"),
        Index("ix_reward_holds_status_expires", "status", "expires_at"),
        Index("ix_reward_holds_activity_status", "activity_id", "status"),
    )

    entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id"))
    user_id: Mapped[str] = mapped_column(String(128))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    payment_id: Mapped[str | None] = mapped_column(String(255), nullable=True, unique=True)


class PaymentRecord(Base):
    """Every verified payment notification, once per payment id and kind, with what Pulse made
    of it (a replay answers the stored outcome and changes nothing)."""

    __tablename__ = "payment_records"

    payment_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    # `succeeded` or `failed`: one attempt may fail and a later one of the same payment succeed.
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255))
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"))
    entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # paid, released, hold_expired, already_paid, amount_mismatch, currency_mismatch,
    # hold_not_found, ignored
    outcome: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SitePaymentSettings(Base):
    """The payment provider's webhook signing secret of a site (Stripe's `whsec_...`)."""

    __tablename__ = "site_payment_settings"

    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    webhook_secret: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

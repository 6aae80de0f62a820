"""Pure rules of the catalog: origins, time windows, activity capacity, triggers, URL globs."""

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from common_messaging.conditions import InvalidRule, parse_rule
from core_service.domain.catalog_models import ActivityType, Trigger
from core_service.errors import InvalidField, InvalidRuleInput

_HOST = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)
CAPACITY_REQUIRED: frozenset[ActivityType] = frozenset({"fcfs", "flash_sale"})
SELECTOR_TRIGGERS = frozenset({"click", "form_submit"})


def normalize_origin(origin: str, field: str = "allowed_origins") -> str:
    """`*`, or `scheme://host[:port]` lower-cased, as browsers send it in `Origin`."""
    value = origin.strip()
    if value == "*":
        return value
    problem = _origin_problem(value)
    if problem:
        raise InvalidField(field, f"{origin!r} is not an origin: {problem}")
    parts = urlsplit(value)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _origin_problem(value: str) -> str | None:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return "the port is not a number between 0 and 65535"
    if parts.scheme.lower() not in ("http", "https") or "://" not in value:
        return "expected '*' or http(s)://host[:port]"
    if parts.username is not None or parts.password is not None:
        return "credentials are not part of an origin"
    if parts.path or parts.query or parts.fragment or value.endswith(("?", "#")):
        return "an origin has no path, query or fragment (drop everything after the host)"
    host = (parts.hostname or "").lower()
    if not host or not (_HOST.match(host) or host.startswith("[")):
        return "the host name is not valid"
    if port == 0:
        return "port 0 is not valid"
    return None


def normalize_origins(origins: list[str]) -> tuple[str, ...]:
    normalized = [normalize_origin(o, f"allowed_origins.{i}") for i, o in enumerate(origins)]
    return tuple(dict.fromkeys(normalized))


def check_window(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise InvalidField("ends_at", "must be after starts_at")


def check_capacity(activity_type: ActivityType, capacity: int | None, per_user_limit: int) -> None:
    if capacity is None and activity_type in CAPACITY_REQUIRED:
        raise InvalidField("capacity", f"a {activity_type} activity needs a capacity")
    if capacity is not None and capacity < 1:
        raise InvalidField("capacity", "must be at least 1")
    if per_user_limit < 1:
        raise InvalidField("per_user_limit", "must be at least 1")


def check_trigger(trigger: Trigger) -> None:
    selector = trigger.selector
    if trigger.type in SELECTOR_TRIGGERS and not (selector and selector.strip()):
        raise InvalidField("trigger.selector", f"a {trigger.type} trigger needs a CSS selector")
    if trigger.type not in SELECTOR_TRIGGERS and selector is not None:
        raise InvalidField("trigger.selector", "only click and form_submit triggers use one")
    if trigger.url_pattern is not None:
        check_url_pattern(trigger.url_pattern)


def check_url_pattern(pattern: str) -> None:
    if not pattern or any(c.isspace() for c in pattern):
        raise InvalidField("trigger.url_pattern", "must be non-empty and contain no whitespace")
    if not pattern.startswith(("http://", "https://", "/", "*")):
        raise InvalidField(
            "trigger.url_pattern",
            "must start with http://, https:// (full URL), '/' or '*' (path)",
        )


def url_matches(pattern: str | None, url: str) -> bool:
    """Glob match: `*` is any run of characters; full URL if the pattern has a scheme, else path."""
    if pattern is None:
        return True
    target = url
    if not pattern.startswith(("http://", "https://")) and "://" in url:
        target = urlsplit(url).path or "/"
    regex = ".*".join(re.escape(piece) for piece in pattern.split("*"))
    return re.fullmatch(regex, target) is not None


def check_conditions(conditions: Mapping[str, Any] | None) -> None:
    """Eligibility rules are refused when saved, never discovered broken at entry time."""
    if conditions is None:
        return
    try:
        parse_rule(conditions)
    except InvalidRule as exc:
        raise InvalidRuleInput(exc.errors) from exc

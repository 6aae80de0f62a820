"""The eligibility rule language, table-driven: parsing, refusals with paths, evaluation."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from common_messaging.conditions import InvalidRule, evaluate, parse_rule

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

REPEAT_BUYER = {
    "first_seen_at": NOW - timedelta(days=200),
    "last_seen_at": NOW - timedelta(hours=1),
    "last_purchase_at": NOW - timedelta(days=10),
    "event_count": 40,
    "purchase_count": 4,
    "total_spent": Decimal("180.50"),
    "traits": {"tier": "gold", "age": 31, "newsletter": True},
}
NEWCOMER = {
    "first_seen_at": NOW - timedelta(hours=2),
    "last_seen_at": NOW - timedelta(minutes=5),
    "last_purchase_at": None,
    "event_count": 3,
    "purchase_count": 0,
    "total_spent": Decimal("0"),
    "traits": {},
}
LAPSED = {**REPEAT_BUYER, "last_purchase_at": NOW - timedelta(days=90)}
UNKNOWN: dict[str, Any] = {}  # never seen: no summary at all

HAS_PURCHASED = {"field": "last_purchase_at", "op": "exists"}
RECENT_BUYER = {"field": "last_purchase_at", "op": "within_days", "value": 30}
NEW_USERS_ONLY = {"not": HAS_PURCHASED}
LOYAL = {
    "any": [
        {"field": "purchase_count", "op": ">=", "value": 3},
        {"field": "total_spent", "op": ">=", "value": 100},
    ]
}
GOLD_OR_SILVER = {"field": "traits.tier", "op": "in", "value": ["gold", "silver"]}


@pytest.mark.parametrize(
    ("rule", "facts", "eligible", "failed"),
    [
        (HAS_PURCHASED, REPEAT_BUYER, True, None),
        (HAS_PURCHASED, NEWCOMER, False, "last_purchase_at exists"),
        (HAS_PURCHASED, UNKNOWN, False, "last_purchase_at exists"),
        (RECENT_BUYER, REPEAT_BUYER, True, None),
        (RECENT_BUYER, LAPSED, False, "last_purchase_at within_days 30"),
        (RECENT_BUYER, NEWCOMER, False, "last_purchase_at within_days 30"),
        (NEW_USERS_ONLY, NEWCOMER, True, None),
        (NEW_USERS_ONLY, UNKNOWN, True, None),
        (NEW_USERS_ONLY, REPEAT_BUYER, False, "not (last_purchase_at exists)"),
        (LOYAL, REPEAT_BUYER, True, None),
        (LOYAL, {**NEWCOMER, "total_spent": Decimal("120")}, True, None),
        (LOYAL, NEWCOMER, False, "any of: purchase_count >= 3; total_spent >= 100"),
        (GOLD_OR_SILVER, REPEAT_BUYER, True, None),
        (GOLD_OR_SILVER, NEWCOMER, False, "traits.tier in ['gold', 'silver']"),
        ({"field": "traits.age", "op": ">=", "value": 18}, REPEAT_BUYER, True, None),
        ({"field": "traits.age", "op": "<", "value": "x"}, REPEAT_BUYER, False, None),
        ({"field": "traits.newsletter", "op": "==", "value": True}, REPEAT_BUYER, True, None),
        ({"field": "event_count", "op": "!=", "value": 3}, NEWCOMER, False, None),
        ({"field": "first_seen_at", "op": "within_days", "value": 1}, NEWCOMER, True, None),
        (
            {"all": [HAS_PURCHASED, RECENT_BUYER, LOYAL]},
            LAPSED,
            False,
            "last_purchase_at within_days 30",
        ),
        ({"all": [HAS_PURCHASED, RECENT_BUYER, LOYAL]}, REPEAT_BUYER, True, None),
    ],
)
def test_rule_evaluation(
    rule: dict[str, Any], facts: dict[str, Any], eligible: bool, failed: str | None
) -> None:
    verdict = evaluate(parse_rule(rule), facts, NOW)
    assert verdict.eligible is eligible
    if failed is not None:
        assert verdict.failed == failed
    if eligible:
        assert verdict.failed is None


def test_a_purchase_in_the_future_is_not_within_days() -> None:
    facts = {**REPEAT_BUYER, "last_purchase_at": NOW + timedelta(days=1)}
    assert not evaluate(parse_rule(RECENT_BUYER), facts, NOW).eligible


@pytest.mark.parametrize(
    ("rule", "field", "message"),
    [
        ({"field": "age", "op": ">", "value": 3}, "conditions.field", "unknown field 'age'"),
        ({"field": "traits.", "op": "exists"}, "conditions.field", "unknown field"),
        ({"field": "purchase_count", "op": "~", "value": 3}, "conditions.field.op", "Input"),
        ({"field": "last_purchase_at", "op": "exists", "value": 1}, "conditions.field", "exists"),
        (
            {"field": "purchase_count", "op": "within_days", "value": 3},
            "conditions.field",
            "time fields only",
        ),
        (
            {"field": "last_purchase_at", "op": "within_days", "value": 0},
            "conditions.field",
            "whole number of days",
        ),
        ({"field": "traits.tier", "op": "in", "value": []}, "conditions.field", "non-empty"),
        ({"field": "total_spent", "op": ">=", "value": "lots"}, "conditions.field", "number"),
        (
            {"field": "last_seen_at", "op": ">", "value": "2026-01-01"},
            "conditions.field",
            "use exists or within_days",
        ),
        ({"field": "event_count", "op": ">"}, "conditions.field", "single value"),
        ({"all": []}, "conditions.all.all", "at least 1"),
        (
            {"all": [HAS_PURCHASED, {"field": "nope", "op": "exists"}]},
            "conditions.all.all.1.field",
            "unknown field 'nope'",
        ),
        ({"not": {"any": [{"op": "exists"}]}}, "conditions.not.not.any.any.0.field.field", ""),
        ({"field": "event_count", "op": ">", "value": 1, "extra": 2}, "conditions.field.extra", ""),
    ],
)
def test_bad_rules_are_refused_with_the_path_of_the_fault(
    rule: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidRule) as refused:
        parse_rule(rule)
    fields = [e["field"] for e in refused.value.errors]
    assert field in fields, fields
    assert any(message in e["message"] for e in refused.value.errors), refused.value.errors


def test_rules_are_bounded_in_size() -> None:
    huge = {"all": [HAS_PURCHASED] * 60}
    with pytest.raises(InvalidRule, match="at most 50 rules"):
        parse_rule(huge)

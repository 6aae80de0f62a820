"""Eligibility conditions: a small declarative rule language stored on an activity.

core_service validates a rule when the activity is saved; entry_service evaluates it against
the user's facts (summary and traits) when the user enters. A rule is JSON:

    {"all": [rule, ...]}   {"any": [rule, ...]}   {"not": rule}
    {"field": "<name>", "op": "<op>", "value": <value>}

Fields: `first_seen_at`, `last_seen_at`, `last_purchase_at`, `last_entry_at` (times),
`event_count`, `purchase_count`, `entry_count` (integers), `total_spent` (a number),
`traits.<name>` (a user attribute the site vouches for in the signed user token).
Operators: `exists` (no value), `==`, `!=`, `<`, `<=`, `>`, `>=`, `in` (a list),
`within_days` (times only: at most that many days ago). A missing value satisfies only
`not exists`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    model_validator,
)

TIME_FIELDS = frozenset({"first_seen_at", "last_seen_at", "last_purchase_at", "last_entry_at"})
NUMBER_FIELDS = frozenset({"event_count", "purchase_count", "total_spent", "entry_count"})
ORDER_OPS = frozenset({"<", "<=", ">", ">="})
MAX_RULES = 50

Op = Literal["exists", "==", "!=", "<", "<=", ">", ">=", "in", "within_days"]
Scalar = str | int | float | bool


class Comparison(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str = Field(min_length=1, max_length=100)
    op: Op
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _fits(self) -> "Comparison":
        _check_comparison(self)
        return self

    def describe(self) -> str:
        return self.field + (f" {self.op}" if self.op == "exists" else f" {self.op} {self.value!r}")


class All(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    all: list["Rule"] = Field(min_length=1)


class Any_(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    any: list["Rule"] = Field(min_length=1)


class Not(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    not_: "Rule" = Field(alias="not")


def _kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("all", "any", "not"):
            if key in value:
                return key
        return "field"
    if isinstance(value, BaseModel):
        return {All: "all", Any_: "any", Not: "not"}.get(type(value), "field")
    return None


Rule = Annotated[
    Annotated[All, Tag("all")]
    | Annotated[Any_, Tag("any")]
    | Annotated[Not, Tag("not")]
    | Annotated[Comparison, Tag("field")],
    Discriminator(_kind),
]
All.model_rebuild()
Any_.model_rebuild()
Not.model_rebuild()
_RULE: TypeAdapter[Rule] = TypeAdapter(Rule)


class InvalidRule(ValueError):
    """A rule that does not parse; `errors` are `{field, message}` rows with JSON paths."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def parse_rule(raw: Mapping[str, Any], path: str = "conditions") -> Rule:
    try:
        rule = _RULE.validate_python(raw)
    except ValidationError as exc:
        raise InvalidRule(
            [
                {
                    "field": ".".join([path, *(str(p) for p in err["loc"])]),
                    "message": err["msg"].removeprefix("Value error, "),
                }
                for err in exc.errors()
            ]
        ) from exc
    if _count(rule) > MAX_RULES:
        raise InvalidRule([{"field": path, "message": f"at most {MAX_RULES} rules"}])
    return rule


def _check_comparison(rule: Comparison) -> None:
    field = rule.field
    known = field in TIME_FIELDS or field in NUMBER_FIELDS or field.startswith("traits.")
    if not known or field == "traits.":
        raise ValueError(
            f"unknown field {field!r}: use one of {sorted(TIME_FIELDS | NUMBER_FIELDS)} "
            "or traits.<name>"
        )
    _check_value(field, rule.op, rule.value)


def _check_value(field: str, op: str, value: Scalar | list[Scalar] | None) -> None:
    if op == "exists":
        if value is not None:
            raise ValueError("exists takes no value")
        return
    if op == "within_days":
        if field not in TIME_FIELDS:
            raise ValueError("within_days applies to time fields only")
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError("within_days needs a whole number of days >= 1")
        return
    if op == "in":
        if not isinstance(value, list) or not value:
            raise ValueError("in needs a non-empty list of values")
        return
    if value is None or isinstance(value, list):
        raise ValueError(f"{op} needs a single value")
    if field in NUMBER_FIELDS and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError(f"{field} compares with a number")
    if field in TIME_FIELDS:
        raise ValueError(f"{field} is a time: use exists or within_days")
    if op in ORDER_OPS and isinstance(value, bool):
        raise ValueError(f"{op} needs a number or a string")


def _count(rule: Rule) -> int:
    if isinstance(rule, All):
        return 1 + sum(_count(r) for r in rule.all)
    if isinstance(rule, Any_):
        return 1 + sum(_count(r) for r in rule.any)
    if isinstance(rule, Not):
        return 1 + _count(rule.not_)
    return 1


@dataclass(frozen=True, slots=True)
class Verdict:
    eligible: bool
    failed: str | None = None  # the condition that failed, for the `not_eligible` reason


def evaluate(rule: Rule, facts: Mapping[str, Any], now: datetime) -> Verdict:
    """Evaluate against `facts`: summary fields, and `traits` as a nested mapping."""
    if isinstance(rule, All):
        for child in rule.all:
            verdict = evaluate(child, facts, now)
            if not verdict.eligible:
                return verdict
        return Verdict(True)
    if isinstance(rule, Any_):
        verdicts = [evaluate(child, facts, now) for child in rule.any]
        if any(v.eligible for v in verdicts):
            return Verdict(True)
        return Verdict(False, "any of: " + "; ".join(str(v.failed) for v in verdicts))
    if isinstance(rule, Not):
        inner = evaluate(rule.not_, facts, now)
        return Verdict(False, f"not ({_describe(rule.not_)})") if inner.eligible else Verdict(True)
    return (
        Verdict(True)
        if _holds(rule, _lookup(facts, rule.field), now)
        else Verdict(False, rule.describe())
    )


def _describe(rule: Rule) -> str:
    if isinstance(rule, Comparison):
        return rule.describe()
    return type(rule).__name__.lower().rstrip("_")


def _lookup(facts: Mapping[str, Any], field: str) -> Any:
    if field.startswith("traits."):
        traits = facts.get("traits") or {}
        return traits.get(field.removeprefix("traits.")) if isinstance(traits, Mapping) else None
    return facts.get(field)


def _holds(rule: Comparison, actual: Any, now: datetime) -> bool:
    op, expected = rule.op, rule.value
    if op == "exists":
        return actual is not None
    if actual is None:
        return False
    if op == "within_days":
        assert isinstance(expected, int) and isinstance(actual, datetime)
        return now - timedelta(days=expected) <= actual <= now
    if isinstance(actual, Decimal):
        actual = float(actual)
    if op == "in":
        assert isinstance(expected, list)
        return actual in expected
    if op == "==":
        return bool(actual == expected)
    if op == "!=":
        return bool(actual != expected)
    try:
        return bool(
            {
                "<": actual < expected,
                "<=": actual <= expected,
                ">": actual > expected,
                ">=": actual >= expected,
            }[op]  # fmt: skip
        )
    except TypeError:  # a trait of another type than the rule's value never matches
        return False

"""What an event's free-form `properties` may hold, checked before anything stores them.

A browser (or anyone) sends them, Postgres keeps them as JSON and Elasticsearch as a
`flattened` field. Each store refuses something the JSON parser lets through: Postgres a NUL
character, both a lone surrogate (half an emoji, cut by a careless client), `NaN` and
`Infinity`, and Elasticsearch objects nested deeper than its flattened depth limit (20). A value
that breaks a rule is refused with the rule it broke, so the sender can fix it.
"""

import math
from typing import Any, Final

MAX_DEPTH: Final = 8  # well under Elasticsearch's flattened depth_limit (20)
MAX_KEYS: Final = 256  # keys in all nested objects together
MAX_KEY_LENGTH: Final = 256


class UntrustedJsonError(ValueError):
    """The value breaks one of the rules above; the message says which, and where."""


def check_text(text: str, where: str) -> None:
    """No NUL (Postgres refuses it) and no lone surrogate (UTF-8 cannot encode it)."""
    if "\x00" in text:
        raise UntrustedJsonError(f"{where}: contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UntrustedJsonError(
            f"{where}: not valid Unicode (a lone surrogate at {exc.start})"
        ) from exc


def check_properties(value: dict[str, Any]) -> None:
    keys = _check(value, "properties", 1)
    if keys > MAX_KEYS:
        raise UntrustedJsonError(f"properties: {keys} keys; at most {MAX_KEYS}")


def _check(value: Any, where: str, depth: int) -> int:
    """The number of object keys in `value`; raises at the first rule it breaks."""
    if isinstance(value, str):
        check_text(value, where)
        return 0
    if isinstance(value, float) and not math.isfinite(value):
        raise UntrustedJsonError(f"{where}: {value} is not a JSON number")
    if isinstance(value, dict | list):
        if depth > MAX_DEPTH:
            raise UntrustedJsonError(f"{where}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, list):
            return sum(_check(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value))
        keys = len(value)
        for key, item in value.items():
            if not key or len(key) > MAX_KEY_LENGTH:
                raise UntrustedJsonError(f"{where}: keys must be 1 to {MAX_KEY_LENGTH} characters")
            check_text(key, f"{where} key")
            keys += _check(item, f"{where}.{key}", depth + 1)
            if keys > MAX_KEYS:
                break
        return keys
    return 0

"""Logging configured once, at process start: event names with key=value fields.

Two formats. `json` (the default for a single deployed service) writes one JSON object per line
with `timestamp`, `level`, `service`, `logger`, `event`, the message's key=value fields, and the
current `request_id` / `trace_id`; `text` (the default of `pulse run`) is the plain line a
developer reads. Either way every line passes through `redact`, so tokens, passwords and
credentials in URLs never reach the output, whatever a message or an exception carries.
"""

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from servicekit.log_context import current_ids

LogFormat = Literal["json", "text"]

# `event_name key=value key=value`: the convention of every log call in Pulse.
_EVENT = re.compile(r"^([a-z][a-z0-9_]*)(?:\s+|$)(.*)$", re.S)
_FIELD = re.compile(r"(?:^|(?<=\s))([a-z][a-z0-9_]*)=(\S*)")
# Field names whose values are secrets whatever they look like.
_SECRET_KEY = re.compile(r"token|password|passwd|secret|api_?key|authorization|cookie", re.I)
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SERVICES = {
    "core_service": "core",
    "entry_service": "entry",
    "dashboard_service": "dashboard",
}

_PATTERNS = (
    # Credentials inside URLs: scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@", re.I), r"\1***@"),
    # Authorization headers and bearer tokens, however they got into a message.
    (re.compile(r"(\bbearer\s+)[^\s,;\"']+", re.I), r"\1***"),
    # key=value / "key": "value" pairs whose key names a secret.
    (
        re.compile(
            r"((?:token|password|passwd|secret|api[_-]?key|authorization|cookie)[\"']?\s*[=:]\s*"
            r"[\"']?)[^\s,;\"'&]+",
            re.I,
        ),
        r"\1***",
    ),
    # Pulse's generated tokens and signed JWTs (user tokens of campaign entries).
    (re.compile(r"\b(?:adm|dash)_[A-Za-z0-9_-]{8,}"), "***"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "***"),
)
_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """A value that must never be logged (e.g. the configured admin token), masked verbatim."""
    if value and len(value) >= 6:
        _known_secrets.add(value)


def redact(text: str) -> str:
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record; the message's `event key=value` become fields."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "service": _service_of(record.name, self._service),
            "logger": record.name,
        }
        matched = _EVENT.match(message)
        if matched:
            entry["event"] = matched.group(1)
            fields = dict(_FIELD.findall(matched.group(2)))
            entry.update({k: v for k, v in fields.items() if k not in entry})
            # A value with spaces (an exception's text) does not split into fields: keep it all.
            if _FIELD.sub("", matched.group(2)).strip():
                entry["message"] = message
        else:  # a library's prose
            entry["event"] = "log"
            entry["message"] = message
        for key, value in vars(record).items():  # `extra={...}` fields
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        entry.update({k: v for k, v in current_ids().items() if v})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # Each value is masked before encoding: JSON's escaping would hide a `"password": "x"`.
        masked = {
            key: "***" if _SECRET_KEY.search(key) and value else _masked(value)
            for key, value in entry.items()
        }
        return json.dumps(masked, ensure_ascii=False)


def _masked(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(value if isinstance(value, str) else str(value))


class RedactingTextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(f"{k}={v}" for k, v in current_ids().items() if v)
        return redact(f"{line} {ids}" if ids else line)


def _service_of(logger: str, default: str) -> str:
    return _SERVICES.get(logger.split(".", 1)[0], default)


def configure_logging(
    level: str = "INFO",
    log_format: LogFormat = "text",
    *,
    service: str = "pulse",
    stream: TextIO | None = None,
    secrets: Iterable[str] = (),
) -> None:
    for secret in secrets:
        register_secret(secret)
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(
            RedactingTextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # One line per outgoing request would drown the demo's own output.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # python-redis-lock logs every acquire at INFO; cache fills are routine, not news.
    logging.getLogger("redis_lock").setLevel(logging.WARNING)

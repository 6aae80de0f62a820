"""Logging configured once, at process start: event names with key=value fields."""

import logging


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # One line per outgoing request would drown the demo's own output.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # python-redis-lock logs every acquire at INFO; cache fills are routine, not news.
    logging.getLogger("redis_lock").setLevel(logging.WARNING)

"""Hands the ledger's decisions (from the decisions topic) to the requests waiting for them here.

A thread reads the decisions topic in a group of its own (every entry_service process sees
every decision, from the moment it started) and resolves the matching futures on the loop.
"""

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable
from uuid import UUID

from common_messaging import (
    EntryDecided,
    EventConsumer,
    MessageDecodeError,
    decode,
)

log = logging.getLogger(__name__)

Listener = Callable[[EntryDecided], None]


class DecisionWaiter:
    def __init__(self, open_consumer: Callable[[str], EventConsumer]) -> None:
        self._consumer = open_consumer(f"pulse-entry-waiter-{uuid.uuid4().hex[:12]}")
        self._waiting: dict[
            UUID, tuple[asyncio.AbstractEventLoop, asyncio.Future[EntryDecided]]
        ] = {}
        self._listeners: list[Listener] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pulse-entry-waiter", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def on_decision(self, listener: Listener) -> None:
        """Called on the waiter's thread for every decision seen (keep it short)."""
        self._listeners.append(listener)

    def expect(self, entry_id: UUID) -> "asyncio.Future[EntryDecided]":
        """Register before publishing the reservation, so a fast decision is never missed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[EntryDecided] = loop.create_future()
        self._waiting[entry_id] = (loop, future)
        return future

    def forget(self, entry_id: UUID) -> None:
        self._waiting.pop(entry_id, None)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    messages = self._consumer.poll(500, 0.1)
                except Exception:  # the broker may be away for a while; keep listening
                    log.exception("entry_waiter_poll_failed")
                    self._stop.wait(1.0)
                    continue
                for message in messages:
                    try:
                        decision = decode(message.value, EntryDecided).payload
                    except MessageDecodeError as exc:
                        log.warning(
                            "entry_waiter_bad_decision offset=%d error=%s", message.offset, exc
                        )
                        continue
                    self._deliver(decision)
        finally:
            self._consumer.close()

    def _deliver(self, decision: EntryDecided) -> None:
        for listener in self._listeners:
            try:
                listener(decision)
            except Exception:  # a listener's bug must not stop the deliveries
                log.exception("entry_waiter_listener_failed")
        waiting = self._waiting.pop(decision.entry_id, None)
        if waiting is not None:
            loop, future = waiting
            loop.call_soon_threadsafe(_settle, future, decision)


def _settle(future: "asyncio.Future[EntryDecided]", decision: EntryDecided) -> None:
    if not future.done():
        future.set_result(decision)

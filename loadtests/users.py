"""Locust users that behave like Pulse's real clients, built from its public HTTP contract.

- BrowsingShopper: the tracking snippet on a shop page (definitions with ETag, event batches).
- OpeningShopper: a shopper pressing "enter" (signed user token, Idempotency-Key, retries on
  429/503 after Retry-After, then polling until the entry is final).
- MarketingStaff: the dashboard (sign in, campaigns, metrics, the live stream).

Every answer that matters to the checker goes to the ledger (loadtests/ledger.py).
"""

import json
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

import gevent
import jwt
from geventhttpclient.client import HTTPClientPool
from locust import HttpUser, between, constant, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.user.task import LOCUST_STATE_STOPPING

from loadtests import traffic
from loadtests.ledger import LedgerWriter
from loadtests.plan import PLAN_ENV, ActivityPlan, RunPlan

MAX_TRIES = 6  # a shopper's page gives up after this many answers of 429/503/network error
POLL_FOR_S = 60.0  # how long a page polls a `reserved` entry before giving up
STREAM_READ_S = 4.0  # how long staff keep the live stream open per look


PLAN = RunPlan.load_file(Path(os.environ[PLAN_ENV]))
LEDGER = LedgerWriter(Path(PLAN.out_dir))
# A browser's fetch has no timeout of its own (the snippet aborts none): a shopper waits. The
# pool's clients take their timeouts from here, not from the user class.
SHOPPER_WAIT_S = 180.0
ENTRY_POOL = HTTPClientPool(
    concurrency=PLAN.load.connections, network_timeout=SHOPPER_WAIT_S, connection_timeout=60.0
)


def _close_ledger(**_: Any) -> None:
    LEDGER.close()


events.quitting.add_listener(_close_ledger)


def _retry_after(headers: Any, attempt: int, rng: random.Random) -> float:
    """The server's Retry-After as a floor, exponential backoff with jitter above it."""
    floor = float(headers.get("Retry-After") or 0) if headers else 0.0
    backoff = min(8.0, 0.5 * 2**attempt) * rng.uniform(0.5, 1.5)
    return float(max(floor, backoff))


def _shed(status: int, headers: Any) -> bool:
    """Pulse's designed refusals under load: 429, or 503 with Retry-After."""
    return status == 429 or (status == 503 and bool(headers and headers.get("Retry-After")))


class BrowsingShopper(FastHttpUser):
    """A visitor's browser running the snippet: definitions, then batches of events."""

    host = PLAN.entry_url
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.visitors = traffic.Visitors(self.rng)
        self.etag: str | None = None

    @task
    def visit(self) -> None:
        ua = traffic.user_agent(self.rng)
        headers = {"User-Agent": ua, "Origin": PLAN.origin}
        self._definitions(headers)
        events = traffic.session_events(
            self.rng, PLAN.definitions, self.visitors.next(), str(uuid.uuid4()), ua
        )
        # The snippet flushes after a few events: a visit is one or two batches.
        cut = self.rng.randint(1, len(events))
        for batch in (events[:cut], events[cut:]):
            if batch:
                self._post_batch(batch, headers)

    def _definitions(self, headers: dict[str, str]) -> None:
        extra = {"If-None-Match": self.etag} if self.etag else {}
        with self.client.get(
            f"/v1/sites/{PLAN.site_key}/definitions",
            headers={**headers, **extra},
            name="definitions: GET",
            catch_response=True,
        ) as r:
            if r.status_code == 200:
                self.etag = r.headers.get("ETag")
                r.success()
            elif r.status_code == 304:
                r.success()
            else:
                _fail(r, "definitions: GET")

    def _post_batch(self, events: list[dict[str, Any]], headers: dict[str, str]) -> None:
        for attempt in range(MAX_TRIES):
            # sent_at is stamped per attempt, as the snippet does; text/plain like the snippet.
            body = json.dumps(
                {"site_key": PLAN.site_key, "sent_at": traffic.now_iso(), "events": events}
            )
            with self.client.post(
                "/v1/events",
                data=body,
                headers={**headers, "Content-Type": "text/plain"},
                name="events: POST batch",
                catch_response=True,
            ) as r:
                if r.status_code == 202:
                    rejected = {x["index"] for x in r.json().get("rejected", [])}
                    if rejected:
                        r.failure(f"events rejected: {r.text[:300]}")
                    else:
                        r.success()
                    LEDGER.events_accepted(
                        e["event_id"] for i, e in enumerate(events) if i not in rejected
                    )
                    return
                if not _retryable(r):
                    _fail(r, "events: POST batch")
                    return
                _fail(r, "events: POST batch")
                wait = _retry_after(r.headers, attempt, self.rng)
            gevent.sleep(wait)


class OpeningShopper(FastHttpUser):
    """A shopper at a campaign opening. Each `_arrive` is a new shopper arriving (new user
    id, new address); in the spike, each user presses once at the opening moment."""

    host = PLAN.entry_url
    client_pool = ENTRY_POOL  # shoppers reach Pulse through the ingress's connection pool
    # Arrivals are paced inside the task, never in Locust's wait_time: a user stopped while in
    # its wait is killed outright, and gevent can resume it from that wait (so it starts an
    # attempt) before the kill lands, cutting the attempt off unanswered. A user stopped in a
    # task is only marked stopping, and the attempt under way finishes.
    wait_time = constant(3600) if PLAN.load.once else constant(0)

    def on_start(self) -> None:
        self.rng = random.Random()
        if PLAN.load.once:
            gevent.sleep(max(0.0, PLAN.load.opening_at - time.time()))

    @task
    def enter(self) -> None:
        if PLAN.load.once:
            self._arrive()
            return
        while self._state != LOCUST_STATE_STOPPING:
            began = time.monotonic()
            self._arrive()
            until = began + PLAN.load.opener_pacing_s
            while self._state != LOCUST_STATE_STOPPING and (left := until - time.monotonic()) > 0:
                gevent.sleep(min(left, 0.25))

    def _arrive(self) -> None:
        activity = self._pick_activity()
        user = f"{PLAN.run_id}-{uuid.uuid4().hex[:12]}"
        headers = {
            "User-Agent": traffic.user_agent(self.rng),
            "Origin": PLAN.origin,
            "X-Forwarded-For": traffic.shopper_ip(self.rng),
            "Content-Type": "application/json",
        }
        token = jwt.encode(
            {"sub": user, "exp": int(time.time()) + 600}, PLAN.signing_secret, algorithm="HS256"
        )
        body = json.dumps(
            {"site_key": PLAN.site_key, "user_token": token, "anonymous_id": str(uuid.uuid4())}
        )
        tries = activity.attempts_per_shopper
        if PLAN.load.once and self.rng.random() < 0.1:
            tries += 1  # a double click: a second attempt with a new key
        for _ in range(tries):
            # Being stopped gracefully: finish the attempt under way, start no new one (the
            # run's end would cut it off and leave it unanswered).
            if self._state == LOCUST_STATE_STOPPING:
                break
            self._attempt(activity, user, headers, body)

    def _pick_activity(self) -> ActivityPlan:
        weights = [0.8 if i == 0 else 0.2 for i in range(len(PLAN.activities))]
        if PLAN.load.once:
            return PLAN.activities[0]
        return self.rng.choices(PLAN.activities, weights=weights)[0]

    def _attempt(
        self, activity: ActivityPlan, user: str, headers: dict[str, str], body: str
    ) -> None:
        key = str(uuid.uuid4())  # one per attempt, reused on every retry of it
        LEDGER.entry_started(activity=activity.id, user=user, key=key)
        answer, status = self._post(activity, {**headers, "Idempotency-Key": key}, body)
        if answer is None:
            LEDGER.entry(
                activity=activity.id,
                user=user,
                key=key,
                entry_id=None,
                status=status,
                reason=None,
            )
            return
        if answer["status"] != "rejected":  # a refusal at the gate has no row to wait for
            LEDGER.entry_admitted(
                activity=activity.id, user=user, key=key, entry_id=answer["entry_id"]
            )
        answer = self._poll(answer, headers)
        final = answer["status"] if answer["status"] != "reserved" else "unresolved"
        LEDGER.entry(
            activity=activity.id,
            user=user,
            key=key,
            entry_id=answer["entry_id"],
            status=final,
            reason=answer.get("reason"),
        )

    def _post(
        self, activity: ActivityPlan, headers: dict[str, str], body: str
    ) -> tuple[dict[str, Any] | None, str]:
        outcome = "failed"
        for attempt in range(MAX_TRIES):
            with self.client.post(
                f"/v1/activities/{activity.id}/entries",
                data=body,
                headers=headers,
                name="entry: POST",
                catch_response=True,
            ) as r:
                if r.status_code == 202:
                    r.success()
                    answer: dict[str, Any] = r.json()
                    return answer, "answered"
                _fail(r, "entry: POST")
                if not _retryable(r):
                    return None, "failed"
                outcome = "shed" if _shed(r.status_code, r.headers) else "failed"
                wait = _retry_after(r.headers, attempt, self.rng)
            gevent.sleep(wait)
        return None, outcome

    def _poll(self, answer: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        deadline = time.monotonic() + POLL_FOR_S
        while answer["status"] == "reserved" and time.monotonic() < deadline:
            gevent.sleep(0.5)
            with self.client.get(
                f"/v1/entries/{answer['entry_id']}",
                headers={"Origin": headers["Origin"]},
                name="entry: GET (poll)",
                catch_response=True,
            ) as r:
                if r.status_code == 200:
                    r.success()
                    answer = r.json()
                elif r.status_code == 404:  # not visible yet right after the POST: poll on
                    r.success()
                else:
                    _fail(r, "entry: GET (poll)")
        return answer


class MarketingStaff(HttpUser):
    """Marketing staff on the dashboard: sign in once, then read metrics and watch live.

    requests (HttpUser), not FastHttpUser: the live stream is endless, and closing a requests
    response closes its connection cleanly."""

    host = PLAN.dashboard_url
    wait_time = between(2, 5)

    def on_start(self) -> None:
        with self.client.post(
            "/v1/session",
            json={"token": PLAN.dashboard_token},
            name="dashboard: sign in",
            catch_response=True,
        ) as r:
            if r.status_code == 200:
                r.success()
            else:
                _fail(r, "dashboard: sign in")

    @task(5)
    def metrics(self) -> None:
        with self.client.get(
            f"/v1/campaigns/{PLAN.campaign_id}/metrics",
            name="dashboard: metrics",
            catch_response=True,
        ) as r:
            if r.status_code == 200 and "totals" in r.json():
                r.success()
            else:
                _fail(r, "dashboard: metrics")

    @task(1)
    def campaigns(self) -> None:
        with self.client.get(
            "/v1/campaigns", name="dashboard: campaigns", catch_response=True
        ) as r:
            if r.status_code == 200:
                r.success()
            else:
                _fail(r, "dashboard: campaigns")

    @task(1)
    def watch(self) -> None:
        """Open the live stream, read what arrives for a few seconds, close it."""
        with self.client.get(
            f"/v1/campaigns/{PLAN.campaign_id}/stream",
            name="dashboard: stream",
            stream=True,
            catch_response=True,
        ) as r:
            try:
                if r.status_code != 200:
                    _fail(r, "dashboard: stream")
                    return
                updates = 0
                with gevent.Timeout(STREAM_READ_S, False):
                    for line in r.iter_lines():
                        updates += line == b"event: metrics"
                if updates:
                    r.success()
                else:
                    r.failure("no metrics event within the read window")
            finally:
                r.close()


def _retryable(r: Any) -> bool:
    """What the snippet retries: network errors (status 0), 408, 429 and 5xx."""
    return bool(r.status_code in (0, 408, 429) or r.status_code >= 500)


def _fail(r: Any, name: str) -> None:
    status = int(r.status_code or 0)
    if status >= 500 and not _shed(status, r.headers):
        LEDGER.server_error(name, status)
    text = (r.text or "")[:200] if status else str(getattr(r, "error", ""))[:200]
    r.failure(f"{status} {text}")

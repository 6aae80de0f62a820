"""The entry gate's two Lua scripts, run directly on the stack's Redis with nothing behind them.

Postgres would refuse whatever the admit script lets through wrongly, which is why the gate's
contract tests cannot see a broken script: here the script's own answers, counters and TTLs
are the assertions. Every test works on keys under a prefix of its own and deletes exactly
those keys afterwards (never a flush: other people's tests share this Redis).
"""

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis

from entry_service.adapters.redis_gate_scripts import (
    ADMIT,
    KEY_TTL_S,
    RELEASE,
    activity_keys,
    admit_args,
    decision_args,
    idempotency_field,
)
from tests.engines import engine_url

pytestmark = pytest.mark.integration


@dataclass
class Gate:
    client: redis.Redis
    keys: list[str]

    def warm(self, confirmed: int = 0) -> None:
        self.client.set(self.keys[0], confirmed)

    def admit(
        self, user: str, key: str | None = None, *, capacity: int | None = 10, limit: int = 1
    ) -> list[str]:
        entry_id = uuid.uuid4()
        args = admit_args(user, key or uuid.uuid4().hex, entry_id, capacity, limit)
        raw = self.client.register_script(ADMIT)(keys=self.keys, args=args)
        return [v.decode() if isinstance(v, bytes) else str(v) for v in raw]

    def release(self, user: str, key: str, admitted: str) -> int:
        args = [user, idempotency_field(user, key), admitted]
        return int(self.client.register_script(RELEASE)(keys=self.keys, args=args))

    @property
    def count(self) -> int | None:
        raw = self.client.get(self.keys[0])
        return None if raw is None else int(raw)

    def user_count(self, user: str) -> int:
        return int(self.client.hget(self.keys[1], user) or 0)

    def admitted(self, user: str, key: str) -> str | None:
        raw = self.client.hget(self.keys[2], idempotency_field(user, key))
        return None if raw is None else raw.decode()


@pytest.fixture
def gate() -> Iterator[Gate]:
    client = redis.Redis.from_url(engine_url("redis"), socket_timeout=5)
    keys = activity_keys(uuid.uuid4(), prefix=f"pulse-test-{uuid.uuid4().hex[:8]}")
    try:
        yield Gate(client, keys)
    finally:
        client.delete(*keys)
        client.close()


def test_cold_counters_ask_for_a_warm_up_and_touch_nothing(gate: Gate) -> None:
    assert gate.admit("ada") == ["cold"]
    assert gate.client.exists(*gate.keys) == 0


def test_admission_counts_the_user_and_remembers_the_key(gate: Gate) -> None:
    gate.warm(4)
    code, value = gate.admit("ada", "k1", capacity=10)
    entry_id, _, position = value.rpartition(":")
    assert (code, position) == ("ok", "5")
    uuid.UUID(entry_id)
    assert (gate.count, gate.user_count("ada")) == (5, 1)
    assert gate.admitted("ada", "k1") == value


def test_first_admission_gives_the_new_hashes_the_key_ttl(gate: Gate) -> None:
    gate.warm()
    assert gate.admit("ada")[0] == "ok"
    for key in gate.keys[1:]:
        assert KEY_TTL_S - 5 <= gate.client.ttl(key) <= KEY_TTL_S
    assert gate.client.ttl(gate.keys[0]) == -1  # the count's TTL is the warmer's business


def test_an_existing_ttl_is_kept(gate: Gate) -> None:
    gate.warm()
    gate.client.hset(gate.keys[1], "someone", 1)
    gate.client.expire(gate.keys[1], 60)
    assert gate.admit("ada")[0] == "ok"
    assert 0 < gate.client.ttl(gate.keys[1]) <= 60


def test_the_same_key_again_is_a_duplicate_with_the_first_answer(gate: Gate) -> None:
    gate.warm()
    first = gate.admit("ada", "k1")
    assert gate.admit("ada", "k1") == ["dup", first[1]]
    assert gate.admit("ada", "k1", capacity=1) == ["dup", first[1]]  # even once full
    assert (gate.count, gate.user_count("ada")) == (1, 1)


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_per_user_limit_admits_exactly_the_limit(gate: Gate, limit: int) -> None:
    gate.warm()
    codes = [gate.admit("ada", limit=limit)[0] for _ in range(limit + 2)]
    assert codes == ["ok"] * limit + ["user", "user"]
    assert (gate.count, gate.user_count("ada")) == (limit, limit)
    assert gate.admit("bob", limit=limit)[0] == "ok"  # another user is not limited by ada


def test_capacity_admits_exactly_capacity(gate: Gate) -> None:
    gate.warm()
    codes = [gate.admit(f"u{i}", capacity=3)[0] for i in range(5)]
    assert codes == ["ok", "ok", "ok", "full", "full"]
    assert gate.count == 3
    assert gate.user_count("u3") == 0  # a refused user is not counted


def test_a_warm_count_at_capacity_is_full(gate: Gate) -> None:
    gate.warm(3)
    assert gate.admit("ada", capacity=3) == ["full"]
    assert gate.admit("ada", capacity=4)[0] == "ok"


def test_no_capacity_means_no_limit(gate: Gate) -> None:
    gate.warm(1_000_000)
    assert gate.admit("ada", capacity=None)[1].endswith(":1000001")


def test_the_user_limit_is_checked_before_capacity(gate: Gate) -> None:
    gate.warm()
    assert gate.admit("ada", capacity=1)[0] == "ok"
    assert gate.admit("ada", capacity=1) == ["user"]


def test_release_gives_the_place_and_the_users_slot_back(gate: Gate) -> None:
    gate.warm()
    _, admitted = gate.admit("ada", "k1", capacity=1)
    assert gate.release("ada", "k1", admitted) == 1
    assert (gate.count, gate.user_count("ada"), gate.admitted("ada", "k1")) == (0, 0, None)
    assert gate.admit("bob", capacity=1)[0] == "ok"  # the place is free again


def test_release_is_idempotent(gate: Gate) -> None:
    gate.warm()
    _, admitted = gate.admit("ada", "k1")
    gate.admit("bob")
    assert [gate.release("ada", "k1", admitted) for _ in range(3)] == [1, 0, 0]
    assert (gate.count, gate.user_count("ada"), gate.user_count("bob")) == (1, 0, 1)


def test_release_of_a_stale_admission_leaves_the_new_one(gate: Gate) -> None:
    # The key was released and admitted again: releasing the old admission must not undo it.
    gate.warm()
    _, old = gate.admit("ada", "k1")
    assert gate.release("ada", "k1", old) == 1
    _, new = gate.admit("ada", "k1")
    assert gate.release("ada", "k1", old) == 0
    assert (gate.count, gate.user_count("ada"), gate.admitted("ada", "k1")) == (1, 1, new)


def test_release_of_an_unknown_admission_changes_nothing(gate: Gate) -> None:
    gate.warm(2)
    assert gate.release("ada", "never", f"{uuid.uuid4()}:3") == 0
    assert gate.count == 2 and gate.client.exists(gate.keys[1], gate.keys[2]) == 0


@dataclass
class Decision:
    """ADMIT as the gate sends it for a whole request: the answer's copy and two limits."""

    gate: Gate
    prefix: str

    def __call__(
        self, user: str, *, refused: str | None = None, ip_limit: int = 100, capacity: int = 10
    ) -> tuple[list[str], dict[str, object] | None]:
        entry_id = uuid.uuid4()
        copy_key = f"{self.prefix}:entry:{entry_id}"
        limit_keys = [f"{self.prefix}:rl:ip:1", f"{self.prefix}:rl:user:{user}"]
        args = decision_args(
            admit_args(user, uuid.uuid4().hex, entry_id, capacity, 1),
            refused=refused,
            detail="opens at noon" if refused else None,
            activity_id=uuid.UUID(int=7),
            copy_ttl_s=3600,
            window_s=10,
            limits=[ip_limit, 100],
        )
        script = self.gate.client.register_script(ADMIT)
        raw = script(keys=[*self.gate.keys, copy_key, *limit_keys], args=args)
        copy = self.gate.client.get(copy_key)
        return (
            [v.decode() if isinstance(v, bytes) else str(v) for v in raw],
            None if copy is None else json.loads(copy),
        )


@pytest.fixture
def decision(gate: Gate) -> Iterator[Decision]:
    prefix = gate.keys[0].split(":", 1)[0]
    try:
        yield Decision(gate, prefix)
    finally:
        gate.client.delete(*gate.client.keys(f"{prefix}:*"))


def test_one_call_admits_and_writes_the_answers_copy(decision: Decision) -> None:
    decision.gate.warm()
    outcome, copy = decision("ada")
    assert outcome[0] == "ok"
    assert copy == {"s": "reserved", "p": 1, "a": str(uuid.UUID(int=7))}
    assert decision("ada")[1] == {
        "s": "rejected",
        "r": "already_entered",
        "a": str(uuid.UUID(int=7)),
    }


def test_one_call_records_a_refusal_without_taking_a_seat(decision: Decision) -> None:
    # A refusal decided in process needs no counters (no "cold") and takes no seat.
    outcome, copy = decision("ada", refused="not_started")
    assert outcome == ["refused"]
    assert copy == {
        "s": "rejected",
        "r": "not_started",
        "d": "opens at noon",
        "a": str(uuid.UUID(int=7)),
    }
    assert decision.gate.count is None and decision.gate.user_count("ada") == 0


def test_one_call_counts_the_rate_limits_and_refuses_over_them(decision: Decision) -> None:
    decision.gate.warm()
    codes = [decision(f"u{i}", ip_limit=2)[0][0] for i in range(4)]
    assert codes == ["ok", "ok", "limited", "limited"]
    assert decision.gate.count == 2  # a limited request takes nothing and records nothing
    assert 0 < decision.gate.client.ttl(f"{decision.prefix}:rl:ip:1") <= 11


def test_cold_counters_count_no_limit(decision: Decision) -> None:
    assert decision("ada", ip_limit=1)[0] == ["cold"]
    decision.gate.warm()
    assert decision("ada", ip_limit=1)[0][0] == "ok"  # the cold call was not counted


def test_release_drops_the_answers_copy(decision: Decision) -> None:
    decision.gate.warm()
    gate = decision.gate
    entry_id = uuid.uuid4()
    copy_key = f"{decision.prefix}:entry:{entry_id}"
    args = decision_args(
        admit_args("ada", "k1", entry_id, 10, 1),
        refused=None,
        detail=None,
        activity_id=uuid.UUID(int=7),
        copy_ttl_s=3600,
        window_s=10,
        limits=[],
    )
    _, admitted = gate.client.register_script(ADMIT)(keys=[*gate.keys, copy_key], args=args)
    release = gate.client.register_script(RELEASE)
    field = idempotency_field("ada", "k1")
    assert release(keys=[*gate.keys, copy_key], args=["ada", field, admitted]) == 1
    assert gate.client.exists(copy_key) == 0 and gate.count == 0

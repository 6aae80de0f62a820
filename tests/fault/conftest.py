"""The fault tests' engines: `scripts/stack up --replicated` on free ports, in a temporary
directory, once per session, and down at the end. Never the shared default stack's Kafka or
Redis, which other people's tests use: these are ours to kill."""

from collections.abc import Iterator

import pytest

from tests.support.replicated_stack import ReplicatedStack, start_replicated_stack


@pytest.fixture(scope="session")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicatedStack]:
    stack = start_replicated_stack(tmp_path_factory.mktemp("replicated-stack"))
    try:
        yield stack
    finally:
        stack.stack("down")


@pytest.fixture
def healthy(replicated: ReplicatedStack) -> ReplicatedStack:
    """The replicated stack with every engine running (a test before may have killed one)."""
    replicated.stack("up")
    return replicated

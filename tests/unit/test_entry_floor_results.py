"""The entry benchmark's floors: a child's output becomes a figure, or a failure that says why
(never a figure made up from a crashed or foreign child)."""

from benchmarks.entry_gate.floors import RESULT_PREFIX, parse_result

LINE = (
    RESULT_PREFIX + '{"name": "no Kafka", "calls": 2500, "seconds": 2.0, "cpu_s": 0.75, '
    '"errors": 0, "failure": null}'
)


def test_a_result_line_gives_calls_per_second_and_cpu_per_call() -> None:
    result = parse_result("no Kafka", f"WARNING noise\n{LINE}\n", 0)
    assert result.failure is None
    assert result.per_second == 1250.0
    assert result.cpu_ms_per_call == 0.3


def test_a_child_that_failed_or_printed_nothing_is_a_failure() -> None:
    assert parse_result("full", LINE.replace("no Kafka", "full"), 1).failure == (
        "exit code 1, 1 result lines"
    )
    assert parse_result("full", "Traceback ...\n", 0).failure == "exit code 0, 0 result lines"


def test_a_damaged_or_foreign_result_is_a_failure() -> None:
    damaged = parse_result("no Kafka", RESULT_PREFIX + '{"name": "no Kafka", "calls": "x"}', 0)
    assert damaged.failure is not None and damaged.failure.startswith("unreadable result")
    assert damaged.calls == 0
    foreign = parse_result("neither", LINE, 0)
    assert foreign.failure == "result of another variant ('no Kafka')"

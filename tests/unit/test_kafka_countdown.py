"""The producer's per-batch delivery countdown: one report per batch, errors first."""

from typing import Any

from confluent_kafka import KafkaError

from common_messaging.bus.delivery import DeliveryCountdown


def _recorder() -> tuple[list[Any], Any]:
    reports: list[Any] = []
    return reports, reports.append


def test_countdown_reports_once_when_every_message_is_delivered() -> None:
    reports, report = _recorder()
    countdown = DeliveryCountdown(3, report)
    countdown.delivered(None, None)  # type: ignore[arg-type]
    countdown.delivered(None, None)  # type: ignore[arg-type]
    assert reports == []
    countdown.delivered(None, None)  # type: ignore[arg-type]
    assert reports == [None]


def test_countdown_reports_the_first_error_at_once_and_only_once() -> None:
    reports, report = _recorder()
    countdown = DeliveryCountdown(3, report)
    error = KafkaError(KafkaError._MSG_TIMED_OUT)
    countdown.delivered(error, None)  # type: ignore[arg-type]
    countdown.delivered(None, None)  # type: ignore[arg-type]
    countdown.delivered(KafkaError(KafkaError._MSG_TIMED_OUT), None)  # type: ignore[arg-type]
    assert reports == [error]


def test_countdown_of_an_empty_batch_reports_success_immediately() -> None:
    reports, report = _recorder()
    DeliveryCountdown(0, report)
    assert reports == [None]

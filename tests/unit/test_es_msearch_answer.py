"""One answer of the view's `_msearch`: a failed one fails the view as a failed search would."""

import pytest

from dashboard_service.adapters.es_analytics import msearch_answer
from dashboard_service.errors import AnalyticsUnavailable


def test_an_answer_without_error_is_the_search_body() -> None:
    body = {"hits": {"total": {"value": 3}}, "aggregations": {}, "status": 200}
    assert msearch_answer(body) is body


def test_a_server_side_failure_is_unavailable_so_the_client_retries() -> None:
    with pytest.raises(AnalyticsUnavailable):
        msearch_answer({"error": {"type": "search_phase_execution_exception"}, "status": 503})


def test_a_refused_search_is_a_bug_not_an_outage() -> None:
    with pytest.raises(RuntimeError, match="refused"):
        msearch_answer({"error": {"type": "parsing_exception"}, "status": 400})

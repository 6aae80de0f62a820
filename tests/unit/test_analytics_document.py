"""The bytes the Elasticsearch adapter sends are the analytics document, serialised."""

import json
import uuid
from datetime import UTC, datetime

from analytics_index.document import document, document_json, index_name
from tests.support.factories import occurrence, purchase


def test_document_json_is_the_document() -> None:
    attributed = occurrence(
        campaign_id=uuid.uuid4(), activity_id=uuid.uuid4(), definition_id=uuid.uuid4()
    )
    for event in (
        occurrence(properties={"plan": "pro", "seats": 3}),
        purchase("10.50"),
        attributed,
    ):
        assert json.loads(document_json(event)) == document(event)
    assert document(attributed)["campaign_id"] == str(attributed.campaign_id)


def test_monthly_index_names_are_zero_padded() -> None:
    event = occurrence(occurred_at=datetime(2027, 3, 9, 23, 59, tzinfo=UTC))
    assert index_name(event) == "pulse-events-2027.03"
    assert index_name(event, "scratch") == "scratch-2027.03"

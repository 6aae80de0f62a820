"""The bytes the Elasticsearch adapter sends are the analytics document, serialised."""

import json

from analytics_index.document import document, document_json
from tests.support.factories import occurrence, purchase


def test_document_json_is_the_document() -> None:
    for event in (occurrence(properties={"plan": "pro", "seats": 3}), purchase("10.50")):
        assert json.loads(document_json(event)) == document(event)

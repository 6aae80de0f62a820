import json
import uuid
from pathlib import Path

import pytest

from common_messaging import (
    DeviceInfo,
    DeviceType,
    EventOccurred,
    MessageDecodeError,
    decode,
    decode_occurrences,
    encode,
    encode_collected,
    encode_fields,
)
from common_messaging.schemas import json_schemas
from tests.support.factories import occurrence, purchase


def test_fields_encoded_without_a_model_decode_as_the_model_would() -> None:
    """The edge's path: the payload as a dict of validated parts (UUIDs, aware datetimes, a
    Decimal in the purchase, an enum), serialised in one pass, reads back as the same event."""
    collected = {"user_agent": "Mozilla/5.0", "enriched": False, "is_new_user": False}
    event = purchase("1234.50", device=DeviceInfo(device_type=DeviceType.OTHER), **collected)
    fields = {name: getattr(event, name) for name in EventOccurred.model_fields}
    fields.pop("device"), fields.pop("is_new_user")  # the edge leaves them to the consumer
    raw = encode_fields(
        fields,
        EventOccurred,
        message_id=event.event_id,
        producer="test",
        produced_at=event.received_at,
    )
    envelope = decode(raw, EventOccurred)
    assert envelope.payload == event and envelope.message_id == event.event_id
    assert envelope.produced_at == event.received_at


def test_codec_round_trips_an_occurrence_in_its_envelope() -> None:
    event = purchase()
    raw = encode(event, message_id=event.event_id, producer="test")
    envelope = decode(raw, EventOccurred)
    assert envelope.payload == event
    assert envelope.message_id == event.event_id
    assert (envelope.schema_name, envelope.schema_version) == ("pulse.event_occurred", 1)


def test_codec_refuses_bytes_that_are_not_json() -> None:
    with pytest.raises(MessageDecodeError):
        decode(b"\xff not json", EventOccurred)


def test_codec_refuses_another_schema_version() -> None:
    event = occurrence()
    body = json.loads(encode(event, message_id=uuid.uuid4(), producer="test"))
    body["schema_version"] = 2
    with pytest.raises(MessageDecodeError, match="unexpected schema"):
        decode(json.dumps(body).encode(), EventOccurred)


def test_codec_names_the_invalid_field() -> None:
    body = json.loads(encode(occurrence(), message_id=uuid.uuid4(), producer="test"))
    del body["payload"]["site_id"]
    with pytest.raises(MessageDecodeError, match="payload.site_id"):
        decode(json.dumps(body).encode(), EventOccurred)


def test_json_schemas_cover_every_message() -> None:
    schemas = json_schemas()
    assert set(schemas) == {
        "pulse.event_occurred.v1",
        "pulse.events_collected.v1",
        "pulse.entry_requested.v1",
        "pulse.entry_decided.v1",
    }
    for schema in schemas.values():
        assert "payload" in schema["properties"]


def test_published_json_schemas_are_current() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "schemas"
    for name, schema in json_schemas().items():
        published = json.loads((docs / f"{name}.json").read_text())
        assert published == schema, f"run `make schemas`: docs/schemas/{name}.json is stale"


def test_the_events_topic_reads_one_event_or_a_request_s_events_collected() -> None:
    one, first, second = occurrence(), occurrence(), purchase("12.30")
    fields = [event.model_dump() for event in (first, second)]
    collected = encode_collected(
        fields, message_id=first.event_id, producer="test", produced_at=first.received_at
    )
    assert decode_occurrences(encode(one, message_id=one.event_id, producer="t")) == [one]
    assert decode_occurrences(collected) == [first, second]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"schema_name": "pulse.other"}, "does not match any of the expected tags"),
        ({"schema_version": 2}, "schema_version"),
        ({"payload": {"events": []}}, "payload.events"),
    ],
)
def test_the_events_topic_refuses_other_schemas_versions_and_empty_collections(
    change: dict[str, object], error: str
) -> None:
    event = occurrence()
    body = json.loads(
        encode_collected(
            [event.model_dump()],
            message_id=event.event_id,
            producer="test",
            produced_at=event.received_at,
        )
    )
    with pytest.raises(MessageDecodeError, match=error):
        decode_occurrences(json.dumps(body | change).encode())

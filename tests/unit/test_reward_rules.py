"""Pure rules of rewards and payments: Stripe's signature scheme, code uploads and patterns,
minor units."""

import json
import time
from decimal import Decimal

import pytest

from core_service.domain.payment_signature import stripe_signature, verify_stripe_signature
from core_service.domain.payments import read_notice
from core_service.domain.rewards import generate_codes, minor_to_amount, parse_codes
from servicekit.errors import PulseError

SECRET = "whsec_unit_test_secret"
BODY = b'{"id": "evt_1"}'


def _code(exc: pytest.ExceptionInfo[PulseError]) -> str:
    return exc.value.error_code


def test_a_v1_signature_of_the_body_verifies_among_others() -> None:
    t = int(time.time())
    good = stripe_signature(SECRET, t, BODY)
    header = f"t={t},v0=deadbeef,v1={'0' * 64},v1={good}"  # key rotation: any v1 may match
    assert verify_stripe_signature(header, BODY, SECRET, time.time()) == t


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "payment_signature_invalid"),
        ("v1=abc", "payment_signature_invalid"),  # no timestamp
        ("t=123", "payment_signature_invalid"),  # no v1
        ("t=NOW,v0=SIG", "payment_signature_invalid"),  # only the test scheme
    ],
)
def test_malformed_headers_are_refused(header: str | None, code: str) -> None:
    t = int(time.time())
    if header is not None:
        header = header.replace("NOW", str(t)).replace("SIG", stripe_signature(SECRET, t, BODY))
    with pytest.raises(PulseError) as exc:
        verify_stripe_signature(header, BODY, SECRET, time.time())
    assert _code(exc) == code


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_timestamp_outside_the_window_is_a_replay_either_way(skew: int) -> None:
    now = time.time()
    t = int(now) + skew
    header = f"t={t},v1={stripe_signature(SECRET, t, BODY)}"
    with pytest.raises(PulseError) as exc:
        verify_stripe_signature(header, BODY, SECRET, now, tolerance_s=300)
    assert _code(exc) == "payment_signature_expired"
    assert verify_stripe_signature(header, BODY, SECRET, now, tolerance_s=400) == t


def test_a_notice_without_metadata_is_not_understood() -> None:
    body = json.dumps(
        {"id": "evt", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi"}}}
    )
    with pytest.raises(PulseError) as exc:
        read_notice(body.encode())
    assert _code(exc) == "payment_event_invalid"


def test_csv_and_json_uploads_give_the_same_codes() -> None:
    assert parse_codes(b"code\nA-1\n\nB-2\n", "text/csv") == ["A-1", "B-2"]
    assert parse_codes(b'{"codes": ["A-1", "B-2"]}', "application/json") == ["A-1", "B-2"]
    assert parse_codes(b'["A-1"]', "application/json") == ["A-1"]


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"", "text/csv"),
        (b"A-1\nbad code\n", "text/csv"),
        (b"A-1", "application/xml"),
        (b'{"codes": [1, 2]}', "application/json"),
        (b"\xff\xfe", "text/csv"),
    ],
)
def test_a_bad_upload_is_refused_whole(raw: bytes, content_type: str) -> None:
    with pytest.raises(PulseError) as exc:
        parse_codes(raw, content_type)
    assert _code(exc) == "coupon_upload_invalid"


def test_generated_codes_follow_the_pattern_and_avoid_taken_ones() -> None:
    codes = generate_codes(500, "SALE-XXXXXX", {"SALE-AAAAAA"})
    assert len(set(codes)) == 500 and "SALE-AAAAAA" not in codes
    assert all(c.startswith("SALE-") and len(c) == 11 for c in codes)
    with pytest.raises(PulseError):
        generate_codes(5, "SALE-XX", set())  # too few random characters to be unguessable


def test_minor_units_follow_the_currency() -> None:
    assert minor_to_amount(12900, "EUR") == Decimal("129")
    assert minor_to_amount(1999, "USD") == Decimal("19.99")
    assert minor_to_amount(1500, "JPY") == Decimal("1500")

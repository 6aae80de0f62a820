"""Rewards staff attach to an activity: a coupon pool (uploaded or generated) or a product.

Pure rules: what an upload may hold, how generated codes look, what a product's price means.
The pool itself and its assignment live in the database (`entries_ledger.sql_rewards`).
"""

import csv
import io
import json
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Final

from core_service.reward_errors import CouponUploadInvalid, RewardInvalid

MAX_CODES_PER_UPLOAD: Final = 100_000
MAX_CODE_LENGTH: Final = 64
CODE_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,63}$")
# Generated codes: `X` is one random character; ambiguous ones (0/O, 1/I) are left out.
GENERATED_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PATTERN_RULE: Final = re.compile(r"^[A-Z0-9\-]{0,32}$")
MIN_RANDOM_CHARS: Final = 6  # 32^6 ≈ 10^9: guessing a live code is hopeless

# ISO 4217 currencies without minor units (Stripe's zero-decimal list); the others have cents.
ZERO_DECIMAL: Final = frozenset(
    "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split()
)
# Three-decimal currencies: purchases are stored with two decimals, so they are refused.
THREE_DECIMAL: Final = frozenset("BHD IQD JOD KWD LYD OMR TND".split())


def minor_to_amount(minor: int, currency: str) -> Decimal:
    """An amount in minor units (cents) as a decimal amount of the currency."""
    return Decimal(minor) if currency in ZERO_DECIMAL else Decimal(minor) / 100


def check_product(price_minor: int, currency: str, stock: int) -> None:
    if currency in THREE_DECIMAL:
        raise RewardInvalid(
            f"{currency} has three decimals; products are priced in currencies with at most two",
            details=[{"field": "currency", "message": "three-decimal currency"}],
        )
    if price_minor <= 0 or stock <= 0:
        raise RewardInvalid(
            "a product needs a price above zero (in minor units) and a stock of at least one",
            details=[{"field": "price_minor" if price_minor <= 0 else "stock", "message": "> 0"}],
        )


def parse_codes(raw: bytes, content_type: str) -> list[str]:
    """Codes from a CSV upload (the first column; a `code` header is skipped) or a JSON one
    (`{"codes": [...]}` or a list). Refuses the whole upload on any bad code."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CouponUploadInvalid("the upload is not UTF-8 text") from exc
    if "json" in content_type:
        codes = _json_codes(text)
    elif "csv" in content_type or "text/plain" in content_type:
        codes = [row[0].strip() for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
        if codes and codes[0].lower() == "code":
            codes = codes[1:]
    else:
        raise CouponUploadInvalid(
            "send the codes as text/csv (one per line) or application/json "
            '({"codes": ["..."]}, or {"generate": {"count": N, "pattern": "SALE-XXXXXXXX"}})'
        )
    return check_codes(codes)


def check_codes(codes: Sequence[str]) -> list[str]:
    if not codes:
        raise CouponUploadInvalid("the upload holds no codes")
    if len(codes) > MAX_CODES_PER_UPLOAD:
        raise CouponUploadInvalid(
            f"at most {MAX_CODES_PER_UPLOAD} codes per upload; split it",
            details={"count": len(codes)},
        )
    bad = [code for code in codes if not CODE_PATTERN.match(code)]
    if bad:
        raise CouponUploadInvalid(
            "codes are 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit",
            details={"invalid": bad[:20], "count": len(bad)},
        )
    return list(codes)


def repeated(codes: Iterable[str]) -> list[str]:
    return sorted(code for code, n in Counter(codes).items() if n > 1)


def generate_codes(count: int, pattern: str, taken: set[str]) -> list[str]:
    """`count` new codes like `pattern` (each X a random character, from `secrets`), none in
    `taken` and none twice."""
    if not PATTERN_RULE.match(pattern) or pattern.count("X") < MIN_RANDOM_CHARS:
        raise CouponUploadInvalid(
            f"a pattern is up to 32 of A-Z, 0-9 and '-', with at least {MIN_RANDOM_CHARS} X "
            "(each X becomes a random character), e.g. SALE-XXXX-XXXX",
            details=[{"field": "pattern", "message": "invalid pattern"}],
        )
    if not 0 < count <= MAX_CODES_PER_UPLOAD:
        raise CouponUploadInvalid(
            f"generate between 1 and {MAX_CODES_PER_UPLOAD} codes at a time",
            details=[{"field": "count", "message": "out of range"}],
        )
    made: set[str] = set()
    while len(made) < count:
        code = "".join(secrets.choice(GENERATED_ALPHABET) if ch == "X" else ch for ch in pattern)
        if code not in taken:
            made.add(code)
    return sorted(made)


def _json_codes(text: str) -> list[str]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CouponUploadInvalid("the upload is not valid JSON") from exc
    codes = data.get("codes") if isinstance(data, dict) else data
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise CouponUploadInvalid('send {"codes": ["CODE1", "CODE2", ...]}')
    return [c.strip() for c in codes]

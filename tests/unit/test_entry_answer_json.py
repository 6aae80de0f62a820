"""The entry answers are serialised from the domain's `EntryAnswer` in one pydantic-core call;
the bytes must stay those of the documented `EntryOut` as JSONResponse rendered them."""

import uuid
from dataclasses import asdict

import pytest
from fastapi.responses import JSONResponse

from common_messaging import EntryReason, EntryStatus
from entry_service.api.routes.entries import ANSWER_JSON
from entry_service.api.schemas import EntryOut
from entry_service.domain.entries import EntryAnswer

ANSWERS = [
    EntryAnswer(uuid.uuid4(), EntryStatus.RESERVED, position=7, activity_id=uuid.uuid4()),
    EntryAnswer(uuid.uuid4(), EntryStatus.CONFIRMED, position=1),
    EntryAnswer(
        uuid.uuid4(),
        EntryStatus.REJECTED,
        reason=EntryReason.NOT_ELIGIBLE,
        detail='orders ≥ 3 "vip"\n\ttab \x01 é',
        activity_id=uuid.uuid4(),
    ),
]


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: a.status.value)
def test_an_answer_is_the_documented_entry_out_byte_for_byte(answer: EntryAnswer) -> None:
    documented = EntryOut(**asdict(answer)).model_dump(mode="json", exclude_none=True)
    assert ANSWER_JSON.dump_json(answer, exclude_none=True) == JSONResponse(documented).body

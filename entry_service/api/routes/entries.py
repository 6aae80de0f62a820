"""`POST /v1/activities/{activity_id}/entries` and `GET /v1/entries/{entry_id}`."""

from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError

from common_messaging import DeviceInfo
from entry_service import metrics
from entry_service.api.body import read_capped
from entry_service.api.cors import allow_origin, grant_on_error, preflight
from entry_service.api.deps import EntryPortsDep, PortsDep
from entry_service.api.schemas import EntryBody, EntryOut
from entry_service.domain.entries import (
    EntryAnswer,
    EntryCommand,
    EntryPorts,
    enter,
    entry_state,
)
from entry_service.domain.winner_rewards import winner_reward
from entry_service.errors import InvalidBatch, InvalidJson, MissingIdempotencyKey
from servicekit.clock import utc_now
from servicekit.errors import PulseError

router = APIRouter(tags=["public"])
MAX_ENTRY_BODY = 8 * 1024
MAX_IDEMPOTENCY_KEY = 255
# An answer as `EntryOut` without its reward, the same bytes JSONResponse made of EntryOut's
# dump (tests/unit/test_entry_answer_json.py keeps the two in step).
ANSWER_JSON = TypeAdapter(EntryAnswer)
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=MAX_IDEMPOTENCY_KEY)
]


@router.post("/v1/activities/{activity_id}/entries", status_code=202, response_model=EntryOut)
async def post_entry(
    activity_id: UUID,
    request: Request,
    ports: EntryPortsDep,
    ingest: PortsDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await answer_entry(activity_id, request, ports, ingest.parse_user_agent, idempotency_key)


async def answer_entry(
    activity_id: UUID,
    request: Request,
    ports: EntryPorts,
    parse_user_agent: Callable[[str | None], DeviceInfo],
    idempotency_key: str | None,
) -> Response:
    """The entry request once its parameters are read: by this route, or by the direct route
    (entry_service/api/routes/direct_entries.py) that serves the same requests without
    FastAPI's per-request parameter and dependency solving."""
    origin = request.headers.get("origin")
    try:
        body = _parse(await read_capped(request, MAX_ENTRY_BODY), idempotency_key)
        command = EntryCommand(
            activity_id=activity_id,
            idempotency_key=idempotency_key or "",
            user_token=body.user_token,
            user_id=body.user_id,
            site_key=body.site_key,
            origin=origin,
            client_ip=request.client.host if request.client else "unknown",
            device=parse_user_agent(request.headers.get("user-agent")),
            now=utc_now(),
            properties=body.properties,
        )
        answer = await enter(command, ports)
    except PulseError as exc:  # the page's script must be able to read why it was refused
        metrics.entry_refused(exc)
        grant_on_error(exc, origin)
        raise
    metrics.entry_answered(answer.status.value, answer.reason.value if answer.reason else None)
    return _answer(answer, origin)


@router.get("/v1/entries/{entry_id}", response_model=EntryOut)
async def get_entry(
    entry_id: UUID,
    request: Request,
    ports: EntryPortsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """The entry's state; its reward (code, or hold with price and payment status) only with
    the winner's own user token as `Authorization: Bearer <token>`."""
    origin = request.headers.get("origin")
    try:
        answer = await entry_state(entry_id, ports.gate)
        reward = None
        if ports.rewards is not None:
            token = authorization.removeprefix("Bearer ").strip() if authorization else None
            reward = await winner_reward(
                answer, token or None, ports.rewards, ports.activities, utc_now()
            )
    except PulseError as exc:
        grant_on_error(exc, origin)
        raise
    return _answer(answer, origin, status_code=200, reward=reward)


@router.options("/v1/activities/{activity_id}/entries", include_in_schema=False)
@router.options("/v1/entries/{entry_id}", include_in_schema=False)
async def entries_preflight(request: Request) -> Response:
    return preflight(request.headers.get("origin"))


def _parse(raw: bytes, idempotency_key: str | None) -> EntryBody:
    if not idempotency_key:
        raise MissingIdempotencyKey(
            "send an Idempotency-Key header (e.g. a UUID per entry attempt, reused on retries)"
        )
    try:
        return EntryBody.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise InvalidJson("the body is not valid JSON") from exc
        raise InvalidBatch(
            "the entry body is not valid",
            details={
                "errors": [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            },
        ) from exc


def _answer(
    answer: EntryAnswer,
    origin: str | None,
    status_code: int = 202,
    reward: dict[str, object] | None = None,
) -> Response:
    if reward is None:  # the POST's answers, and most polls: serialised in one pydantic-core call
        body = ANSWER_JSON.dump_json(answer, exclude_none=True)
        response = Response(body, status_code=status_code, media_type="application/json")
    else:
        out = EntryOut(**asdict(answer), reward=reward)
        content = out.model_dump(mode="json", exclude_none=True)
        response = JSONResponse(content, status_code=status_code)
    allow_origin(response, origin)
    return response

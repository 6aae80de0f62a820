"""Read a request body without ever holding more than the limit in memory."""

from fastapi import Request

from entry_service.errors import BatchTooLarge


async def read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BatchTooLarge(f"batch is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BatchTooLarge(f"batch exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)

"""The base of every service's error hierarchy, and its one mapping to HTTP.

    PulseError (500 internal_error)
    ├── InvalidInput (422 invalid_input)
    ├── Unauthorized (401 unauthorized)
    ├── Forbidden (403 forbidden)
    ├── NotFound (404 not_found)
    ├── Conflict (409 conflict)
    ├── PayloadTooLarge (413 payload_too_large)
    └── Unavailable (503 unavailable, with Retry-After)

Services subclass these with their own codes; the domain raises them, never HTTPException.
This module imports no web framework: `servicekit.http_errors` maps the tree to HTTP, once.
"""

from typing import Any, ClassVar


class PulseError(Exception):
    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = code or self.code
        self.details = details
        self.headers = headers or {}


class InvalidInput(PulseError):
    status_code = 422
    code = "invalid_input"


class Unauthorized(PulseError):
    status_code = 401
    code = "unauthorized"


class Forbidden(PulseError):
    status_code = 403
    code = "forbidden"


class NotFound(PulseError):
    status_code = 404
    code = "not_found"


class Conflict(PulseError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(PulseError):
    status_code = 413
    code = "payload_too_large"


class Unavailable(PulseError):
    status_code = 503
    code = "unavailable"

"""entry_service errors, mapped to HTTP once by servicekit's handlers.

PulseError
├── InvalidJson (400 invalid_json)
├── InvalidBatch (422 invalid_batch)
├── NoValidEvents (400 no_valid_events)
├── SiteNotFound (404 site_not_found)
├── SiteInactive (403 site_inactive)
├── OriginNotAllowed (403 origin_not_allowed)
├── BatchTooLarge (413 batch_too_large / too_many_events)
├── BusUnavailable (503 bus_unavailable, Retry-After)
├── ActivityNotFound (404 activity_not_found) / EntryNotFound (404 entry_not_found)
├── SnippetNotBuilt (404 snippet_not_built) / SnippetVersionNotFound (404 snippet_version_not_found)
├── MissingIdempotencyKey (400 idempotency_key_required)
├── UserTokenInvalid (401 invalid_token)
├── RateLimited (429 rate_limited, Retry-After)
└── GateUnavailable (503 entry_gate_unavailable, Retry-After)
"""

from servicekit.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PulseError,
    Unauthorized,
)
from servicekit.errors import Unavailable as _Unavailable


class InvalidJson(PulseError):
    status_code = 400
    code = "invalid_json"


class InvalidBatch(InvalidInput):
    code = "invalid_batch"


class NoValidEvents(PulseError):
    status_code = 400
    code = "no_valid_events"


class SiteNotFound(NotFound):
    code = "site_not_found"


class SiteInactive(Forbidden):
    code = "site_inactive"


class OriginNotAllowed(Forbidden):
    code = "origin_not_allowed"


class BatchTooLarge(PayloadTooLarge):
    code = "batch_too_large"


class BusUnavailable(_Unavailable):
    code = "bus_unavailable"


class ActivityNotFound(NotFound):
    code = "activity_not_found"


class EntryNotFound(NotFound):
    code = "entry_not_found"


class MissingIdempotencyKey(PulseError):
    status_code = 400
    code = "idempotency_key_required"


class UserTokenInvalid(Unauthorized):
    code = "invalid_token"


class RateLimited(PulseError):
    status_code = 429
    code = "rate_limited"


class GateUnavailable(_Unavailable):
    code = "entry_gate_unavailable"


class GateBusy(_Unavailable):
    """Every Redis connection of this worker stayed busy for the pool's whole wait: shed, not
    decided by the database (which would confirm seats the Redis counters never count)."""

    code = "entry_gate_busy"


class SnippetNotBuilt(NotFound):
    """A deployment without the built file: a 404 that says how to fix it, never a 5xx."""

    code = "snippet_not_built"


class SnippetVersionNotFound(NotFound):
    code = "snippet_version_not_found"

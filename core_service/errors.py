"""core_service's errors, each a servicekit error with its own code.

servicekit.errors.PulseError
├── InvalidInput (422)
│   ├── InvalidField (422 invalid_input, details=[{field, message}])
│   └── InvalidCursor (422 invalid_cursor)
├── NotFound (404)
│   ├── SiteNotFound (site_not_found)
│   ├── CampaignNotFound (campaign_not_found)
│   ├── ActivityNotFound (activity_not_found)
│   ├── DefinitionNotFound (definition_not_found)
│   └── UserNotFound (user_not_found)
└── Conflict (409)
    └── DuplicateDefinitionName (conflict)
"""

from uuid import UUID

from servicekit.errors import Conflict, InvalidInput, NotFound


class InvalidField(InvalidInput):
    """A domain rule refused one field; details name it so a client can show it inline."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", details=[{"field": field, "message": message}])
        self.field = field


class InvalidRuleInput(InvalidInput):
    """Eligibility conditions that are not a valid rule; details hold every fault's JSON path."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("conditions are not a valid eligibility rule", details=errors)


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"

    def __init__(self) -> None:
        super().__init__(
            "the cursor is not one this API returned; start again without a cursor",
            details=[{"field": "cursor", "message": "malformed cursor"}],
        )


class SiteNotFound(NotFound):
    code = "site_not_found"

    def __init__(self, site_id: UUID) -> None:
        super().__init__(f"no site with id {site_id}")


class CampaignNotFound(NotFound):
    code = "campaign_not_found"

    def __init__(self, campaign_id: UUID) -> None:
        super().__init__(f"no campaign with id {campaign_id}")


class ActivityNotFound(NotFound):
    code = "activity_not_found"

    def __init__(self, activity_id: UUID) -> None:
        super().__init__(f"no activity with id {activity_id}")


class DefinitionNotFound(NotFound):
    code = "definition_not_found"

    def __init__(self, definition_id: UUID) -> None:
        super().__init__(f"no event definition with id {definition_id}")


class UserNotFound(NotFound):
    code = "user_not_found"

    def __init__(self, site_id: UUID, user_key: str) -> None:
        super().__init__(f"site {site_id} has no user {user_key!r}")


class DuplicateDefinitionName(Conflict):
    def __init__(self, site_id: UUID, name: str) -> None:
        super().__init__(
            f"site {site_id} already has an event definition named {name!r}",
            details=[{"field": "name", "message": "already used by another definition"}],
        )


class ConfigurationError(RuntimeError):
    """The service cannot start with the given settings (raised at start-up, never per request)."""


class UnsupportedCurrency(InvalidInput):
    """An amount in a currency the site neither reports in nor has a rate for."""

    code = "unsupported_currency"

    def __init__(self, currency: str, reporting: str) -> None:
        super().__init__(
            f"the site reports in {reporting} and has no rate for {currency}: enter the amount "
            f"in {reporting}, or add a rate with PUT /v1/sites/{{id}}/money",
            details=[{"field": "currency", "message": f"no rate from {currency} to {reporting}"}],
        )


class CurrencyLocked(Conflict):
    code = "currency_locked"

    def __init__(self, site_id: UUID, current: str) -> None:
        super().__init__(
            f"site {site_id} has budgets or spend recorded in {current}; its reporting currency "
            "cannot change any more (add rates for other currencies instead)",
            details=[{"field": "currency", "message": f"locked to {current}"}],
        )


class SpendModeConflict(Conflict):
    code = "spend_mode_conflict"

    def __init__(self, campaign_id: UUID, asked: str) -> None:
        other = "daily spend" if asked == "total" else "a total spend"
        super().__init__(
            f"campaign {campaign_id} already has {other}; spend is entered either per day or as "
            "one total: delete the other entries first",
            details=[{"field": "period", "message": f"conflicts with {other}"}],
        )


class SpendNotFound(NotFound):
    code = "spend_not_found"

    def __init__(self, campaign_id: UUID, period: str) -> None:
        super().__init__(f"campaign {campaign_id} has no spend for {period}")

"""The public view of a site's active definitions, as the snippet fetches it."""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from entry_service.domain.sites import Definition, SiteConfig, SiteDirectory
from entry_service.errors import SiteInactive, SiteNotFound


@dataclass(frozen=True, slots=True)
class DefinitionsView:
    body: dict[str, Any]
    etag: str
    origin_allowed: bool  # browsers on other origins get no CORS grant, hence no read


async def active_definitions(
    site_key: str, sites: SiteDirectory, origin: str | None = None
) -> DefinitionsView:
    site = await sites.by_key(site_key)
    if site is None:
        raise SiteNotFound(f"no site has the key {site_key!r}")
    if not site.active:
        raise SiteInactive("this site is deactivated")
    body = {"site_key": site.site_key, "definitions": [_public(d) for d in _sorted(site)]}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
    return DefinitionsView(body=body, etag=f'"{digest}"', origin_allowed=site.allows_origin(origin))


def _sorted(site: SiteConfig) -> list[Definition]:
    return sorted(site.active_definitions(), key=lambda d: d.name)


def _public(definition: Definition) -> dict[str, Any]:
    return {
        "id": str(definition.id),
        "name": definition.name,
        "trigger": {
            "type": definition.trigger_type.value,
            "url_pattern": definition.url_pattern,
            "selector": definition.selector,
        },
        "campaign_id": str(definition.campaign_id) if definition.campaign_id else None,
        "activity_id": str(definition.activity_id) if definition.activity_id else None,
    }

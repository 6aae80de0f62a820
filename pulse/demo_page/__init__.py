"""The demo shop page that `pulse run --demo` serves on entry_service's port.

That origin is one of the demo site's allowed origins, so the page posts its events like any
shop would: it loads the snippet with the install tag and lets the demo definitions decide what
is tracked. Until the demo is seeded (a second or so after start) the page answers 503.
"""

import json
from importlib.resources import files
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from pulse.demo import DemoIds

CONFIG_MARK = "<!--PULSE_CONFIG-->"
SNIPPET_MARK = "__SNIPPET_PATH__"


class DemoPage:
    def __init__(self, snippet_path: str, dashboard_url: str) -> None:
        self.snippet_path = snippet_path
        self.dashboard_url = dashboard_url
        self._html: str | None = None

    def show(self, ids: DemoIds) -> None:
        """Called once the demo is seeded: from now on the page has a site key to use."""
        activities: dict[str, Any] = {}
        for definition in ids.definitions:
            slug = str(definition["name"]).split(":")[0]
            activities.setdefault(slug, definition["activity_id"])
        config = {
            "siteKey": ids.site_key,
            "activities": activities,
            "metricsUrl": f"{self.dashboard_url}/v1/campaigns/{ids.campaign_id}/metrics",
        }
        # `<` escaped so that no value can close the script element.
        data = json.dumps(config).replace("<", "\\u003c")
        template = files("pulse.demo_page").joinpath("index.html").read_text(encoding="utf-8")
        self._html = template.replace(
            CONFIG_MARK, f"<script>window.PULSE_DEMO = {data};</script>"
        ).replace(SNIPPET_MARK, self.snippet_path)

    def router(self) -> APIRouter:
        router = APIRouter(include_in_schema=False)

        @router.get("/demo")
        def demo_root() -> RedirectResponse:
            return RedirectResponse("/demo/")

        @router.get("/demo/{path:path}")
        def demo_page(path: str) -> HTMLResponse:
            if self._html is None:
                return HTMLResponse(
                    "<!doctype html><title>Pulse demo</title>"
                    "<p>The demo shop is being set up; reload in a moment.</p>",
                    status_code=503,
                    headers={"Retry-After": "1"},
                )
            return HTMLResponse(self._html, headers={"Cache-Control": "no-store"})

        return router

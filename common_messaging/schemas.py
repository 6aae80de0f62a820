"""Export the JSON Schemas of every message, for the docs (`python -m common_messaging.schemas`)."""

import json
import sys
from pathlib import Path
from typing import Any

from common_messaging.collected import EventsCollected
from common_messaging.entries import EntryDecided, EntryRequested
from common_messaging.envelope import Envelope
from common_messaging.events import EventOccurred

MESSAGES = (EventOccurred, EventsCollected, EntryRequested, EntryDecided)


def json_schemas() -> dict[str, dict[str, Any]]:
    return {
        f"{model.SCHEMA_NAME}.v{model.SCHEMA_VERSION}": Envelope[model].model_json_schema()  # type: ignore[valid-type]
        for model in MESSAGES
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "docs/schemas")
    out.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        (out / f"{name}.json").write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

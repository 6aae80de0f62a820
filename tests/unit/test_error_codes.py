"""One code per concept across services, each listed in docs/errors.md with its status."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("servicekit", "core_service", "entry_service", "dashboard_service", "shop_webhooks")
DOC = (ROOT / "docs" / "errors.md").read_text()
DOCUMENTED = {
    m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z_]+)` \| (\d+|varies) \|", DOC, re.M)
}


def _codes_in_source() -> dict[str, set[str]]:
    """code -> the statuses it is raised with (a class's `code`, or `code="..."` at a raise)."""
    found: dict[str, set[str]] = {}
    for package in SERVICES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef):
                    fields = {
                        t.id: s.value.value
                        for s in node.body
                        if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant)
                        for t in s.targets
                        if isinstance(t, ast.Name)
                    }
                    if "code" in fields:
                        found.setdefault(fields["code"], set()).add(
                            str(fields.get("status_code", ""))
                        )
                if isinstance(node, ast.keyword) and node.arg == "code":
                    if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                        found.setdefault(node.value.value, set())
    return found


def test_every_code_is_documented_and_every_documented_code_exists() -> None:
    in_source = set(_codes_in_source())
    assert len(in_source) > 25
    # Codes the HTTP mapping itself gives (not a class's): servicekit/http_errors.py.
    mapping = {"method_not_allowed", "http_error", "internal_error"}
    assert in_source - set(DOCUMENTED) == set()
    assert set(DOCUMENTED) - in_source - mapping == set()


@pytest.mark.parametrize("concept", ["site", "campaign", "activity", "entry", "definition"])
def test_a_missing_thing_has_one_code_everywhere(concept: str) -> None:
    codes = {c for c in _codes_in_source() if concept in c and ("found" in c or "unknown" in c)}
    assert codes == {f"{concept}_not_found"}


def test_a_code_has_one_status() -> None:
    for code, statuses in _codes_in_source().items():
        explicit = statuses - {""}
        assert len(explicit) <= 1, (code, statuses)
        if explicit and DOCUMENTED.get(code, "varies") != "varies":
            assert explicit == {DOCUMENTED[code]}, code

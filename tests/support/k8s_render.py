"""Render k8s/overlays/* with the pinned kustomize (scripts/kustomize builds it once)."""

import copy
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ("dev", "prod")
Manifest = dict[str, Any]


@cache
def _rendered(overlay: str) -> tuple[Manifest, ...]:
    result = subprocess.run(
        [str(ROOT / "scripts" / "kustomize"), "build", str(ROOT / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=600,  # a cold `go install` of kustomize on a slow machine
        check=False,
    )
    assert result.returncode == 0, f"kustomize build {overlay} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def render(overlay: str) -> list[Manifest]:
    """The overlay's objects; a deep copy, so a test may doctor it freely."""
    return copy.deepcopy(list(_rendered(overlay)))


def find(objects: list[Manifest], kind: str, name: str) -> Manifest:
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise KeyError(f"{kind}/{name} not rendered")

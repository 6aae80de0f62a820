"""k8s/ renders with kustomize and every object is valid Kubernetes, strictly (no unknown field).

No cluster is needed: kustomize renders each overlay (scripts/kustomize builds the pinned
version once), and kubernetes-validate checks every object against the Kubernetes JSON schemas
of the oldest Kubernetes version Pulse supports, in strict mode.
"""

import re
from pathlib import Path

import kubernetes_validate
import pytest

from tests.support.k8s_render import OVERLAYS, ROOT, Manifest, find, render

KUBERNETES_VERSION = "1.31"
OVERLAY_DIRS = sorted(p.name for p in (ROOT / "k8s" / "overlays").iterdir() if p.is_dir())


def _invalid(objects: list[Manifest]) -> list[str]:
    problems = []
    for obj in objects:
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{name}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{name}: no Kubernetes schema for this kind")
    return problems


def test_every_overlay_is_tested() -> None:
    assert OVERLAY_DIRS == sorted(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_objects_are_valid_kubernetes(overlay: str) -> None:
    objects = render(overlay)
    assert len(objects) > 20
    assert _invalid(objects) == []


def test_strict_validation_refuses_an_unknown_field() -> None:
    objects = render("dev")
    pod = find(objects, "Deployment", "pulse-entry")["spec"]["template"]["spec"]
    pod["containers"][0]["livenessProbes"] = pod["containers"][0]["livenessProbe"]  # a typo
    find(objects, "Service", "pulse-core")["spec"]["ports"][0]["port"] = "http"  # wrong type
    problems = _invalid(objects)
    assert len(problems) == 2, problems
    assert any(p.startswith("Deployment/pulse-entry") and "livenessProbes" in p for p in problems)
    assert any(p.startswith("Service/pulse-core") for p in problems)


def test_validation_refuses_a_kind_kubernetes_does_not_have() -> None:
    objects = [{"apiVersion": "v1", "kind": "Deploymnt", "metadata": {"name": "x"}}]
    assert _invalid(objects) == ["Deploymnt/x: no Kubernetes schema for this kind"]


def test_dev_runs_the_locally_built_image_and_prod_a_released_one() -> None:
    images = {
        overlay: {
            c["image"]
            for obj in render(overlay)
            if obj["kind"] in ("Deployment", "Job") and obj["metadata"]["name"].startswith("pulse-")
            for c in obj["spec"]["template"]["spec"]["containers"]
        }
        for overlay in OVERLAYS
    }
    assert images["dev"] == {"campaign-pulse:local"}
    (prod,) = images["prod"]
    assert re.fullmatch(r".+/campaign-pulse:\d+\.\d+\.\d+", prod)


def test_prod_generates_no_secret_and_dev_engines_stay_in_dev() -> None:
    prod = render("prod")
    assert [o for o in prod if o["kind"] == "Secret"] == []
    assert [o for o in prod if o["kind"] == "StatefulSet"] == []
    dev_engines = {o["metadata"]["name"] for o in render("dev") if o["kind"] == "StatefulSet"}
    assert dev_engines == {"postgres", "redis", "kafka", "elasticsearch"}


def test_image_entrypoint_is_pulse() -> None:
    """The manifests pass only arguments; the image's ENTRYPOINT must be the pulse CLI."""
    dockerfile = Path(ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r'^ENTRYPOINT \["pulse"\]$', dockerfile, re.M)

"""The image's `assets` stage builds the snippet and the dashboard UI from what it copies.

There is no Docker engine here, so the stage's steps run as the image would run them: only the
files its COPY lines name, in a scratch directory (node_modules linked from the checkout, as
`npm ci` would fill it), then `npm run build`. The runtime stage must copy the outputs to the
directories its PULSE_SNIPPET_DIR and PULSE_DASHBOARD_WEB_DIR name.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _stage(name: str) -> str:
    match = re.search(rf"^FROM \S+ AS {name}\n(.*?)(?=^FROM |\Z)", DOCKERFILE, re.M | re.S)
    assert match, f"no stage {name!r} in the Dockerfile"
    return match.group(1)


def _copies(stage: str) -> list[tuple[list[str], str]]:
    """(sources, destination) of each plain COPY (not --from) of a stage."""
    out = []
    for line in re.findall(r"^COPY (?!--)(.+)$", stage, re.M):
        *sources, destination = line.split()
        out.append((sources, destination))
    return out


def _env(name: str) -> str:
    match = re.search(rf"{name}=(\S+)", DOCKERFILE)
    assert match, f"{name} is not set in the Dockerfile"
    return match.group(1)


@pytest.mark.slow  # an npm install and two esbuild runs
@pytest.mark.timeout(300)
def test_the_assets_stage_builds_both_bundles_from_only_what_it_copies(tmp_path: Path) -> None:
    workdir = tmp_path / "src"
    for sources, destination in _copies(_stage("assets")):
        target = workdir / destination
        for source in sources:
            origin = ROOT / source
            if origin.is_dir():
                shutil.copytree(origin, target if len(sources) == 1 else target / origin.name)
            else:
                dest = target / origin.name if destination.endswith("/") else target
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, dest)
    (workdir / "node_modules").symlink_to(ROOT / "node_modules")
    npm = shutil.which("npm")
    assert npm, "npm is needed (Node.js 20+, a README prerequisite)"
    built = subprocess.run(
        [npm, "run", "build"], cwd=workdir, capture_output=True, text=True, timeout=120
    )
    assert built.returncode == 0, built.stdout + built.stderr
    snippet = workdir / "snippet" / "dist"
    manifest = json.loads((snippet / "manifest.json").read_text())
    assert (snippet / "pulse.js").stat().st_size > 1000 and manifest
    ui = workdir / "dashboard_service" / "web" / "dist"
    assert (ui / "index.html").is_file() and (ui / "assets" / "app.js").is_file()


def test_the_runtime_stage_serves_the_built_assets_from_where_the_settings_point() -> None:
    runtime = _stage("runtime")
    copied = {
        dest: src for src, dest in re.findall(r"^COPY --from=assets (\S+) (\S+)$", runtime, re.M)
    }
    assert copied.get(_env("PULSE_SNIPPET_DIR")) == "/src/snippet/dist"
    assert copied.get(_env("PULSE_DASHBOARD_WEB_DIR")) == "/src/dashboard_service/web/dist"


def test_the_build_context_keeps_what_the_assets_stage_copies() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for sources, _ in _copies(_stage("assets")):
        for source in sources:
            parts = Path(source).parts
            assert not ignored & {*parts, source}, f"{source} is excluded by .dockerignore"

"""The import contract (.importlinter, docs/architecture.md) holds, and it bites: a service that
imports another, or a domain module that imports a driver, breaks it. Tests and benchmarks
reach production code through public names only: no `_private` import, no private attribute
of a Pulse module, and no subclassing of a Pulse class to override its insides."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "pulse",
    "servicekit",
    "common_messaging",
    "datastore",
    "migrations",
    "entries_ledger",
    "user_summaries",
    "analytics_index",
    "core_service",
    "entry_service",
    "dashboard_service",
)
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def _lint(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"],
        cwd=repo,
        env={"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.fixture
def scratch_repo(tmp_path: Path) -> Path:
    """A copy of the Python packages and the contract, to break on purpose."""
    for name in (*PACKAGES, "benchmarks", "tests"):
        shutil.copytree(
            ROOT / name,
            tmp_path / name,
            ignore=shutil.ignore_patterns("__pycache__", "node_modules", "dist", "web"),
        )
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_the_import_contract_holds() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        (
            "entry_service/adapters/probe.py",
            "from core_service.settings import CoreSettings\n",
            "The three services are independent",
        ),
        (
            "core_service/domain/probe.py",
            "import sqlalchemy\n",
            "Domain code imports no driver or web framework",
        ),
        (
            "entries_ledger/probe.py",
            "import dashboard_service.errors\n",
            "Shared libraries import no service",
        ),
    ],
)
def test_a_deliberate_violation_breaks_the_contract(
    scratch_repo: Path, module: str, source: str, contract: str
) -> None:
    (scratch_repo / module).write_text(source)
    result = _lint(scratch_repo)
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(line.startswith(contract) for line in broken), result.stdout


def _private_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    imported: dict[str, str] = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PACKAGES:
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"{path}:{node.lineno} imports {node.module}.{alias.name}")
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                if isinstance(base, ast.Name) and base.id in imported:
                    found.append(f"{path}:{node.lineno} subclasses {imported[base.id]}")
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in imported
        ):
            found.append(f"{path}:{node.lineno} reads {node.value.id}.{node.attr}")
    return found


def test_tests_and_benchmarks_use_only_public_names() -> None:
    files = sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "benchmarks").rglob("*.py"))
    assert len(files) > 20
    found = [use for path in files for use in _private_uses(path)]
    assert found == []


def test_the_public_names_check_bites(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from common_messaging.bus.delivery import _Hidden\n"
        "from core_service.domain.occurrences import EventOccurrenceService\n"
        "import core_service.settings as settings\n"
        "class Timed(EventOccurrenceService):\n    pass\n"
    )
    assert len(_private_uses(probe)) == 2

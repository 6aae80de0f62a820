"""k8s/monitoring: alert rules pass `promtool check rules` and their unit tests, the
PrometheusRule carries the same groups, every alert has a runbook entry, and every dashboard
panel's query is valid PromQL. promtool comes from Debian's prometheus package
(scripts/promtool installs it when missing).
"""

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from prometheus_client import REGISTRY

import core_service.consumer.loop as consumer_loop
import core_service.metrics as core_metrics
import entry_service.metrics as entry_metrics
import servicekit.engine_metrics as engine_metrics
import servicekit.http_metrics as http_metrics
from tests.support.k8s_render import ROOT, find, render

MONITORING = ROOT / "k8s" / "monitoring"
RULES = MONITORING / "rules" / "pulse-alerts.yaml"
RULE_TESTS = MONITORING / "rules" / "pulse-alerts.test.yaml"
DASHBOARDS = sorted((MONITORING / "dashboards").glob("*.json"))
OPERATIONS = ROOT / "docs" / "operations.md"


@cache
def _promtool() -> str:
    result = subprocess.run(
        [str(ROOT / "scripts" / "promtool")], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"scripts/promtool failed:\n{result.stderr}"
    return result.stdout.strip()


def _run_promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_promtool(), *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )


def _alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_rules_pass_promtool_check() -> None:
    result = _run_promtool("check", "rules", RULES.name, cwd=RULES.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rule_unit_tests_pass() -> None:
    result = _run_promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_fail_when_an_alert_is_blunted(tmp_path: Path) -> None:
    """The unit tests bind the thresholds: a lag alert that waits for 100,000 fails them."""
    rules = RULES.read_text().replace(
        "pulse:consumer_lag_messages:sum > 1000", "pulse:consumer_lag_messages:sum > 100000"
    )
    assert rules != RULES.read_text()
    (tmp_path / RULES.name).write_text(rules)
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    result = _run_promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert result.returncode != 0
    assert "PulseConsumerLagGrowing" in result.stdout + result.stderr


def test_every_alert_is_unit_tested_firing() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert fired == {rule["alert"] for rule in _alerts()}


def test_every_alert_has_a_runbook_entry() -> None:
    docs = OPERATIONS.read_text(encoding="utf-8")
    headings = {m.group(1) for m in re.finditer(r"^#### (\w+)$", docs, re.M)}
    for rule in _alerts():
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{rule['alert'].lower()}"
        assert rule["alert"] in headings, f"docs/operations.md has no runbook for {rule['alert']}"
        assert rule["labels"]["severity"] in {"warning", "critical"}


def test_prometheusrule_wraps_the_same_groups() -> None:
    wrapper = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert wrapper["apiVersion"] == "monitoring.coreos.com/v1"
    assert wrapper["kind"] == "PrometheusRule"
    assert wrapper["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"], (
        "run scripts/wrap-alert-rules"
    )


def _panel_queries() -> list[tuple[str, str, str]]:
    queries = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel["targets"]:
                queries.append((path.name, panel["title"], target["expr"]))
    return queries


def test_dashboards_cover_what_on_call_needs() -> None:
    titles = {json.loads(p.read_text())["title"] for p in DASHBOARDS}
    assert titles == {
        "Pulse / Ingestion",
        "Pulse / Entries during an opening",
        "Pulse / Consumer and lag",
        "Pulse / Dashboard latency",
    }
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)) >= 4, path.name
        assert all(p["datasource"]["uid"] == "${datasource}" for p in board["panels"])


def test_every_panel_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query as a recording rule's expression; a typo fails the check."""
    queries = _panel_queries()
    bad = "sum(rate(pulse_http_requests_total[1m])"  # the closing parenthesis missing
    for name, exprs in (("good", [q for *_, q in queries]), ("bad", [bad])):
        rules = {
            "groups": [
                {
                    "name": "panels",
                    "rules": [
                        {"record": f"panel:query_{i}", "expr": e} for i, e in enumerate(exprs)
                    ],
                }
            ]
        }
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(rules))
    good = _run_promtool("check", "rules", "good.yaml", cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"SUCCESS: {len(queries)} rules found" in good.stdout
    assert _run_promtool("check", "rules", "bad.yaml", cwd=tmp_path).returncode != 0


def test_monitoring_kustomization_renders_dashboards_for_grafana() -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / "kustomize"), "build", str(MONITORING)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    objects = [o for o in yaml.safe_load_all(result.stdout) if o]
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == ["ConfigMap"] * len(DASHBOARDS) + ["PodMonitor", "PrometheusRule"]
    for obj in objects:
        if obj["kind"] == "ConfigMap":
            kubernetes_validate.validate(obj, "1.31", strict=True)
            assert obj["metadata"]["labels"]["grafana_dashboard"] == "1"
            (body,) = obj["data"].values()
            assert json.loads(body)["uid"].startswith("pulse-")
    (monitor,) = [o for o in objects if o["kind"] == "PodMonitor"]
    assert monitor["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "pulse"}
    assert monitor["spec"]["podMetricsEndpoints"] == [
        {"port": "http", "path": "/metrics", "interval": "15s"}
    ]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_json_is_importable(path: Path) -> None:
    board = json.loads(path.read_text())
    for key in ("uid", "title", "panels", "templating", "schemaVersion"):
        assert key in board


def test_every_metric_queried_is_one_pulse_exports() -> None:
    """Dashboards, alerts and the worker's lag HPA name only metrics the services define."""
    # Importing the modules registers their metrics in the process-wide registry.
    modules = (consumer_loop, core_metrics, entry_metrics, engine_metrics, http_metrics)
    assert all(m.__name__ for m in modules)
    exported = {
        sample_name
        for family in REGISTRY.collect()
        for sample_name in (
            family.name,
            f"{family.name}_total",
            f"{family.name}_bucket",
            f"{family.name}_count",
            f"{family.name}_sum",
        )
    }
    hpa = find(render("prod"), "HorizontalPodAutoscaler", "pulse-worker")
    external = [m["external"]["metric"]["name"] for m in hpa["spec"]["metrics"]]
    texts = [RULES.read_text(), *external] + [q for *_, q in _panel_queries()]
    queried = {name for text in texts for name in re.findall(r"\bpulse_[a-z_]+", text)}
    assert len(queried) >= 12
    assert queried - exported == set()

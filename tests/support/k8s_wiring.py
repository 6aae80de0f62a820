"""How k8s/ wires Pulse: network reach, settings and secrets, commands, Ingress paths.

Like tests/support/k8s_policy.py, each check returns the problems it finds.
"""

import argparse
import contextlib
import io
from typing import Any

from common_messaging.bus import BusSettings
from core_service.settings import CoreSettings
from dashboard_service.settings import DashboardSettings
from entry_service.settings import EntrySettings
from servicekit.settings import CommonSettings
from tests.support.k8s_policy import (
    COMMANDS,
    ENGINES,
    INGRESS_NAMESPACE,
    PRIVATE_PATHS,
    PUBLIC,
    SECRET_KEYS,
    _name,
    _of_kind,
    _selects,
    component,
    pod,
    workloads,
)
from tests.support.k8s_render import Manifest

SETTINGS = (CommonSettings, CoreSettings, EntrySettings, DashboardSettings, BusSettings)


def known_variables() -> set[str]:
    """Every PULSE_* variable some service reads (pydantic-settings: prefix + field name)."""
    return {f"PULSE_{field.upper()}" for cls in SETTINGS for field in cls.model_fields}


def config_data(objects: list[Manifest]) -> dict[str, str]:
    for obj in _of_kind(objects, "ConfigMap"):
        if obj["metadata"]["name"].startswith("pulse-config"):
            return dict(obj.get("data", {}))
    return {}


def _policies_for(objects: list[Manifest], labels: dict[str, str]) -> list[dict[str, Any]]:
    return [
        p["spec"]
        for p in _of_kind(objects, "NetworkPolicy")
        if _selects(p["spec"]["podSelector"], labels) or p["spec"]["podSelector"] == {}
    ]


def _is_default_deny(spec: dict[str, Any]) -> bool:
    return (
        spec["podSelector"] == {}
        and set(spec.get("policyTypes", [])) == {"Ingress", "Egress"}
        and not spec.get("ingress")
        and not spec.get("egress")
    )


def network_problems(objects: list[Manifest]) -> list[str]:
    policies = [p["spec"] for p in _of_kind(objects, "NetworkPolicy")]
    problems = [] if any(map(_is_default_deny, policies)) else ["no default-deny NetworkPolicy"]
    for obj in workloads(objects, pulse_only=False):
        labels = obj["spec"]["template"]["metadata"]["labels"]
        own = [
            s
            for s in _policies_for(objects, labels)
            if s["podSelector"] and not _is_default_deny(s)
        ]
        if not own:
            problems.append(f"{_name(obj)}: no NetworkPolicy of its own")
            continue
        if labels.get("app.kubernetes.io/name") == "pulse":
            problems += _reach_problems(obj, _policies_for(objects, labels))
    return problems


def _reach_problems(obj: Manifest, specs: list[dict[str, Any]]) -> list[str]:
    problems = []
    peers_in = [rule.get("from") for s in specs for rule in s.get("ingress", [])]
    if any(not peers for peers in peers_in):
        problems.append(f"{_name(obj)}: an ingress rule admits any source")
    namespaces = {
        peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
        for peers in peers_in
        for peer in peers or []
    }
    public = INGRESS_NAMESPACE in namespaces
    if public != (component(obj) in PUBLIC):
        problems.append(f"{_name(obj)}: reachable from the ingress controller: {public}")
    engines: set[str] = set()
    for s in specs:
        for rule in s.get("egress", []):
            if not rule.get("to"):
                problems.append(f"{_name(obj)}: an egress rule allows any destination")
            for peer in rule.get("to", []):
                if "ipBlock" in peer:
                    problems.append(f"{_name(obj)}: egress to an ipBlock")
                engine = peer.get("podSelector", {}).get("matchLabels", {}).get("pulse.io/engine")
                if engine:
                    engines.add(engine)
    if engines != ENGINES[component(obj)]:
        problems.append(
            f"{_name(obj)}: reaches {sorted(engines)}, should reach only "
            f"{sorted(ENGINES[component(obj)])}"
        )
    return problems


def config_problems(objects: list[Manifest]) -> list[str]:
    known = known_variables()
    data = config_data(objects)
    problems = [f"ConfigMap: {k} is no setting of Pulse" for k in data if k not in known]
    problems += [f"ConfigMap: secret {k} in plain settings" for k in data if k in SECRET_KEYS]
    for obj in workloads(objects):
        for c in pod(obj)["containers"]:
            for env in c.get("env", []):
                name = env["name"]
                if name not in known:
                    problems.append(f"{_name(obj)}: {name} is no setting of Pulse")
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if name in SECRET_KEYS and ref is None:
                    problems.append(f"{_name(obj)}: {name} not taken from a Secret")
                if ref is not None and ref["key"] not in SECRET_KEYS:
                    problems.append(f"{_name(obj)}: unexpected secret key {ref['key']}")
    return problems


def command_problems(objects: list[Manifest], parser: argparse.ArgumentParser) -> list[str]:
    """Each container runs the image's `pulse` entrypoint with a subcommand pulse.cli knows."""
    problems = []
    for obj in workloads(objects):
        want = "migrate" if obj["kind"] == "Job" else COMMANDS.get(component(obj))
        for c in pod(obj)["containers"]:
            args = [str(a) for a in c.get("args", [])]
            if "command" in c:
                problems.append(f"{_name(obj)}: overrides the image's entrypoint")
            if not args or args[0] != want:
                problems.append(f"{_name(obj)}: runs {args[:1]}, should run {want}")
            try:
                with contextlib.redirect_stderr(io.StringIO()):
                    parsed = parser.parse_args(args)
            except SystemExit:
                problems.append(f"{_name(obj)}: `pulse {' '.join(args)}` is refused by pulse.cli")
                continue
            ports = [p["containerPort"] for p in c.get("ports", []) if p.get("name") == "http"]
            if obj["kind"] != "Job" and [getattr(parsed, "port", None)] != ports:
                problems.append(f"{_name(obj)}: listens on {parsed.port}, declares {ports}")
    return problems


def _routes(path: str, kind: str, request: str) -> bool:
    if kind == "Exact":
        return request == path
    prefix = path.rstrip("/")
    return request == path or request.startswith(prefix + "/") or path == "/"


def ingress_problems(objects: list[Manifest]) -> list[str]:
    problems = []
    for ing in _of_kind(objects, "Ingress"):
        for rule in ing["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                service = path["backend"]["service"]["name"]
                if service not in {f"pulse-{c}" for c in PUBLIC}:
                    problems.append(f"{_name(ing)}: routes to {service}")
                leaked = [p for p in PRIVATE_PATHS if _routes(path["path"], path["pathType"], p)]
                if leaked:
                    problems.append(f"{_name(ing)}: {path['path']} exposes {leaked}")
    return problems

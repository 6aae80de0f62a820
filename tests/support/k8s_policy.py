"""What every Pulse workload in k8s/ must have; each check returns the problems it finds.

The checks return lists (empty when all is well) rather than asserting, so the same check is
run on the real overlays and on doctored copies that prove it can fail.
"""

from collections.abc import Iterator
from typing import Any

from tests.support.k8s_render import Manifest

POD_KINDS = ("Deployment", "StatefulSet", "Job")
# The subcommand each Pulse workload runs, and its port (pulse.cli's defaults).
COMMANDS = {"core": "core", "worker": "worker", "entry": "entry", "dashboard": "dashboard"}
SECRET_KEYS = {
    "PULSE_DATABASE_URL",
    "PULSE_REDIS_URL",
    "PULSE_ADMIN_TOKEN",
    "PULSE_DASHBOARD_TOKEN",
}
# Which engines each workload may reach (docs/operations.md, k8s/base/networkpolicies.yaml).
ENGINES = {
    "entry": {"postgres", "redis", "kafka"},
    "dashboard": {"postgres", "elasticsearch"},
    "core": {"postgres", "redis"},
    "worker": {"postgres", "redis", "kafka", "elasticsearch"},
    "migrate": {"postgres", "kafka", "elasticsearch"},
}
PUBLIC = {"entry", "dashboard"}
INGRESS_NAMESPACE = "ingress-nginx"
# Paths the Ingress must never route to a service.
PRIVATE_PATHS = ("/metrics", "/healthz", "/readyz", "/docs", "/openapi.json")


def component(obj: Manifest) -> str:
    labels = obj["spec"]["template"]["metadata"].get("labels", {})
    return str(labels.get("app.kubernetes.io/component", obj["metadata"]["name"]))


def is_pulse(obj: Manifest) -> bool:
    labels = obj["spec"]["template"]["metadata"].get("labels", {})
    return obj["kind"] in POD_KINDS and labels.get("app.kubernetes.io/name") == "pulse"


def workloads(objects: list[Manifest], *, pulse_only: bool = True) -> Iterator[Manifest]:
    for obj in objects:
        if obj["kind"] in POD_KINDS and (is_pulse(obj) or not pulse_only):
            yield obj


def services(objects: list[Manifest]) -> Iterator[Manifest]:
    """Pulse's long-running workloads (Deployments), which serve HTTP and take probes."""
    return (obj for obj in workloads(objects) if obj["kind"] == "Deployment")


def pod(obj: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


def _name(obj: Manifest) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    wanted = selector.get("matchLabels", {})
    return bool(selector) and all(labels.get(k) == v for k, v in wanted.items())


def _of_kind(objects: list[Manifest], kind: str) -> list[Manifest]:
    return [obj for obj in objects if obj["kind"] == kind]


def probe_problems(objects: list[Manifest]) -> list[str]:
    problems = []
    for obj in workloads(objects, pulse_only=False):
        if obj["kind"] == "Job":
            continue
        for c in pod(obj)["containers"]:
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if probe not in c:
                    problems.append(f"{_name(obj)} {c['name']}: no {probe}")
            if is_pulse(obj):
                live = c.get("livenessProbe", {}).get("httpGet", {}).get("path")
                ready = c.get("readinessProbe", {}).get("httpGet", {}).get("path")
                if live != "/healthz" or ready != "/readyz":
                    problems.append(f"{_name(obj)}: liveness {live}, readiness {ready}")
    return problems


def resource_problems(objects: list[Manifest]) -> list[str]:
    problems = []
    for obj in workloads(objects, pulse_only=False):
        for c in pod(obj)["containers"] + pod(obj).get("initContainers", []):
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                for what in ("cpu", "memory"):
                    if what not in res.get(part, {}):
                        problems.append(f"{_name(obj)} {c['name']}: no {part}.{what}")
    return problems


def pdb_problems(objects: list[Manifest]) -> list[str]:
    pdbs = _of_kind(objects, "PodDisruptionBudget")
    problems = []
    for obj in services(objects):
        labels = obj["spec"]["template"]["metadata"]["labels"]
        if not any(_selects(p["spec"]["selector"], labels) for p in pdbs):
            problems.append(f"{_name(obj)}: no PodDisruptionBudget selects its pods")
    return problems


def hpa_problems(objects: list[Manifest]) -> list[str]:
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h for h in _of_kind(objects, "HorizontalPodAutoscaler")
    }
    config = next(
        (
            o.get("data", {})
            for o in _of_kind(objects, "ConfigMap")
            if o["metadata"]["name"].startswith("pulse-config")
        ),
        {},
    )
    partitions = int(config.get("PULSE_KAFKA_PARTITIONS", 6))
    problems = []
    for obj in services(objects):
        hpa = hpas.get(obj["metadata"]["name"])
        if hpa is None:
            problems.append(f"{_name(obj)}: no HorizontalPodAutoscaler")
            continue
        kinds = {m["type"] for m in hpa["spec"]["metrics"]}
        want = "External" if component(obj) == "worker" else "Resource"
        if want not in kinds:
            problems.append(f"{_name(obj)}: its HPA scales on {sorted(kinds)}, not {want}")
        if component(obj) == "worker" and hpa["spec"]["maxReplicas"] > partitions:
            problems.append(
                f"{_name(obj)}: maxReplicas {hpa['spec']['maxReplicas']} > {partitions} partitions"
            )
        if hpa["spec"].get("minReplicas", 1) > hpa["spec"]["maxReplicas"]:
            problems.append(f"{_name(obj)}: HPA minReplicas above maxReplicas")
    return problems


def security_problems(objects: list[Manifest]) -> list[str]:
    problems = []
    for obj in workloads(objects):
        spec = pod(obj)
        ctx = spec.get("securityContext", {})
        if not ctx.get("runAsNonRoot") or ctx.get("runAsUser", 0) == 0:
            problems.append(f"{_name(obj)}: pod may run as root")
        if ctx.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{_name(obj)}: no RuntimeDefault seccomp profile")
        tmp_volumes = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        for c in spec["containers"]:
            sc = c.get("securityContext", {})
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{_name(obj)} {c['name']}: root filesystem writable")
            if sc.get("allowPrivilegeEscalation") is not False or sc.get("privileged"):
                problems.append(f"{_name(obj)} {c['name']}: privilege escalation allowed")
            caps = sc.get("capabilities", {})
            if caps.get("drop") != ["ALL"] or caps.get("add"):
                problems.append(f"{_name(obj)} {c['name']}: capabilities not all dropped")
            mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
            if mounts.get("/tmp") not in tmp_volumes:
                problems.append(f"{_name(obj)} {c['name']}: /tmp is not an emptyDir")
    return problems


def identity_problems(objects: list[Manifest]) -> list[str]:
    accounts = {sa["metadata"]["name"]: sa for sa in _of_kind(objects, "ServiceAccount")}
    problems = []
    seen: dict[str, str] = {}
    for obj in workloads(objects):
        spec = pod(obj)
        name = spec.get("serviceAccountName", "default")
        account = accounts.get(name)
        if account is None:
            problems.append(f"{_name(obj)}: ServiceAccount {name} is not part of the overlay")
        elif account.get("automountServiceAccountToken") is not False:
            problems.append(f"{_name(obj)}: ServiceAccount {name} mounts a token")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{_name(obj)}: pod mounts a ServiceAccount token")
        if name in seen:
            problems.append(f"{_name(obj)}: shares ServiceAccount {name} with {seen[name]}")
        seen[name] = _name(obj)
    return problems


def shutdown_problems(objects: list[Manifest]) -> list[str]:
    problems = []
    for obj in services(objects):
        spec = pod(obj)
        if spec.get("terminationGracePeriodSeconds", 30) < 30:
            problems.append(f"{_name(obj)}: grace period under 30 s")
        for c in spec["containers"]:
            if "preStop" not in c.get("lifecycle", {}):
                problems.append(f"{_name(obj)} {c['name']}: no preStop pause before SIGTERM")
    return problems

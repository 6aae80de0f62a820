"""Draw one Grafana dashboard's panels from a Prometheus: each target's query over a time range.

Not Grafana's rendering: a grid of line charts, one per panel, with the panel's title, unit and
legend format, so the picture shows what each query returned.
"""

import re
from pathlib import Path
from typing import Any

import httpx
import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

STEP_S = 5
_LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def query_range(prometheus: str, expr: str, start: float, end: float) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{prometheus}/api/v1/query_range",
        params={"query": expr, "start": start, "end": end, "step": STEP_S},
        timeout=30,
    )
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _legend(fmt: str, labels: dict[str, str]) -> str:
    return _LEGEND.sub(lambda m: labels.get(m.group(1), ""), fmt) or "value"


def render_dashboard(
    prometheus: str, board: dict[str, Any], start: float, end: float, out: Path
) -> str:
    """Save `<uid>.png` in `out`; return one summary line per query (series, peak value)."""
    panels = board["panels"]
    rows = (len(panels) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(14, 3.6 * rows), squeeze=False)
    lines = [f"{board['title']}\n"]
    for ax, panel in zip(axes.flat, panels, strict=False):
        for target in panel["targets"]:
            series = query_range(prometheus, target["expr"], start, end)
            peak = 0.0
            for s in series:
                xs = [(float(t) - start) / 60 for t, _ in s["values"]]
                ys = [float(v) for _, v in s["values"]]
                ys_clean = [y for y in ys if y == y]  # NaN (0/0) is not a peak
                peak = max([peak, *ys_clean])
                ax.plot(xs, ys, label=_legend(target.get("legendFormat", ""), s["metric"]))
            lines.append(
                f"  {panel['title']} [{target['refId']}]: {len(series)} series, peak {peak:.4g}\n"
            )
        ax.set_title(panel["title"], fontsize=10)
        ax.set_xlabel("minutes into the load test", fontsize=8)
        ax.set_ylabel(panel["fieldConfig"]["defaults"].get("unit", ""), fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7, loc="upper left")
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(board["title"], fontsize=13)
    fig.tight_layout()
    fig.savefig(out / f"{board['uid']}.png", dpi=80)
    plt.close(fig)
    return "".join(lines)

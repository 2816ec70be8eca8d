"""Render the dashboard's panels from Prometheus' HTTP API into one PNG: what a user will see."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import httpx


def render(
    prom_url: str,
    panels: list[tuple[str, str, list[tuple[str, str]], int]],
    out: Path,
    start: float,
    end: float,
    step: float = 1.0,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 3
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(18, 3.2 * rows), squeeze=False)
    for ax, (title, unit, targets, _) in zip(axes.flat, panels, strict=False):
        for expr, legend in targets:
            data: dict[str, Any] = httpx.get(
                f"{prom_url}/api/v1/query_range", params={"query": expr, "start": start, "end": end, "step": step}
            ).json()
            for series in data["data"]["result"]:
                xs = [float(t) - start for t, _ in series["values"]]
                ys = [float(v) for _, v in series["values"]]
                label = legend
                for k, v in series["metric"].items():
                    label = label.replace("{{" + k + "}}", v)
                ax.plot(xs, ys, label=label[:40])
        ax.set_title(f"{title} [{unit}]", fontsize=9)
        ax.tick_params(labelsize=7)
        if ax.has_data():
            ax.legend(fontsize=6, loc="upper left")
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle("Multi-LLM policy router — dashboard queries over integration-test traffic (x: seconds)")
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=70)
    plt.close(fig)

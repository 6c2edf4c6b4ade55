"""The benchmark's outputs: the printed table, the JSON file and the PNG chart."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from harness import Cfg, Row, cpu_count

COLUMNS = ("case", "unit", "LangGraph", "ours", "stock/ours", "floor", "peak RSS MB stock/ours")


def _num(v: float | None) -> str:
    if v is None:
        return "-"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def cells(row: Row) -> list[str]:
    if row.error:
        return [row.case, row.unit or "", "error", "", "", "", row.error[:60]]
    rss = "-"
    if row.rss_stock_mb is not None and row.rss_ours_mb is not None:
        rss = f"{row.rss_stock_mb:.0f}/{row.rss_ours_mb:.0f}"
    ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
    return [row.case, row.unit, _num(row.stock), _num(row.ours), ratio, _num(row.floor), rss]


def table(rows: list[Row]) -> str:
    body = [list(COLUMNS)] + [cells(r) for r in rows]
    widths = [max(len(line[i]) for line in body) for i in range(len(COLUMNS))]
    out = []
    for n, line in enumerate(body):
        parts = [line[0].ljust(widths[0]), line[1].ljust(widths[1])]
        parts += [c.rjust(w) for c, w in zip(line[2:], widths[2:])]
        out.append("  ".join(parts).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def environment() -> dict[str, Any]:
    import langgraph_rs

    try:
        from importlib.metadata import version

        lg = version("langgraph")
    except Exception:
        lg = "?"
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": cpu_count(),
        "loadavg_at_end": load,
        "langgraph": lg,
        "langgraph_rs": langgraph_rs.__version__,
    }


def document(rows: list[Row], cfg: Cfg, started: float, argv: list[str]) -> dict[str, Any]:
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(cfg).items()}
    return {
        "about": "stock LangGraph vs langgraph_rs in one process; medians over rounds, engines "
        "interleaved round by round; ratio = how many times faster ours is",
        "command": " ".join(["python", *argv]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "seconds": round(time.time() - started, 1),
        "settings": settings,
        "environment": environment(),
        "columns": list(COLUMNS),
        "rows": [r.to_json() for r in rows],
    }


def write_json(doc: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False, default=str) + "\n")


def write_chart(rows: list[Row], path: Path, title: str) -> bool:
    """A bar per case: how many times faster ours is (log scale; 1 = parity)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no chart", file=sys.stderr)
        return False
    shown = [r for r in rows if r.ratio]
    if not shown:
        return False
    height = max(3.0, 0.28 * len(shown) + 1.4)
    fig, ax = plt.subplots(figsize=(9, height))
    names = [r.case for r in shown][::-1]
    ratios = [r.ratio for r in shown][::-1]
    colors = [
        "#868e96" if "engine-independent" in r.note else "#2b8a3e" if r.ratio >= 1 else "#c92a2a"
        for r in shown[::-1]
    ]
    ax.barh(names, ratios, color=colors)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    for y, v in enumerate(ratios):
        ax.text(v, y, f" {v:.2f}x", va="center", fontsize=7)
    ax.set_xlabel("times faster than stock LangGraph\n(stock/ours; rates: ours/stock; grey: engine-independent)")
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(title, fontsize=9)
    lo, hi = min(ratios), max(ratios)
    left, right = min(0.5, lo / 1.5), max(2.0, hi * 1.6)
    ax.set_xlim(left, right)
    ax.set_xticks([t for t in (0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 50) if left <= t <= right])
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True

"""The benchmark's machinery: settings, result rows, the engine switch, interleaved
timing rounds and peak-RSS readings.

Both engines run in one process: ``langgraph_rs.install()`` swaps LangGraph's
executor process-wide and ``uninstall()`` puts it back, so a round times stock
LangGraph and langgraph_rs one after the other (the order alternates from round
to round) and machine load hits both alike. Each figure is the median over rounds.
"""

from __future__ import annotations

import gc
import os
import resource
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import langgraph_rs

ENGINES = ("stock", "ours")
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Cfg:
    """Counts and paths of one benchmark run (``--quick`` shrinks the counts)."""

    quick: bool = False
    rounds: int = 5
    target_s: float = 0.3  # a timing batch lasts about this long
    max_calls: int = 20_000  # calls per batch at most
    concurrent: int = 10_000  # concurrent ainvoke runs
    docs: int = 1_000  # swarm documents
    rss_invokes: int = 0  # long RSS run (0: skipped)
    sdist_dir: str | None = None
    cache_dir: Path = ROOT / ".conformance"

    @classmethod
    def make(cls, quick: bool, **overrides: Any) -> Cfg:
        cfg = cls(quick=True, rounds=3, target_s=0.05, concurrent=500, docs=50) if quick else cls()
        for key, value in overrides.items():
            if value is not None:
                setattr(cfg, key, value)
        return cfg


@dataclass
class Row:
    """One line of the table. ``stock``/``ours`` are medians in ``unit``;
    ``ratio`` is how many times faster ours is (stock/ours for times, ours/stock
    for rates); ``rss_*`` are peak RSS in MB while that engine ran the case."""

    case: str
    group: str
    unit: str
    stock: float | None = None
    ours: float | None = None
    ratio: float | None = None
    floor: float | None = None
    rss_stock_mb: float | None = None
    rss_ours_mb: float | None = None
    rounds: int = 0
    calls: int = 0
    samples: dict[str, list[float]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    error: str | None = None

    def finish(self, higher_is_better: bool = False) -> Row:
        if self.stock and self.ours:
            self.ratio = self.ours / self.stock if higher_is_better else self.stock / self.ours
        return self

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Case:
    name: str
    group: str
    run: Callable[[Cfg], Row | list[Row]]
    about: str = ""


def run_case(case: Case, cfg: Cfg) -> list[Row]:
    """Run one case; an exception becomes a row carrying the error."""
    try:
        out = case.run(cfg)
    except Exception as exc:  # a broken case must not hide the others
        traceback.print_exc(file=sys.stderr)
        return [Row(case.name, case.group, "", error=f"{type(exc).__name__}: {exc}")]
    finally:
        langgraph_rs.uninstall()
    return out if isinstance(out, list) else [out]


def use(engine: str) -> None:
    """Make ``engine`` the executor of every graph in the process."""
    if engine == "ours":
        langgraph_rs.install()
    else:
        langgraph_rs.uninstall()


# -- peak RSS ------------------------------------------------------------------
# Linux resets a process's peak RSS (VmHWM) when "5" is written to
# /proc/self/clear_refs, so each engine's batch gets its own peak. Elsewhere the
# process-wide high-water mark (getrusage) is all there is.


def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def rss_mb() -> float:
    kb = _status_kb("VmRSS")
    return kb / 1024 if kb is not None else peak_mb()


def peak_mb() -> float:
    kb = _status_kb("VmHWM")
    if kb is None:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if sys.platform == "darwin":
            kb //= 1024
    return kb / 1024


# -- timing ---------------------------------------------------------------------

Batch = Callable[[str, int], float]  # (engine, calls) -> value per call


def calibrate(batch: Batch, cfg: Cfg) -> int:
    """Warm both engines up with one call each, then time one more; return how
    many calls make the slower engine's batch last about ``cfg.target_s``."""
    slowest = 0.0
    for engine in ENGINES:
        use(engine)
        start = time.perf_counter()
        batch(engine, 1)
        first = time.perf_counter() - start
        if first >= cfg.target_s:  # one call per batch anyway: spare the second
            slowest = max(slowest, first)
            continue
        start = time.perf_counter()
        batch(engine, 1)
        slowest = max(slowest, time.perf_counter() - start)
    langgraph_rs.uninstall()
    return max(1, min(cfg.max_calls, int(cfg.target_s / max(slowest, 1e-9))))


def interleaved(batch: Batch, calls: int, rounds: int) -> tuple[dict[str, list[float]], dict[str, float]]:
    """``rounds`` rounds of both engines, order alternating; returns the per-call
    values of each round and each engine's peak RSS (MB)."""
    samples: dict[str, list[float]] = {e: [] for e in ENGINES}
    peaks = {e: 0.0 for e in ENGINES}
    for r in range(rounds):
        for engine in ENGINES if r % 2 == 0 else ENGINES[::-1]:
            use(engine)
            gc.collect()
            reset_peak()
            samples[engine].append(batch(engine, calls))
            peaks[engine] = max(peaks[engine], peak_mb())
    langgraph_rs.uninstall()
    return samples, peaks


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def timed_row(
    name: str, group: str, batch: Batch, cfg: Cfg, *, unit: str = "µs", scale: float = 1e6,
    per: float = 1.0, calls: int | None = None, rounds: int | None = None, note: str = "",
) -> Row:
    """Time ``batch`` (seconds per call) on both engines; values are shown in
    ``unit`` (``scale`` per second) and divided by ``per`` (e.g. supersteps)."""
    calls = calls or calibrate(batch, cfg)
    rounds = rounds or cfg.rounds
    samples, peaks = interleaved(batch, calls, rounds)
    samples = {e: [v * scale / per for v in vs] for e, vs in samples.items()}
    return Row(
        name, group, unit, median(samples["stock"]), median(samples["ours"]),
        rss_stock_mb=peaks["stock"], rss_ours_mb=peaks["ours"], rounds=rounds, calls=calls,
        samples=samples, note=note,
    ).finish()


def seconds_per_call(fn: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

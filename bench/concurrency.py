"""Many concurrent async runs, and RSS over a long run.

``async_concurrent``: N (10,000; 1,000 with --quick) 3-node-chain ``ainvoke`` runs
gathered at once, timed in this process round by round on both engines; the floor
is bare asyncio making the same awaits (3 node coroutines per run, no graph). Peak
RSS comes from a fresh subprocess per engine (and one for the floor) doing the
same gather once: its high-water mark (VmHWM, reset after imports and warm-up,
since ``getrusage``'s ru_maxrss of a child still counts the parent it was forked
from), and the rise over its RSS just before the gather, with the time the
cyclic garbage collector took during the gather (``gc_seconds``, per generation).

``rss_long`` (``--rss-invokes N``): one subprocess per engine invokes the 3-node
chain N times and samples its RSS along the way; a flat line means no leak.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import ENGINES, Case, Cfg, Row, interleaved, median, rss_mb, use

GROUP = "concurrency"
HERE = Path(__file__).resolve().parent


async def step(s: dict) -> dict:
    await asyncio.sleep(0)
    return {"x": s["x"] + 1}


def async_chain() -> Any:
    from langgraph.graph import END, START, StateGraph
    from micro import S

    g = StateGraph(S)
    prev = START
    for i in range(3):
        g.add_node(f"n{i}", step)
        g.add_edge(prev, f"n{i}")
        prev = f"n{i}"
    g.add_edge(prev, END)
    return g.compile()


async def floor_run(x: int) -> dict:
    s = {"x": x}
    for _ in range(3):
        s = await step(s)
    return s


def gather_seconds(engine: str, n: int, graph: Any) -> float:
    """Seconds for n runs gathered at once (a fresh event loop; its setup untimed)."""

    async def many() -> float:
        start = time.perf_counter()
        if engine == "floor":
            await asyncio.gather(*(floor_run(i) for i in range(n)))
        else:
            await asyncio.gather(*(graph.ainvoke({"x": i}) for i in range(n)))
        return time.perf_counter() - start

    return asyncio.run(many())


def child_peak(engine: str, n: int) -> dict[str, float]:
    """Run the gather once in a fresh interpreter; return its RSS readings (MB)."""
    out = subprocess.run(
        [sys.executable, str(HERE / "concurrency.py"), "gather", engine, str(n)],
        capture_output=True, text=True, check=True, cwd=HERE.parent,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def async_concurrent(cfg: Cfg) -> Row:
    n = cfg.concurrent
    graph = async_chain()
    for engine in ENGINES:  # warm both engines up
        use(engine)
        gather_seconds(engine, 10, graph)
    rounds = min(cfg.rounds, 3)  # each round is seconds long already
    samples, _ = interleaved(lambda engine, calls: gather_seconds(engine, n, graph), 1, rounds)
    floor = [gather_seconds("floor", n, None) for _ in range(rounds)]
    peaks = {e: child_peak(e, n) for e in (*ENGINES, "floor")}
    return Row(
        f"async_{n}_concurrent", GROUP, "s", median(samples["stock"]), median(samples["ours"]),
        floor=median(floor), rss_stock_mb=peaks["stock"]["peak_mb"], rss_ours_mb=peaks["ours"]["peak_mb"],
        rounds=rounds, calls=n, samples=samples,
        extra={"floor_samples": floor, "subprocess_rss": peaks},
        note=f"s for {n} concurrent 3-node ainvoke; floor = bare asyncio, same awaits; "
        f"peak RSS from a subprocess per engine (floor: {peaks['floor']['peak_mb']:.0f} MB); "
        "there, the cyclic GC took "
        + ", ".join(f"{e} {peaks[e]['gc_seconds']:.2f} of {peaks[e]['seconds']:.2f} s" for e in ENGINES),
    ).finish()


def rss_long(cfg: Cfg) -> Row:
    n = cfg.rss_invokes
    runs = {}
    for engine in ENGINES:
        out = subprocess.run(
            [sys.executable, str(HERE / "concurrency.py"), "invokes", engine, str(n)],
            capture_output=True, text=True, check=True, cwd=HERE.parent,
        )
        runs[engine] = json.loads(out.stdout.strip().splitlines()[-1])
    return Row(
        f"rss_{n}_invokes", GROUP, "MB growth",
        runs["stock"]["growth_mb"], runs["ours"]["growth_mb"],
        rss_stock_mb=runs["stock"]["peak_mb"], rss_ours_mb=runs["ours"]["peak_mb"],
        rounds=1, calls=n, extra={"runs": runs},
        note=f"RSS growth from 1% to 100% of {n} sequential 3-node invokes (subprocess per engine, not interleaved)",
    )


def cases(cfg: Cfg) -> list[Case]:
    out = [Case("async_concurrent", GROUP, async_concurrent, "N concurrent 3-node ainvoke vs bare asyncio")]
    if cfg.rss_invokes:
        out.append(Case("rss_long", GROUP, rss_long, "RSS over --rss-invokes sequential invokes"))
    return out


# -- subprocess side --------------------------------------------------------------


def _child_gather(engine: str, n: int) -> dict[str, float]:
    import harness

    harness.use("ours" if engine == "ours" else "stock")
    graph = async_chain()
    gather_seconds(engine, 10, graph)
    harness.reset_peak()  # the high-water mark of imports and warm-up is not the run's
    base = rss_mb()
    collector = _Collections()
    gc.callbacks.append(collector)
    try:
        elapsed = gather_seconds(engine, n, graph)
    finally:
        gc.callbacks.remove(collector)
    peak = harness.peak_mb()
    return {
        "peak_mb": peak, "before_mb": base, "rise_mb": peak - base, "seconds": elapsed,
        # the cyclic garbage collector's share of the run (it visits every
        # tracked object of every run in flight at each full collection)
        "gc_seconds": round(sum(collector.seconds), 3),
        "gc_seconds_by_generation": [round(t, 3) for t in collector.seconds],
        "gc_collections_by_generation": collector.count,
    }


class _Collections:
    """A ``gc.callbacks`` entry: time spent in collections, per generation."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._start = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self._start
            self.count[info["generation"]] += 1


def _child_invokes(engine: str, n: int) -> dict[str, Any]:
    import harness
    from micro import chain

    harness.use(engine)
    g = chain(3)
    marks = sorted({max(1, n // 100), *(n * k // 10 for k in range(1, 11))})
    samples, start, done = [], time.perf_counter(), 0
    harness.reset_peak()
    for mark in marks:
        while done < mark:
            g.invoke({"x": done})
            done += 1
        samples.append((done, round(rss_mb(), 2)))
    return {
        "samples": samples, "seconds": time.perf_counter() - start, "peak_mb": harness.peak_mb(),
        "growth_mb": samples[-1][1] - samples[0][1],
    }


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")
    sys.path.insert(0, str(HERE))
    mode, engine, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    result = _child_gather(engine, count) if mode == "gather" else _child_invokes(engine, count)
    print(json.dumps(result))
    sys.stdout.flush()
    os._exit(0)

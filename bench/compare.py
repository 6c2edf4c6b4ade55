"""Stock LangGraph vs langgraph_rs, side by side in one process.

    python bench/compare.py            # all workloads
    python bench/compare.py --quick    # fewer iterations

Prints µs per invoke for both engines and the ratio (stock / ours: >1 means
langgraph_rs is faster). Compare ratios across machines, not absolute times.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import operator
import time
import tracemalloc
from collections.abc import Callable
from typing import Annotated, Any

from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

import langgraph_rs


class S(TypedDict):
    x: int


class Fan(TypedDict):
    xs: Annotated[list, operator.add]


def chain(n: int) -> Any:
    g = StateGraph(S)
    prev = START
    for i in range(n):
        g.add_node(f"n{i}", lambda s: {"x": s["x"] + 1})
        g.add_edge(prev, f"n{i}")
        prev = f"n{i}"
    g.add_edge(prev, END)
    return g.compile()


def fan_out(k: int = 5) -> Any:
    g = StateGraph(Fan)
    g.add_node("src", lambda s: {"xs": [0]})
    g.add_edge(START, "src")
    for i in range(k):
        g.add_node(f"w{i}", lambda s, i=i: {"xs": [i]})
        g.add_edge("src", f"w{i}")
    g.add_node("join", lambda s: {"xs": [-1]})
    g.add_edge([f"w{i}" for i in range(k)], "join")
    g.add_edge("join", END)
    return g.compile()


def per_call_us(fn: Callable[[], Any], n: int) -> float:
    fn()
    gc.collect()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def both(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    langgraph_rs.uninstall()
    stock = per_call_us(fn, n)
    langgraph_rs.install()
    try:
        ours = per_call_us(fn, n)
    finally:
        langgraph_rs.uninstall()
    return stock, ours


def concurrent_async(n: int) -> tuple[float, float]:
    """(seconds for n concurrent ainvoke runs, peak MB traced in a second pass)."""
    g = chain(3)

    async def many() -> None:
        await asyncio.gather(*(g.ainvoke({"x": i}) for i in range(n)))

    gc.collect()
    start = time.perf_counter()
    asyncio.run(many())
    elapsed = time.perf_counter() - start
    tracemalloc.start()
    asyncio.run(many())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak / 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    scale = 0.2 if args.quick else 1.0
    rows = []
    c3 = chain(3)
    rows.append(("3-node chain, invoke", *both(lambda: c3.invoke({"x": 0}), int(1000 * scale))))
    f5 = fan_out(5)
    rows.append(("fan-out 5 + join, invoke", *both(lambda: f5.invoke({"xs": []}), int(300 * scale))))
    c100 = chain(100)
    s, o = both(lambda: c100.invoke({"x": 0}), max(3, int(30 * scale)))
    rows.append(("100-step chain, per step", s / 101, o / 101))
    print(f"{'workload':32} {'stock µs':>10} {'rs µs':>10} {'ratio':>7}")
    for name, s, o in rows:
        print(f"{name:32} {s:10.1f} {o:10.1f} {s / o:6.2f}x")
    n = int(10_000 * scale)
    langgraph_rs.uninstall()
    st, sm = concurrent_async(n)
    langgraph_rs.install()
    rt, rm = concurrent_async(n)
    langgraph_rs.uninstall()
    print(f"{n} concurrent async 3-node runs: stock {st:.2f} s / {sm:.0f} MB peak, "
          f"langgraph_rs {rt:.2f} s / {rm:.0f} MB peak ({st / rt:.2f}x time)")


if __name__ == "__main__":
    main()

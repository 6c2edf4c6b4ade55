"""Workloads of LangGraph's own benchmark suite (its sdist's ``bench/``), timed on
stock LangGraph and on langgraph_rs in one process.

    python bench/langgraph_bench.py [--sdist-dir DIR] [--repeat N]

The sdist is the one ``python -m langgraph_rs.conformance`` downloads
(``.conformance/langgraph-<version>``). Each workload runs the way the suite's
``run()`` does (``stream`` with ``durability="exit"``); the best of N runs is kept.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import langgraph_rs
from langgraph_rs.conformance import LANGGRAPH_VERSION


def workloads() -> list[tuple[str, Any, dict]]:
    from bench.fanout_to_subgraph import fanout_to_subgraph_sync
    from bench.react_agent import react_agent
    from bench.sequential import create_sequential
    from bench.wide_state import wide_state
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.memory import InMemorySaver

    rnd = random.Random(0)
    subjects = [rnd.choices("abcdefghijklmnopqrstuvwxyz", k=1000) for _ in range(10)]
    wide_input = {
        "messages": [
            {
                str(i) * 10: {
                    str(j) * 10: ["hi?" * 10, True, 1, 6327816386138, None] * 5 for j in range(5)
                }
                for i in range(5)
            }
        ]
    }
    return [
        ("sequential_10", create_sequential(10).compile(), {"messages": []}),
        ("sequential_1000", create_sequential(1000).compile(), {"messages": []}),
        ("fanout_to_subgraph_10x", fanout_to_subgraph_sync().compile(), {"subjects": subjects}),
        (
            "fanout_to_subgraph_10x_checkpoint",
            fanout_to_subgraph_sync().compile(checkpointer=InMemorySaver()),
            {"subjects": subjects},
        ),
        ("react_agent_10x", react_agent(10, checkpointer=None), {"messages": [HumanMessage("hi?")]}),
        (
            "react_agent_10x_checkpoint",
            react_agent(10, checkpointer=InMemorySaver()),
            {"messages": [HumanMessage("hi?")]},
        ),
        ("wide_state_25x300", wide_state(300).compile(), wide_input),
    ]


def run(graph: Any, inp: dict) -> None:
    config = {"configurable": {"thread_id": str(uuid4())}, "recursion_limit": 1_000_000_000}
    for _ in graph.stream(inp, config, durability="exit"):
        pass


def best_ms(graph: Any, inp: dict, repeat: int) -> float:
    run(graph, inp)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run(graph, inp)
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sdist-dir", default=f".conformance/langgraph-{LANGGRAPH_VERSION}")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    sdist = Path(args.sdist_dir).resolve()
    if not (sdist / "bench").is_dir():
        sys.exit(f"no bench/ in {sdist}: run `python -m langgraph_rs.conformance` once to download it")
    sys.path.append(str(sdist))  # after site-packages: `langgraph` stays the installed one
    import warnings

    warnings.simplefilter("ignore")
    print(f"{'workload':36} {'stock ms':>10} {'rs ms':>10} {'ratio':>7}")
    for name, graph, inp in workloads():
        langgraph_rs.uninstall()
        stock = best_ms(graph, inp, args.repeat)
        langgraph_rs.install()
        try:
            ours = best_ms(graph, inp, args.repeat)
        finally:
            langgraph_rs.uninstall()
        print(f"{name:36} {stock:10.2f} {ours:10.2f} {stock / ours:6.2f}x", flush=True)


if __name__ == "__main__":
    main()

"""The StateGraph program family of the fuzzer.

A spec is plain data::

    {"seed": int,                      # orders the pause assignment
     "async": bool,                    # async nodes, run with ainvoke/astream
     "keys": [[name, kind]],           # besides "trail" (operator.add): last/add/msgs/merge/longest
     "input_keys"/"output_keys": None or [key],
     "nodes": [{"name", "kind": fn|worker|sub|call, "sync", "units", "ret": dict|none|command,
                "writes": [[key, overwrite]], "goto": [option] or None, "defer", "retry": [fails, attempts],
                "retry_on_flaky", "fail", "interrupts", "custom", "step", "sub": subgraph or None}],
     "edges": [[src, dst]], "joins": [[[a, b], dst]],
     "routers": [{"src", "options": [option], "map": None|dict|list, "cap": int}],
     "compile": {"saver": None|memory|sqlite, "ib": [node], "ia": [node]},
     "limit": recursion limit or None,
     "ops": [run | get_state | history | update | replay | fork]}

An option is ``{"kind": "one"|"many"|"end"|"send", ...}``; a subgraph is
``{"ckpt": inherit|own|none, "nodes": [inner]}`` run as a chain. Every node
appends to ``trail``; routers pick by ``len(trail)`` and stop at ``cap``, so
programs are deterministic. ``units`` (pauses) come from
:mod:`tests.fuzz.stategraph_timing`.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator

from tests.fuzz.stategraph_gen import generate_raw, has_cycle
from tests.fuzz.stategraph_render import render
from tests.fuzz.stategraph_shrink import smaller
from tests.fuzz.stategraph_timing import Infeasible, assign_units

__all__ = ["generate", "render", "candidates"]


def settle(spec: dict) -> dict | None:
    """``spec`` with safe pause units, or None if it has none."""
    cyclic = has_cycle(spec)
    for node in spec["nodes"]:
        sub = node.get("sub")
        while sub:  # a subgraph on a cycle hands back only its note
            sub["full"] = sub.get("full", True) and not cyclic
            nested = [i["sub"] for i in sub["nodes"] if i.get("sub")]
            sub = nested[0] if nested else None
    try:
        assign_units(spec)
    except Infeasible:
        return None
    return spec


def generate(rng: random.Random) -> dict:
    while True:
        spec = generate_raw(rng)
        if settle(spec) is not None:
            return spec
        for op in spec["ops"]:
            for run in (op, op.get("run")):
                if run and run.get("op") == "run":
                    run["mc"] = None
        if settle(spec) is not None:
            return spec


def candidates(spec: dict) -> Iterator[dict]:
    seen = set()
    for cand in smaller(spec):
        if not has_cycle(cand) and spec.get("limit") and cand.get("limit") == spec["limit"]:
            alt = copy.deepcopy(cand)
            alt["limit"] = None
            if (s := settle(alt)) is not None and repr(s) not in seen:
                seen.add(repr(s))
                yield s
        if (s := settle(cand)) is not None and repr(s) not in seen:
            seen.add(repr(s))
            yield s

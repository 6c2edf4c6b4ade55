"""When the nodes of a generated raw-Pregel program may run together, and the
pauses that make them finish in a defined order.

A node's possible steps are over-approximated from the channels it listens to
(a step after one of their writers' steps; the input is written at step -1);
a node in a cycle, or listening to an after-finish channel, may run at any
step. When a thread's state carries over between calls (a checkpointer and
several calls on one thread: a call can leave triggers pending that run with
the next call's input), any two nodes may meet. Nodes that may meet get
disjoint finishing times; a node retried under a ``RetryPolicy`` pauses on
every attempt, so it may finish at any multiple of its pause up to its last
attempt.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

HORIZON = 10
AFTER_FINISH = ("last_af", "barrier_af")
ANY = None  # may run at any step


def _inputs(spec: dict[str, Any]) -> list[str]:
    return [spec["input"]] if isinstance(spec["input"], str) else list(spec["input"])


def possible_steps(spec: dict[str, Any]) -> dict[str, set[int] | None]:
    ins = _inputs(spec)
    writers: dict[str, list[str]] = {}
    for n in spec["nodes"]:
        for w in n["writes"]:
            writers.setdefault(w["ch"], []).append(n["name"])
    steps: dict[str, set[int] | None] = {n["name"]: set() for n in spec["nodes"]}
    changed = True
    while changed:
        changed = False
        for n in spec["nodes"]:
            cur = steps[n["name"]]
            if cur is ANY:
                continue
            new: set[int] | None = set(cur)
            for c in n["triggers"]:
                if spec["channels"][c] in AFTER_FINISH:
                    new = ANY
                    break
                src = {-1} if c in ins else set()
                for w in writers.get(c, ()):
                    if (ws := steps[w]) is ANY:
                        src = ANY
                        break
                    src |= ws
                if src is ANY:
                    new = ANY
                    break
                new |= {s + 1 for s in src}
            if new is not ANY and any(s >= HORIZON for s in new):
                new = ANY
            if new != cur:
                steps[n["name"]] = new
                changed = True
    return steps


def state_carries_over(spec: dict[str, Any]) -> bool:
    if spec["saver"] == "none":
        return False
    per_thread = Counter(call["thread"] for call in spec["calls"]) if "calls" in spec else Counter()
    return "calls" not in spec or any(k > 1 for k in per_thread.values())


def may_meet(spec: dict[str, Any]) -> set[frozenset[str]]:
    names = [n["name"] for n in spec["nodes"]]
    if state_carries_over(spec):
        return {frozenset((a, b)) for a in names for b in names if a != b}
    steps = possible_steps(spec)
    out = set()
    for a in names:
        for b in names:
            sa, sb = steps[a], steps[b]
            if a != b and (sa is ANY or sb is ANY or sa & sb):
                out.add(frozenset((a, b)))
    return out


def finish_times(node: dict[str, Any], delay: int | None = None) -> set[int]:
    d = node["delay"] if delay is None else delay
    tries = min(node["fails"], node["attempts"] - 1) + 1 if node["kind"] == "flaky" else 1
    return {d * k for k in range(1, tries + 1)}


def assign_delays(spec: dict[str, Any]) -> None:
    """Smallest pauses such that nodes that may meet finish at different times."""
    meet = may_meet(spec)
    done: list[dict[str, Any]] = []
    for n in spec["nodes"]:
        rivals = [m for m in done if frozenset((n["name"], m["name"])) in meet]
        taken = set().union(*(finish_times(m) for m in rivals)) if rivals else set()
        d = 0
        while finish_times(n, d) & taken:
            d += 1
        n["delay"] = d
        done.append(n)


def timing_ok(spec: dict[str, Any]) -> bool:
    by_name = {n["name"]: n for n in spec["nodes"]}
    return all(
        not (finish_times(by_name[a]) & finish_times(by_name[b]))
        for a, b in map(tuple, may_meet(spec))
    )

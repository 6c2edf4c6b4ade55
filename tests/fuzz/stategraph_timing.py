"""Which tasks of a generated StateGraph program can share a superstep, and
pause units that make every such step finish in one defined order.

The analysis is an over-approximation of LangGraph's superstep semantics over
the spec: every router / ``Command`` option is taken as possible, joins are
``NamedBarrierValue``s, ``defer=True`` nodes run once nothing else is
triggered (possibly together with pending ``Send`` tasks). A task is either a
PULL task of a node, ``("n", name)``, or the ``i``-th PUSH task of one ``Send``
option, ``("s", sid, i)``.

Units are then chosen so that in every possible step the tasks' pauses are
distinct; a subgraph node's run takes a little longer than its pause, so it
occupies two units; a node that raises (no retry left) finishes last in any
step (its siblings would otherwise go on running after the error); a sibling
of a subgraph pauses at least one unit (the subgraph streams chunks as it
starts, at no defined time before a sibling that does not pause); steps larger
than the thread pool or ``max_concurrency`` must be one ``Send`` fan-out whose
items finish in submission order.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

START = "__start__"
END = "__end__"
POOL = 5  # sync tasks of one step that surely start together
MAX_UNIT = 12
MAX_STATES = 3000


class Infeasible(Exception):
    """The spec has no safe timing (too parallel, too many states...)."""


def _option_effect(opt: dict) -> tuple[frozenset, tuple]:
    kind = opt["kind"]
    if kind == "one":
        return frozenset([opt["to"]]), ()
    if kind == "many":
        return frozenset(opt["to"]), ()
    if kind == "send":
        return frozenset(), tuple(("s", opt["sid"], i) for i in range(len(opt["units"])))
    return frozenset(), ()  # end


def _sub_parent_gotos(sub: dict | None) -> list[str]:
    if not sub:
        return []
    out = []
    for inner in sub["nodes"]:
        if inner.get("parent_goto"):
            out.append(inner["parent_goto"])
        out.extend(_sub_parent_gotos(inner.get("sub")))
    return out


def _sub_fails(sub: dict | None) -> bool:
    return bool(sub) and any(i.get("fail") or _sub_fails(i.get("sub")) for i in sub["nodes"])


class Model:
    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.nodes = {n["name"]: n for n in spec["nodes"]}
        self.deferred = {n["name"] for n in spec["nodes"] if n.get("defer")}
        self.sends: dict[int, dict] = {}
        for r in spec["routers"]:
            for o in r["options"]:
                if o["kind"] == "send":
                    self.sends[o["sid"]] = o
        for n in spec["nodes"]:
            for o in n.get("goto") or ():
                if o["kind"] == "send":
                    self.sends[o["sid"]] = o
        self.joins = [(tuple(srcs), dst) for srcs, dst in spec["joins"]]
        self._alts: dict[str, list[tuple[frozenset, tuple]]] = {}

    def node_of(self, task: tuple) -> str:
        return task[1] if task[0] == "n" else self.sends[task[1]]["to"]

    def alternatives(self, name: str) -> list[tuple[frozenset, tuple]]:
        """What one successful run of ``name`` may trigger: (nodes, push tasks)."""
        if name in self._alts:
            return self._alts[name]
        static = frozenset(d for s, d in self.spec["edges"] if s == name and d != END)
        choices: list[list[tuple[frozenset, tuple]]] = [[(static, ())]]
        for r in self.spec["routers"]:
            if r["src"] == name:
                choices.append([_option_effect(o) for o in r["options"]])
        node = self.nodes.get(name)
        if node is not None and node.get("goto"):
            choices.append([_option_effect(o) for o in node["goto"]])
        if node is not None and (gotos := _sub_parent_gotos(node.get("sub"))):
            choices.append([(frozenset(), ())] + [(frozenset([g]), ()) for g in gotos])
        alts = set()
        for combo in itertools.product(*choices):
            alts.add((frozenset().union(*(c[0] for c in combo)), tuple(sorted(set().union(*(c[1] for c in combo))))))
        self._alts[name] = sorted(alts, key=repr)
        return self._alts[name]

    def fails(self, task: tuple) -> bool:
        node = self.nodes[self.node_of(task)]
        retry = node.get("retry")
        exhausted = bool(retry) and retry[1] <= retry[0]
        return bool(node.get("fail")) or exhausted or _sub_fails(node.get("sub"))

    def jitter(self, task: tuple) -> bool:
        return self.nodes[self.node_of(task)]["kind"] in ("sub", "call")

    # -- abstract supersteps -------------------------------------------------

    def _advance(self, ran: list[str], effects: list[tuple[frozenset, tuple]], barriers: tuple, deferred: frozenset):
        targets: set[str] = set()
        pushes: set[tuple] = set()
        for t, p in effects:
            targets |= t
            pushes |= set(p)
        seen = dict(barriers)
        for j, (srcs, dst) in enumerate(self.joins):
            got = set(seen.get(j, frozenset())) | {r for r in ran if r in srcs}
            if got >= set(srcs):
                targets.add(dst)
                got = set()
            if got:
                seen[j] = frozenset(got)
            else:
                seen.pop(j, None)
        bars = tuple(sorted(seen.items(), key=repr))
        now = frozenset(t for t in targets if t not in self.deferred)
        waiting = deferred | frozenset(t for t in targets if t in self.deferred)
        push = frozenset(pushes)
        if now:
            yield (now, push, bars, waiting)
        elif waiting:
            yield (waiting, push, bars, frozenset())
            if push:
                yield (frozenset(), push, bars, waiting)
        elif push:
            yield (frozenset(), push, bars, frozenset())

    def _successors(self, state: tuple):
        pull, push, bars, deferred = state
        tasks = [("n", n) for n in sorted(pull)] + sorted(push)
        ran = [self.node_of(t) for t in tasks]
        alt_lists = [self.alternatives(r) for r in ran]
        total = 1
        for a in alt_lists:
            total *= len(a)
        if total > 4000:
            raise Infeasible("too many combinations in one step")
        for combo in itertools.product(*alt_lists):
            yield from self._advance(ran, list(combo), bars, deferred)

    def _explore(self, starts: list[tuple], seen: set) -> None:
        todo = [s for s in starts if s not in seen]
        seen.update(todo)
        while todo:
            state = todo.pop()
            for nxt in self._successors(state):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
                    if len(seen) > MAX_STATES:
                        raise Infeasible("too many abstract states")

    def _from_node(self, name: str, base: tuple | None) -> list[tuple]:
        pull, push, bars, deferred = base or (frozenset(), frozenset(), (), frozenset())
        out = []
        for eff in self.alternatives(name):
            for st in self._advance([name], [eff], bars, deferred):
                out.append((pull | st[0], push | st[1], st[2], st[3]))
        return out

    def steps(self, as_nodes: list[str | None], stops: bool) -> list[frozenset]:
        """Every set of tasks that may run in one superstep."""
        seen: set = set()
        self._explore(self._from_node(START, None), seen)
        names = [n for n in as_nodes if n is not None]
        if None in as_nodes:
            names = list(self.nodes)
        if names:
            first = list(seen)
            starts = []
            for name in dict.fromkeys(names):
                starts += self._from_node(name, None)
                if stops:
                    for base in first:
                        starts += self._from_node(name, base)
            self._explore(starts, seen)
        out = set()
        for pull, push, _, _ in seen:
            tasks = frozenset([("n", n) for n in pull] + list(push))
            if tasks:
                out.add(tasks)
        return sorted(out, key=lambda s: sorted(map(repr, s)))


def _single_fanout(step: frozenset) -> int | None:
    sids = {t[1] for t in step if t[0] == "s"}
    if len(sids) == 1 and all(t[0] == "s" for t in step):
        return next(iter(sids))
    return None


def assign_units(spec: dict) -> None:
    """Set ``units`` on every node and Send item of ``spec`` (in place), and
    ``max_concurrency`` of runs to a safe value; raise Infeasible if there is
    no safe timing."""
    model = Model(spec)
    as_nodes = [op.get("as_node") for op in spec["ops"] if op["op"] in ("update", "fork")]
    stops = any(
        n.get("interrupts") or n.get("fail") or n["kind"] in ("sub", "call") for n in spec["nodes"]
    ) or bool(spec["compile"]["ib"] or spec["compile"]["ia"]) or any(
        op.get("ib") or op.get("ia") for op in spec["ops"]
    ) or bool(spec.get("limit"))
    steps = [s for s in model.steps(as_nodes, stops) if len(s) > 1]
    runs = [r for op in spec["ops"] for r in (op, op.get("run")) if r and r.get("op") == "run"]
    # a stream's waiter may hold one of the max_concurrency slots
    limit = min([r["mc"] - 1 for r in runs if r["mc"]] + ([POOL] if not spec["async"] else [10**6]))
    ordered: set[int] = set()  # Send options whose items must finish in order
    # a stream with subgraphs=True shows each subgraph's first chunks as it
    # starts: two subgraphs starting in one step race for the first place
    streams_subgraphs = any(r.get("subgraphs") and r.get("how") == "stream" for r in runs)
    for s in steps:
        if sum(1 for t in s if model.fails(t)) > 1:
            raise Infeasible("two failing tasks in one step")
        if streams_subgraphs and sum(1 for t in s if model.jitter(t)) > 1:
            raise Infeasible("two subgraphs start in one step of a subgraphs=True stream")
        if len(s) > limit:
            sid = _single_fanout(s)
            if sid is None:
                raise Infeasible("a wide step that is not one Send fan-out")
            ordered.add(sid)
    rng = random.Random(spec["seed"])
    tasks = sorted({t for s in steps for t in s}, key=repr)
    rng.shuffle(tasks)
    # items of an ordered fan-out keep their relative order
    for sid in ordered:
        slots = [i for i, t in enumerate(tasks) if t[0] == "s" and t[1] == sid]
        items = sorted((tasks[i] for i in slots), key=lambda t: t[2])
        for i, t in zip(slots, items):
            tasks[i] = t
    tasks.sort(key=model.fails)  # stable: the failing ones last
    member: dict[tuple, list[frozenset]] = {t: [] for t in tasks}
    for s in steps:
        for t in s:
            member[t].append(s)
    units: dict[tuple, int] = {}

    def ok(t: tuple, u: int) -> bool:
        for s in member[t]:
            for b in s:
                if b == t:
                    continue
                if u == 0 and model.jitter(b):  # a subgraph streams as it starts
                    return False
                if b not in units:
                    continue
                ub = units[b]
                if ub == u or (model.jitter(b) and u == ub + 1) or (model.jitter(t) and ub == u + 1):
                    return False
                if model.fails(t) and (u < ub or (model.jitter(b) and u <= ub + 1)):
                    return False
        if t[0] == "s" and t[1] in ordered and t[2] > 0 and u <= units[("s", t[1], t[2] - 1)]:
            return False
        return True

    for t in tasks:
        u = 0
        while not ok(t, u):
            u += 1
            if u > MAX_UNIT:
                raise Infeasible("no pause units fit")
        units[t] = u
    for n in spec["nodes"]:
        n["units"] = units.get(("n", n["name"]), 0)
    for sid, opt in model.sends.items():
        opt["units"] = [units.get(("s", sid, i), 0) for i in range(len(opt["units"]))]
    spec["widest"] = max((len(s) for s in steps), default=1)

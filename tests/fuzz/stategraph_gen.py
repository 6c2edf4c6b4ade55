"""Random StateGraph program specs (plain data; see ``stategraph`` for the shape)."""

from __future__ import annotations

import random
from typing import Any

from tests.fuzz.stategraph_timing import END, START

KEY_KINDS = ["last", "add", "msgs", "merge", "longest"]
MODES = ["values", "updates", "custom", "tasks", "checkpoints", "debug"]


def _keys(rng: random.Random) -> list[list[str]]:
    return [[f"k{i}", rng.choice(KEY_KINDS)] for i in range(rng.choice([0, 1, 1, 2, 2, 3, 4]))]


def _writes(rng: random.Random, keys: list[list[str]]) -> list[list[Any]]:
    out = []
    for name, kind in keys:
        if rng.random() < 0.4:
            over = kind in ("add", "msgs") and rng.random() < 0.25
            out.append([name, over])
    return out


def _inner_nodes(rng: random.Random, depth: int, parent_targets: list[str], saver: bool) -> list[dict]:
    nodes = []
    for i in range(rng.randint(1, 3)):
        inner: dict[str, Any] = {
            "name": "abc"[i],
            "interrupts": 1 if saver and rng.random() < 0.2 else 0,
            "fail": rng.random() < 0.05,
            "parent_goto": None,
            "custom": rng.random() < 0.3,
            "sub": None,
        }
        if depth == 1 and rng.random() < 0.15:
            inner["sub"] = _sub(rng, depth + 1, parent_targets, saver)
        nodes.append(inner)
    if parent_targets and rng.random() < 0.25:
        rng.choice(nodes)["parent_goto"] = rng.choice(parent_targets)
    return nodes


def _sub(rng: random.Random, depth: int, parent_targets: list[str], saver: bool) -> dict:
    return {
        "ckpt": rng.choice(["inherit", "inherit", "inherit", "own", "none"]),
        "full": rng.random() < 0.5,
        "nodes": _inner_nodes(rng, depth, parent_targets if depth == 1 else [], saver),
    }


def _option(rng: random.Random, names: list[str], workers: list[str], sid: list[int], forward: list[str]) -> dict:
    r = rng.random()
    if workers and r < 0.3:
        sid[0] += 1
        return {"kind": "send", "sid": sid[0], "to": rng.choice(workers), "units": [0] * rng.randint(1, 4)}
    if r < 0.45:
        return {"kind": "end"}
    if r < 0.65 and len(names) >= 2:
        return {"kind": "many", "to": sorted(rng.sample(names, 2))}
    pool = forward if forward and rng.random() < 0.75 else names
    return {"kind": "one", "to": rng.choice(pool)}


def _graph(rng: random.Random, spec: dict) -> None:
    n = rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5, 6])
    names = [f"n{i}" for i in range(n)]
    workers = [f"w{i}" for i in range(rng.choice([0, 0, 1, 1, 2]))]
    saver = spec["compile"]["saver"] is not None
    sid = [0]
    nodes = []
    for i, name in enumerate(names):
        node: dict[str, Any] = {
            "name": name,
            "kind": "fn",
            "sync": not spec["async"] or rng.random() < 0.15,
            "units": 0,
            "ret": rng.choice(["dict"] * 7 + ["none"]),
            "writes": _writes(rng, spec["keys"]),
            "goto": None,
            "defer": False,
            "retry": None,
            "fail": rng.random() < 0.06,
            "interrupts": (rng.choice([1, 1, 2]) if rng.random() < (0.18 if saver else 0.02) else 0),
            "custom": rng.random() < 0.3,
            "step": rng.random() < 0.2,
            "sub": None,
        }
        if rng.random() < 0.12:
            fails = rng.randint(1, 2)
            node["retry"] = [fails, fails + rng.choice([0, 1, 1])]
            node["retry_on_flaky"] = rng.random() < 0.4
        r = rng.random()
        if r < 0.12:
            node["kind"] = "sub"
        elif r < 0.18:
            node["kind"] = "call"
        nodes.append(node)
    for w in workers:
        nodes.append({
            "name": w, "kind": "worker", "sync": not spec["async"] or rng.random() < 0.15, "units": 0,
            "ret": "dict", "writes": _writes(rng, spec["keys"]), "goto": None, "defer": False,
            "retry": [1, 2] if rng.random() < 0.1 else None, "fail": rng.random() < 0.04,
            "interrupts": 1 if saver and rng.random() < 0.1 else 0, "custom": rng.random() < 0.3,
            "step": False, "sub": None,
        })
    edges: list[list[str]] = []
    routers: list[dict] = []
    # entry
    if rng.random() < 0.2:
        routers.append(_router(rng, START, names, workers, sid, names))
    else:
        for t in sorted(rng.sample(names, rng.choice([1, 1, 1, 2]) if n > 1 else 1)):
            edges.append([START, t])
    for i, name in enumerate(names):
        forward = names[i + 1:]
        r = rng.random()
        if r < 0.45:
            for _ in range(rng.choice([1, 1, 1, 2])):
                pool = forward if forward and rng.random() < 0.8 else names + [END]
                t = rng.choice(pool)
                if [name, t] not in edges:
                    edges.append([name, t])
        elif r < 0.75:
            routers.append(_router(rng, name, names, workers, sid, forward))
        elif r < 0.9:
            nodes[i]["ret"] = "command"
            nodes[i]["goto"] = [_option(rng, names, workers, sid, forward) for _ in range(rng.randint(1, 3))]
        # else: no way out but END
    for w in workers:
        if rng.random() < 0.7:
            edges.append([w, rng.choice(names + [END])])
    joins = []
    if n >= 3 and rng.random() < 0.25:
        a, b, c = rng.sample(names, 3)
        joins.append([sorted([a, b]), c])
    targets = {d for _, d in edges} | {j[1] for j in joins}
    for r_ in routers:
        for o in r_["options"]:
            targets |= set([o["to"]] if o["kind"] == "one" else o["to"] if o["kind"] == "many" else [])
    for node in nodes[:n]:
        if node["name"] in targets and rng.random() < 0.12:
            node["defer"] = True
    # subgraphs (their Command.PARENT targets are parent nodes)
    for node in nodes[:n]:
        if node["kind"] in ("sub", "call"):
            node["sub"] = _sub(rng, 1, names if node["kind"] == "sub" else [], saver)
    sent = {o["to"] for r_ in routers for o in r_["options"] if o["kind"] == "send"}
    sent |= {o["to"] for nd in nodes for o in nd["goto"] or () if o["kind"] == "send"}
    spec["nodes"] = [nd for nd in nodes if nd["kind"] != "worker" or nd["name"] in sent]
    spec["edges"] = [e for e in edges if e[0] not in workers or e[0] in sent]
    spec["joins"] = joins
    spec["routers"] = routers


def _router(rng: random.Random, src: str, names: list[str], workers: list[str], sid: list[int], forward: list[str]) -> dict:
    options = [_option(rng, names, workers, sid, forward) for _ in range(rng.randint(1, 3))]
    labels = all(o["kind"] in ("one", "end") for o in options)
    return {
        "src": src,
        "options": options,
        "map": rng.choice([None, None, "dict" if labels else None, "list"]),
        "cap": rng.randint(3, 9),
    }


def has_cycle(spec: dict) -> bool:
    succ: dict[str, set[str]] = {}

    def add(a: str, b: str) -> None:
        succ.setdefault(a, set()).add(b)

    for a, b in spec["edges"]:
        add(a, b)
    for srcs, dst in spec["joins"]:
        for s in srcs:
            add(s, dst)
    for r in spec["routers"]:
        for o in r["options"]:
            for t in ([o["to"]] if o["kind"] in ("one", "send") else o["to"] if o["kind"] == "many" else []):
                add(r["src"], t)
    for nd in spec["nodes"]:
        for o in nd["goto"] or ():
            for t in ([o["to"]] if o["kind"] in ("one", "send") else o["to"] if o["kind"] == "many" else []):
                add(nd["name"], t)
        stack = [nd.get("sub")]
        while stack:
            sub = stack.pop()
            if sub:
                for inner in sub["nodes"]:
                    if inner.get("parent_goto"):
                        add(nd["name"], inner["parent_goto"])
                    stack.append(inner.get("sub"))
    state: dict[str, int] = {}

    def visit(v: str) -> bool:
        state[v] = 1
        for w in succ.get(v, ()):
            if state.get(w) == 1 or (w not in state and visit(w)):
                return True
        state[v] = 2
        return False

    return any(v not in state and visit(v) for v in list(succ))


def _run_opts(rng: random.Random, spec: dict, input_: str) -> dict:
    modes = rng.sample(MODES, rng.choice([1, 1, 2, 3]))
    how = rng.choice(["invoke", "stream", "stream", "stream", "invoke_modes"])
    return {
        "op": "run",
        "input": input_,
        "how": how,
        "modes": modes if len(modes) > 1 or rng.random() < 0.3 else modes[0],
        "subgraphs": rng.random() < 0.3,
        "v2": rng.random() < 0.2,
        "durability": rng.choice([None, None, "sync", "async", "exit"]),
        "ib": [],
        "ia": [],
        # 2+: a stream that forwards subgraph/custom output parks a waiter in one
        # of the max_concurrency slots (with 1, stock LangGraph deadlocks)
        "mc": rng.randint(2, 4) if rng.random() < 0.15 else None,
        "thread": "t1",
    }


def _values(rng: random.Random, spec: dict) -> list[list[Any]]:
    vals = [["trail", False]] if rng.random() < 0.7 else []
    for name, kind in spec["keys"]:
        if rng.random() < 0.4:
            vals.append([name, kind in ("add", "msgs") and rng.random() < 0.2])
    return vals


def _ops(rng: random.Random, spec: dict) -> list[dict]:
    names = [n["name"] for n in spec["nodes"]]
    first = _run_opts(rng, spec, "fresh")
    ops = [first]
    saver = spec["compile"]["saver"] is not None
    stoppable = any(n["interrupts"] or n["fail"] for n in spec["nodes"]) or spec["compile"]["ib"] or spec["compile"]["ia"]
    if rng.random() < 0.15:
        which = rng.choice(["ib", "ia"])
        first[which] = sorted(rng.sample(names, 1))
        stoppable = True
    for _ in range(rng.choice([0, 1, 2, 3, 4] if saver else [0, 0, 1])):
        r = rng.random()
        if not saver:
            ops.append(_run_opts(rng, spec, "fresh"))
            if rng.random() < 0.1:
                ops[-1]["thread"] = "t2"
        elif stoppable and r < 0.35:
            ops.append(_run_opts(rng, spec, "resume"))
        elif r < 0.45:
            ops.append({"op": "get_state", "subgraphs": rng.random() < 0.5})
        elif r < 0.55:
            ops.append({"op": "history"})
        elif r < 0.7:
            ops.append({"op": "update", "values": _values(rng, spec),
                        "as_node": rng.choice(names + [None]) if rng.random() < 0.8 else None})
            if rng.random() < 0.7:
                ops.append(_run_opts(rng, spec, "resume"))
        elif r < 0.8:
            ops.append({"op": "replay", "back": rng.randint(0, 6), "run": _run_opts(rng, spec, "none")})
        elif r < 0.9:
            ops.append({"op": "fork", "back": rng.randint(0, 6), "values": _values(rng, spec),
                        "as_node": rng.choice(names + [None]), "run": _run_opts(rng, spec, "none")})
        else:
            ops.append(_run_opts(rng, spec, "fresh"))
            if rng.random() < 0.3:
                ops[-1]["thread"] = "t2"
    if saver and rng.random() < 0.3:
        ops.append({"op": "history"})
    return ops


def generate_raw(rng: random.Random) -> dict:
    spec: dict[str, Any] = {"seed": rng.randrange(2**32), "async": rng.random() < 0.35}
    spec["keys"] = _keys(rng)
    saver = rng.choice([None, "memory", "memory", "memory", "sqlite", "sqlite"])
    if spec["async"] and saver == "sqlite":
        saver = "memory"
    spec["compile"] = {"saver": saver, "ib": [], "ia": []}
    _graph(rng, spec)
    names = [n["name"] for n in spec["nodes"] if n["kind"] != "worker"]
    if rng.random() < 0.1:
        spec["compile"][rng.choice(["ib", "ia"])] = sorted(rng.sample(names, 1))
    keys = ["trail"] + [k for k, _ in spec["keys"]]
    spec["input_keys"] = sorted(rng.sample(keys, rng.randint(1, len(keys)))) if rng.random() < 0.15 else None
    spec["output_keys"] = sorted(rng.sample(keys, rng.randint(1, len(keys)))) if rng.random() < 0.15 else None
    cyclic = has_cycle(spec)
    spec["limit"] = rng.randint(5, 25) if cyclic else (rng.randint(2, 6) if rng.random() < 0.1 else None)
    spec["ops"] = _ops(rng, spec)
    no_saver = spec["compile"]["saver"] is None or any(
        n["sub"]["ckpt"] == "none" for n in spec["nodes"] if n.get("sub")
    )
    for op in spec["ops"]:
        for run in (op, op.get("run")):
            # stock LangGraph raises AttributeError ('_put_checkpoint_fut') after the
            # first step of a graph without checkpointer run with durability="sync"
            if run and run.get("op") == "run" and run["durability"] == "sync" and no_saver:
                run["durability"] = None
    return spec

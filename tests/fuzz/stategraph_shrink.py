"""Smaller variants of a StateGraph program spec, for shrinking a divergent one
(the pause units are assigned again by the caller)."""

from __future__ import annotations

import copy
from collections.abc import Iterator

from tests.fuzz.stategraph_timing import START


def _targets(opt: dict) -> list[str]:
    if opt["kind"] in ("one", "send"):
        return [opt["to"]]
    if opt["kind"] == "many":
        return list(opt["to"])
    return []


def _drop_node(spec: dict, name: str) -> dict | None:
    s = copy.deepcopy(spec)
    s["nodes"] = [n for n in s["nodes"] if n["name"] != name]
    if not any(n["kind"] != "worker" for n in s["nodes"]):
        return None
    s["edges"] = [e for e in s["edges"] if name not in e]
    s["joins"] = [j for j in s["joins"] if name not in j[0] and j[1] != name]
    for r in s["routers"]:
        r["options"] = [o for o in r["options"] if name not in _targets(o)]
    s["routers"] = [r for r in s["routers"] if r["options"] and r["src"] != name]
    for n in s["nodes"]:
        if n["goto"] is not None:
            n["goto"] = [o for o in n["goto"] if name not in _targets(o)]
            if not n["goto"]:
                n["goto"], n["ret"] = None, "dict"
        for sub in _subs(n.get("sub")):
            for inner in sub["nodes"]:
                if inner.get("parent_goto") == name:
                    inner["parent_goto"] = None
    for key in ("ib", "ia"):
        s["compile"][key] = [x for x in s["compile"][key] if x != name]
    for op in s["ops"]:
        for o in (op, op.get("run") or {}):
            if o.get("as_node") == name:
                o["as_node"] = None
            for key in ("ib", "ia"):
                if key in o:
                    o[key] = [x for x in o[key] if x != name]
    if not any(e[0] == START for e in s["edges"]) and not any(r["src"] == START for r in s["routers"]):
        first = next(n["name"] for n in s["nodes"] if n["kind"] != "worker")
        s["edges"].insert(0, [START, first])
    return s


def _subs(sub: dict | None) -> Iterator[dict]:
    while sub:
        yield sub
        nested = [i["sub"] for i in sub["nodes"] if i.get("sub")]
        sub = nested[0] if nested else None


def _drop_key(spec: dict, key: str) -> dict:
    s = copy.deepcopy(spec)
    s["keys"] = [k for k in s["keys"] if k[0] != key]
    for n in s["nodes"]:
        n["writes"] = [w for w in n["writes"] if w[0] != key]
    for field in ("input_keys", "output_keys"):
        if s.get(field):
            s[field] = [k for k in s[field] if k != key] or None
    for op in s["ops"]:
        if "values" in op:
            op["values"] = [v for v in op["values"] if v[0] != key]
    return s


NODE_SIMPLER = [
    ("fail", False), ("interrupts", 0), ("retry", None), ("custom", False), ("step", False),
    ("defer", False), ("writes", []), ("retry_on_flaky", False),
]
RUN_SIMPLER = [
    ("how", "invoke"), ("modes", "values"), ("subgraphs", False), ("v2", False), ("durability", None),
    ("mc", None), ("ib", []), ("ia", []), ("thread", "t1"), ("input", "fresh"),
]


def _with(spec: dict, fn) -> dict:
    s = copy.deepcopy(spec)
    fn(s)
    return s


def smaller(spec: dict) -> Iterator[dict]:
    ops = spec["ops"]
    for i in range(len(ops) - 1, 0, -1):
        yield _with(spec, lambda s, i=i: s["ops"].pop(i))
    for node in reversed(spec["nodes"]):
        if (s := _drop_node(spec, node["name"])) is not None:
            yield s
    for key, _ in spec["keys"]:
        yield _drop_key(spec, key)
    for i, e in enumerate(spec["edges"]):
        if e[0] != START or sum(1 for x in spec["edges"] if x[0] == START) > 1:
            yield _with(spec, lambda s, i=i: s["edges"].pop(i))
    if spec["joins"]:
        yield _with(spec, lambda s: s["joins"].clear())
    for ri, r in enumerate(spec["routers"]):
        for oi in range(len(r["options"])):
            if len(r["options"]) > 1:
                yield _with(spec, lambda s, ri=ri, oi=oi: s["routers"][ri]["options"].pop(oi))
        if r["map"]:
            yield _with(spec, lambda s, ri=ri: s["routers"][ri].update(map=None))
    for ni, node in enumerate(spec["nodes"]):
        if node["kind"] in ("sub", "call"):
            yield _with(spec, lambda s, ni=ni: s["nodes"][ni].update(kind="fn", sub=None))
        if node["ret"] == "command":
            yield _with(spec, lambda s, ni=ni: s["nodes"][ni].update(ret="dict", goto=None))
        elif node["ret"] == "none":
            yield _with(spec, lambda s, ni=ni: s["nodes"][ni].update(ret="dict"))
        if node["goto"] and len(node["goto"]) > 1:
            for oi in range(len(node["goto"])):
                yield _with(spec, lambda s, ni=ni, oi=oi: s["nodes"][ni]["goto"].pop(oi))
        for field, simple in NODE_SIMPLER:
            if node.get(field, simple) != simple:
                yield _with(spec, lambda s, ni=ni, f=field, v=simple: s["nodes"][ni].update({f: v}))
        for depth, sub in enumerate(_subs(node.get("sub"))):
            for ii, inner in enumerate(sub["nodes"]):
                def at(s: dict, ni=ni, depth=depth) -> dict:
                    return list(_subs(s["nodes"][ni]["sub"]))[depth]
                if len(sub["nodes"]) > 1:
                    yield _with(spec, lambda s, at=at, ii=ii: at(s)["nodes"].pop(ii))
                for field, simple in (("fail", False), ("interrupts", 0), ("custom", False), ("parent_goto", None), ("sub", None)):
                    if inner.get(field) != simple:
                        yield _with(spec, lambda s, at=at, ii=ii, f=field, v=simple: at(s)["nodes"][ii].update({f: v}))
            if sub["ckpt"] != "inherit":
                yield _with(spec, lambda s, at=lambda s, ni=ni, d=depth: list(_subs(s["nodes"][ni]["sub"]))[d]: at(s).update(ckpt="inherit"))
    for oi, op in enumerate(ops):
        run = op if op["op"] == "run" else op.get("run")
        if not run:
            continue
        for field, simple in RUN_SIMPLER:
            if field == "input" and op["op"] != "run":
                continue
            if run[field] != simple:
                def change(s: dict, oi=oi, f=field, v=simple) -> None:
                    o = s["ops"][oi]
                    (o if o["op"] == "run" else o["run"])[f] = v
                yield _with(spec, change)
    for key in ("ib", "ia"):
        if spec["compile"][key]:
            yield _with(spec, lambda s, k=key: s["compile"].update({k: []}))
    for field in ("input_keys", "output_keys"):
        if spec.get(field):
            yield _with(spec, lambda s, f=field: s.update({f: None}))
    if spec["compile"]["saver"] == "sqlite":
        yield _with(spec, lambda s: s["compile"].update(saver="memory"))
    if spec["async"]:
        def to_sync(s: dict) -> None:
            s["async"] = False
            for n in s["nodes"]:
                n["sync"] = True
        yield _with(spec, to_sync)

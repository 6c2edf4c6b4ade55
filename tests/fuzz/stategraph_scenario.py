"""Render the scenario of a StateGraph program: ``run(graph, rec)``, the runs,
resumes, state reads and updates, replays and forks its spec lists."""

from __future__ import annotations

from typing import Any

def value_expr(kind: str, tag: str, t: str, over: bool = False) -> str:
    """Source of a value written to a key of this kind (``t`` is an expression)."""
    if kind == "last":
        return f'f"{tag}/{{{t}}}"'
    if kind == "add":
        v = f'[f"{tag}/{{{t}}}"]'
    elif kind == "msgs":
        v = f'[HumanMessage(content=f"{tag}/{{{t}}}", id=f"{tag}-{{{t} % 2}}")]'
    elif kind == "merge":
        return f'{{"{tag}": {t}}}'
    else:  # longest
        return f'f"{tag}{{{t}}}"'
    return f"Overwrite({v})" if over else v




def input_expr(spec: dict, tag: str) -> str:
    kinds = dict(spec["keys"], trail="add")
    keys = spec.get("input_keys") or list(kinds)
    parts = [f"{k!r}: {value_expr(kinds[k], tag, '0')}" for k in keys]
    return "{" + ", ".join(parts) + "}"


def values_expr(spec: dict, values: list[list[Any]], tag: str) -> str:
    kinds = dict(spec["keys"], trail="add")
    return "{" + ", ".join(f"{k!r}: {value_expr(kinds[k], tag, '1', over)}" for k, over in values if k in kinds) + "}"


def _kwargs(op: dict, invoke: bool) -> str:
    kw = []
    if not invoke or op["how"].endswith("_modes"):
        kw.append(f"stream_mode={op['modes']!r}")
    if not invoke and op["subgraphs"]:
        kw.append("subgraphs=True")
    if op["v2"]:
        kw.append('version="v2"')
    if op["durability"]:
        kw.append(f"durability={op['durability']!r}")
    if op["ib"]:
        kw.append(f"interrupt_before={op['ib']!r}")
    if op["ia"]:
        kw.append(f"interrupt_after={op['ia']!r}")
    return "".join(", " + k for k in kw)


def _call(src: Any, spec: dict, op: dict, inp: str, cfg: str, indent: str) -> None:
    aw = "await " if spec["async"] else ""
    invoke = op["how"].startswith("invoke")
    if invoke:
        fn = "ainvoke" if spec["async"] else "invoke"
        src.add(f"{indent}rec.append(clean({aw}graph.{fn}({inp}, {cfg}{_kwargs(op, True)})))")
    else:
        fn = "astream" if spec["async"] else "stream"
        loop = "async for" if spec["async"] else "for"
        src.add(
            f"{indent}{loop} chunk in graph.{fn}({inp}, {cfg}{_kwargs(op, False)}):",
            f"{indent}    rec.append(clean(chunk))",
            f'{indent}rec.append("end of stream")',
        )


def _history(spec: dict, cfg: str) -> str:
    if spec["async"]:
        return f"[s async for s in graph.aget_state_history({cfg})]"
    return f"list(graph.get_state_history({cfg}))"


def render_run(src: Any, spec: dict) -> None:
    aw = "await " if spec["async"] else ""
    a = "a" if spec["async"] else ""
    limit = spec.get("limit")
    src.add(f"{'async def' if spec['async'] else 'def'} run(graph: Any, rec: list) -> None:")
    thread = "t1"
    for i, op in enumerate(spec["ops"]):
        kind = op["op"]
        if kind == "run":
            thread = op["thread"]
        here = f"config({thread!r}, None, None)"
        src.add(f"    # {i}: {kind}", "    try:")
        if kind == "run":
            src.add(f"        cfg = config({thread!r}, {limit!r}, {op['mc']!r})")
            if op["input"] == "fresh":
                inp = input_expr(spec, f"in{i}")
            elif op["input"] == "resume":
                src.add(f"        inp = {aw}{a}resume_input(graph, cfg)")
                inp = "inp"
            else:
                inp = "None"
            _call(src, spec, op, inp, "cfg", "        ")
        elif kind == "get_state":
            sub = ", subgraphs=True" if op["subgraphs"] else ""
            src.add(f"        rec.append(clean({aw}graph.{a}get_state({here}{sub})))")
        elif kind == "history":
            src.add(f"        rec.append(clean({_history(spec, here)}))")
        elif kind == "update":
            vals = values_expr(spec, op["values"], f"up{i}")
            src.add(f"        rec.append({aw}graph.{a}update_state({here}, {vals}, as_node={op['as_node']!r}))")
        elif kind in ("replay", "fork"):
            run = op["run"]
            src.add(f"        base = past({_history(spec, here)}, {op['back']}).config")
            if kind == "fork":
                vals = values_expr(spec, op["values"], f"up{i}")
                src.add(
                    f"        base = {aw}graph.{a}update_state(base, {vals}, as_node={op['as_node']!r})",
                    "        rec.append(base)",
                )
            src.add(f"        cfg = config({thread!r}, {limit!r}, {run['mc']!r}, base)")
            _call(src, spec, run, "None", "cfg", "        ")
        src.add("    except Exception as exc:", "        rec.append(failure(exc))")
    src.add("")

"""Render a StateGraph program spec as Python source (``build()`` and ``run()``)."""

from __future__ import annotations

from typing import Any

from tests.fuzz.stategraph_scenario import render_run, value_expr
from tests.fuzz.stategraph_timing import END, START

KEY_TYPES = {
    "last": "str",
    "add": "Annotated[list, operator.add]",
    "msgs": "Annotated[list, add_messages]",
    "merge": "Annotated[dict, merge]",
    "longest": "Annotated[str, longest]",
}


def _q(name: str) -> str:
    return "END" if name == END else "START" if name == START else repr(name)


def _send(opt: dict) -> str:
    return ", ".join(f'Send({opt["to"]!r}, {{"item": {i}, "units": {u}}})' for i, u in enumerate(opt["units"]))


def option_expr(opt: dict, labels: dict[str, str] | None = None) -> str:
    kind = opt["kind"]
    if kind == "send":
        return f"[{_send(opt)}]"
    if kind == "end":
        return repr(labels["__end__"]) if labels else "END"
    if kind == "one":
        return repr(labels[opt["to"]]) if labels else repr(opt["to"])
    return repr(opt["to"])


class Source:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _header(spec: dict, src: Source) -> None:
    kinds = {k for _, k in spec["keys"]}
    src.add(
        '"""A generated StateGraph program (tests.fuzz.stategraph)."""',
        "",
        "import operator",
        "from typing import Annotated, Any",
        "",
        "from typing_extensions import TypedDict",
        "",
    )
    if "msgs" in kinds:
        src.add("from langchain_core.messages import HumanMessage")
    src.add(
        "from langchain_core.runnables import RunnableConfig",
        "from langgraph.config import get_stream_writer",
        "from langgraph.graph import END, START, StateGraph",
    )
    if "msgs" in kinds:
        src.add("from langgraph.graph.message import add_messages")
    saver = spec["compile"]["saver"]
    if saver == "memory":
        src.add("from langgraph.checkpoint.memory import InMemorySaver")
    elif saver == "sqlite":
        src.add("import sqlite3", "from langgraph.checkpoint.sqlite import SqliteSaver")
    src.add(
        "from langgraph.types import Command, Overwrite, RetryPolicy, Send, interrupt",
        "",
        "from tests.fuzz.stategraph_runtime import aresume_input, clean, config, failure, past, resume_input",
        "from tests.fuzz.support import ahalf_pause, apause, half_pause, pause",
        "",
        "",
        "class Flaky(Exception):",
        "    pass",
        "",
        "",
        "class Boom(Exception):",
        "    pass",
        "",
        "",
    )
    if "merge" in kinds:
        src.add("def merge(a: dict, b: dict) -> dict:", "    return {**a, **b}", "", "")
    if "longest" in kinds:
        src.add("def longest(a: str, b: str) -> str:", "    return b if len(b) >= len(a) else a", "", "")
    src.add("class State(TypedDict):", "    trail: Annotated[list, operator.add]")
    for name, kind in spec["keys"]:
        src.add(f"    {name}: {KEY_TYPES[kind]}")
    for node in spec["nodes"]:
        if node["kind"] == "sub":
            src.add(f"    {node['name']}_note: str")
    src.add("", "")
    types = dict(spec["keys"], trail="add")
    for cls, keys in (("In", spec.get("input_keys")), ("Out", spec.get("output_keys"))):
        if keys:
            src.add(f"class {cls}(TypedDict):")
            for k in keys:
                src.add(f"    {k}: {KEY_TYPES[types[k]]}")
            src.add("", "")
    if any(n["kind"] == "worker" for n in spec["nodes"]):
        src.add("class Item(TypedDict):", "    item: int", "    units: int", "", "")
    src.add("CALLS: dict[str, int] = {}", "SUBS: dict[str, Any] = {}", "", "")
    src.add("def hit(name: str) -> int:", "    CALLS[name] = CALLS.get(name, 0) + 1", "    return CALLS[name]", "", "")


def _pause(is_async: bool, units: str) -> str:
    return f"await apause({units})" if is_async else f"pause({units})"


def _half_pause(is_async: bool) -> str:
    return "await ahalf_pause()" if is_async else "half_pause()"


def _body(
    src: Source,
    spec: dict,
    node: dict,
    tag: str,
    is_async: bool,
    t_expr: str,
    units: str,
    result: str,
    extra: tuple[str, ...] = (),
) -> None:
    """Lines shared by nodes: retry failures, pause, stream write, interrupts, failure."""
    retry = node.get("retry")
    if retry:
        fails, attempts = retry
        src.add(f"    c = hit({tag!r})", f"    if c <= {fails}:")
        if attempts <= fails:  # retries run out: the last attempt finishes like the node would, then fails
            src.add(f"        if c == {attempts}:")
            if units != "0":
                src.add(f"            {_pause(is_async, units)}")
            src.add(f"            {_half_pause(is_async)}")
        src.add(f'        raise Flaky(f"{tag} attempt {{c}}")')
    if units != "0":
        src.add(f"    {_pause(is_async, units)}")
    src.add(*extra, f"    t = {t_expr}")
    mark = f"{tag}/{{t}}"
    if node.get("step"):
        src.add('    step = config["metadata"]["langgraph_step"]')
        mark += "@{step}"
    if node.get("custom"):
        src.add(f'    get_stream_writer()({{"node": {tag!r}, "t": t}})')
    for i in range(node.get("interrupts", 0)):
        src.add(f'    ans{i} = interrupt({{"node": {tag!r}, "t": t, "n": {i}}})')
        mark += f"/{{ans{i}}}"
    if node.get("fail"):
        src.add(f"    {_half_pause(is_async)}", f'    raise Boom(f"{tag} broke at {{t}}")')
        return
    src.add(f'    mark = f"{mark}"')
    src.add(f"    {result}")


def _update(spec: dict, node: dict, t: str) -> str:
    kinds = dict(spec["keys"])
    parts = ['"trail": [mark]']
    for key, over in node["writes"]:
        if key in kinds:
            parts.append(f"{key!r}: {value_expr(kinds[key], node['name'], t, over)}")
    return "{" + ", ".join(parts) + "}"


def _node(src: Source, spec: dict, node: dict) -> None:
    name = node["name"]
    is_async = spec["async"] and not node["sync"]
    d = "async def" if is_async else "def"
    if node["kind"] == "sub":
        return
    if node["kind"] == "worker":
        src.add(f"{d} {name}(state: Item) -> Any:")
        t_expr = 'state["item"]'
        units = 'state["units"]'
    else:
        params = "state: State, config: RunnableConfig" if node.get("step") else "state: State"
        src.add(f"{d} {name}({params}) -> Any:")
        t_expr = 'len(state["trail"])'
        units = str(node["units"])
    update = _update(spec, node, "t")
    extra: tuple[str, ...] = ()
    if node["kind"] == "call":
        call = f'await SUBS[{name!r}].ainvoke({{"trail": []}})' if is_async else f'SUBS[{name!r}].invoke({{"trail": []}})'
        extra = (f"    inner = {call}",)
        update = update.replace('"trail": [mark]', '"trail": [mark + ":" + repr(inner)]')
    if node["ret"] == "none":
        result = "return None"
    elif node["ret"] == "command":
        opts = ", ".join(option_expr(o) for o in node["goto"])
        result = f"return Command(update={update}, goto=[{opts}][t % {len(node['goto'])}])"
    else:
        result = f"return {update}"
    _body(src, spec, node, name, is_async, t_expr, units, result, extra)
    src.add("", "")


def _subgraph(src: Source, spec: dict, prefix: str, sub: dict, units: int, is_async: bool) -> None:
    """A compiled subgraph ``make_<prefix>()``: a chain of inner nodes."""
    for inner in sub["nodes"]:
        if inner.get("sub"):
            _subgraph(src, spec, f"{prefix}_{inner['name']}", inner["sub"], 0, is_async)
    src.add(f"class Sub_{prefix}(TypedDict):", "    trail: Annotated[list, operator.add]", f"    {prefix}_note: str")
    for inner in sub["nodes"]:
        if inner.get("sub"):
            src.add(f"    {prefix}_{inner['name']}_note: str")
    src.add("", "")
    if not sub.get("full"):  # only the note goes back: a shared reducer key would grow on every pass
        src.add(f"class SubOut_{prefix}(TypedDict):", f"    {prefix}_note: str", "", "")
    for i, inner in enumerate(sub["nodes"]):
        if inner.get("sub"):
            continue
        fname = f"{prefix}_{inner['name']}"
        tag = f"{prefix}.{inner['name']}"
        upd = f'{{"trail": [mark], "{prefix}_note": mark}}'
        if inner.get("parent_goto"):
            result = f'return Command(graph=Command.PARENT, goto={inner["parent_goto"]!r}, update={{"trail": [mark]}})'
        else:
            result = f"return {upd}"
        src.add(f"{'async def' if is_async else 'def'} {fname}(state: Sub_{prefix}) -> Any:")
        _body(src, spec, inner, tag, is_async, 'len(state["trail"])', str(units if i == 0 else 0), result)
        src.add("", "")
    ckpt = {"inherit": "None", "own": "True", "none": "False"}[sub["ckpt"]]
    out = "" if sub.get("full") else f", output_schema=SubOut_{prefix}"
    src.add(f"def make_{prefix}() -> Any:", f"    g = StateGraph(Sub_{prefix}{out})")
    prev = "START"
    for inner in sub["nodes"]:
        target = f"make_{prefix}_{inner['name']}()" if inner.get("sub") else f"{prefix}_{inner['name']}"
        src.add(f"    g.add_node({inner['name']!r}, {target})", f"    g.add_edge({prev}, {inner['name']!r})")
        prev = repr(inner["name"])
    src.add(f"    return g.compile(checkpointer={ckpt})", "", "")


def _router(src: Source, spec: dict, r: dict) -> str:
    """Define the router; return the path_map argument source (or '')."""
    fname = "route_start" if r["src"] == START else f"route_{r['src']}"
    labels = None
    path_map = ""
    if r["map"] == "dict":
        labels = {"__end__": "stop"}
        for o in r["options"]:
            if o["kind"] == "one":
                labels[o["to"]] = f"to_{o['to']}"
        path_map = "{" + ", ".join(f"{lab!r}: {_q(tgt)}" for tgt, lab in labels.items()) + "}"
    elif r["map"] == "list":
        ends = {END}
        for o in r["options"]:
            if o["kind"] == "one":
                ends.add(o["to"])
            elif o["kind"] == "many":
                ends.update(o["to"])
        path_map = "[" + ", ".join(_q(e) for e in sorted(ends)) + "]"
    opts = ", ".join(option_expr(o, labels) for o in r["options"])
    stop = repr(labels["__end__"]) if labels else "END"
    src.add(
        f"def {fname}(state: State) -> Any:",
        '    t = len(state["trail"])',
        f"    if t >= {r['cap']}:",
        f"        return {stop}",
        f"    return [{opts}][t % {len(r['options'])}]",
        "",
        "",
    )
    return f"{fname}, {path_map}" if path_map else fname


def _retry(node: dict) -> str:
    retry = node.get("retry")
    if not retry:
        return ""
    on = ", retry_on=Flaky" if node.get("retry_on_flaky") else ""
    return f", retry_policy=RetryPolicy(max_attempts={retry[1]}, initial_interval=0.0, jitter=False{on})"


def render(spec: dict) -> str:
    src = Source()
    _header(spec, src)
    for node in spec["nodes"]:
        if node["kind"] in ("sub", "call"):
            _subgraph(src, spec, node["name"], node["sub"], node["units"] if node["kind"] == "sub" else 0,
                      spec["async"] and not node["sync"])
        _node(src, spec, node)
    routers = [(r, _router(src, spec, r)) for r in spec["routers"]]
    src.add("def build() -> Any:", "    CALLS.clear()", "    SUBS.clear()")
    schema = "State"
    if spec.get("input_keys"):
        schema += ", input_schema=In"
    if spec.get("output_keys"):
        schema += ", output_schema=Out"
    src.add(f"    g = StateGraph({schema})")
    for node in spec["nodes"]:
        name = node["name"]
        target = f"make_{name}()" if node["kind"] == "sub" else name
        if node["kind"] == "call":
            src.add(f"    SUBS[{name!r}] = make_{name}()")
        extra = (", defer=True" if node.get("defer") else "") + _retry(node)
        src.add(f"    g.add_node({name!r}, {target}{extra})")
    for a, b in spec["edges"]:
        src.add(f"    g.add_edge({_q(a)}, {_q(b)})")
    for srcs, dst in spec["joins"]:
        src.add(f"    g.add_edge({srcs!r}, {dst!r})")
    for r, args in routers:
        src.add(f"    g.add_conditional_edges({_q(r['src'])}, {args})")
    saver = spec["compile"]["saver"]
    if saver == "memory":
        src.add("    saver = InMemorySaver()")
    elif saver == "sqlite":
        src.add('    saver = SqliteSaver(sqlite3.connect(":memory:", check_same_thread=False))')
    else:
        src.add("    saver = None")
    kw = "checkpointer=saver"
    for key, arg in (("ib", "interrupt_before"), ("ia", "interrupt_after")):
        if spec["compile"][key]:
            kw += f", {arg}={spec['compile'][key]!r}"
    src.add(f"    return g.compile({kw}), saver", "", "")
    render_run(src, spec)
    return src.text()

"""Shared pieces of the ecosystem differential tests (tests/test_diff_ecosystem*.py):
tools with every kind of injection, the comparison, stream helpers.

Checkpointed runs give every ToolMessage an id as the tool returns it
(``tool_ids`` as ``wrap_tool_call``): stock LangGraph saves a task's writes on a
background thread while ``add_messages`` gives the same message objects ids in
place, so whether a saved pending write holds an id is a race on stock.
"""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import InjectedToolCallId, tool
from langgraph.prebuilt import InjectedState, InjectedStore, ToolRuntime
from langgraph.types import Command

from tests.diff import run_both
from tests.fuzz.runner import _rename_random_ids
from tests.fuzz.support import pause

CFG = {"configurable": {"thread_id": "1"}}
MODES = ["updates", "values", "custom", "messages", "tasks", "tools"]
# parallel tool calls start together: "tools" mode's tool-started events come in
# a fixed order only when one tool runs at a time
PARALLEL_MODES = MODES[:-1]


def assert_same(build: Any, scenario: Any, error: type | None = None) -> None:
    """Both engines give the same outcome, random message ids renamed in order of
    appearance; ``error`` is what stock raises (so a scenario that breaks on
    both engines alike does not pass unnoticed)."""
    stock, rs = run_both(build, scenario, CFG)
    assert (stock.error and stock.error[0]) is error, stock.error  # the scenario runs as meant
    got = _rename_random_ids((rs.error, rs.value, rs.history))
    want = _rename_random_ids((stock.error, stock.value, stock.history))
    for part, g, w in zip(("error", "value", "history"), got, want):
        assert g == w, f"{part} differs: {_first_difference(g, w)}"


def _first_difference(got: Any, want: Any) -> str:
    """Where two outcomes part: the first differing item of a list, both sides."""
    if isinstance(got, list) and isinstance(want, list):
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                return f"item {i}:\n ours  {g!r}\n stock {w!r}"
        return f"lengths {len(got)} (ours) and {len(want)} (stock)"
    return f"\n ours  {got!r}\n stock {want!r}"


def tool_ids(request: Any, execute: Any) -> Any:
    out = execute(request)
    if isinstance(out, ToolMessage) and out.id is None:
        out.id = f"tool-{request.tool_call['id']}"
    return out


async def atool_ids(request: Any, execute: Any) -> Any:
    out = await execute(request)
    if isinstance(out, ToolMessage) and out.id is None:
        out.id = f"tool-{request.tool_call['id']}"
    return out


def stream(graph: Any, inp: Any, **kw: Any) -> list:
    return list(graph.stream(inp, CFG, **kw))


async def astream(graph: Any, inp: Any, **kw: Any) -> list:
    return [c async for c in graph.astream(inp, CFG, **kw)]


# -- tools: one of each kind of injection; parallel calls finish in a fixed order --


@tool
def whole_state(q: str, state: Annotated[dict, InjectedState]) -> str:
    """Reads the whole state."""
    pause(1)  # parallel calls finish in a fixed order
    return f"{q}: {len(state['messages'])} messages, keys {sorted(state)}"


@tool
def messages_field(q: str, messages: Annotated[list, InjectedState("messages")]) -> str:
    """Reads one state key."""
    pause(2)  # parallel calls finish in a fixed order
    return f"{q}: last {messages[-1].content!r}"


@tool
def remember(q: str, store: Annotated[Any, InjectedStore()]) -> str:
    """Writes to the store, lists it."""
    pause(3)  # parallel calls finish in a fixed order
    store.put(("notes",), q, {"q": q})
    return f"{q}: " + ",".join(sorted(i.key for i in store.search(("notes",))))


@tool
def with_runtime(q: str, runtime: ToolRuntime) -> str:
    """Reads the tool runtime."""
    pause(4)  # parallel calls finish in a fixed order
    runtime.stream_writer({"tool": q})
    conf = runtime.config
    return (
        f"{q}: {runtime.tool_call_id} {sorted(runtime.state)} ctx={runtime.context} "
        f"store={runtime.store is not None} node={conf['metadata']['langgraph_node']} "
        f"ns={conf['configurable']['checkpoint_ns'].split(':')[0]} tools={len(runtime.tools)}"
    )


@tool
def commanding(q: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> Command:
    """Returns a Command."""
    pause(5)  # parallel calls finish in a fixed order
    msg = ToolMessage(f"{q}: done", tool_call_id=tool_call_id, id=f"cmd-{tool_call_id}")
    return Command(update={"messages": [msg]})


@tool
def failing(q: str) -> str:
    """Raises."""
    pause(6)  # parallel calls finish in a fixed order
    raise ValueError(f"{q} is broken")


TOOLS = [whole_state, messages_field, remember, with_runtime, commanding, failing]


def script_all(turns: int) -> list:
    return [[(t.name, {"q": f"{t.name}{k}"}) for t in TOOLS] for k in range(turns)] + ["finished"]

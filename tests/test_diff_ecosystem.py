"""Code users install next to LangGraph, on both engines: the prebuilt ``ToolNode``
(called by an edge and by ``Send``) with injected state, store and runtime,
``create_react_agent``, langchain's ``create_agent`` with middleware,
langgraph-supervisor and langgraph-swarm. Offline: the chat models are
:class:`tests.fuzz.scripted_model.ScriptedChatModel`.

Everything is compared (tests/diff.py): results, every stream chunk, whole
checkpoint histories, errors. Random message ids (uuid4 from ``add_messages``,
run ids of chat models) are renamed in order of appearance first.

Checkpointed runs give every ToolMessage an id as the tool returns it
(``wrap_tool_call``): stock LangGraph saves a task's writes on a background
thread while ``add_messages`` gives the same message objects ids in place, so
whether a saved pending write holds an id is a race on stock.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import InjectedToolCallId, tool
from langgraph._internal._runnable import RunnableCallable
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.config import get_config
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import InjectedState, InjectedStore, ToolNode, ToolRuntime, tools_condition
from langgraph.prebuilt.tool_node import ToolCallWithContext
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command, Send

from tests.diff import run_both
from tests.fuzz.runner import _rename_random_ids
from tests.fuzz.scripted_model import ScriptedChatModel
from tests.fuzz.support import pause

CFG = {"configurable": {"thread_id": "1"}}
MODES = ["updates", "values", "custom", "messages", "tasks", "tools"]
# parallel tool calls start together: "tools" mode's tool-started events come in
# a fixed order only when one tool runs at a time
PARALLEL_MODES = MODES[:-1]


def assert_same(build: Any, scenario: Any, error: type | None = None) -> None:
    stock, rs = run_both(build, scenario, CFG)
    assert (stock.error and stock.error[0]) is error, stock.error  # the scenario runs as meant
    got = _rename_random_ids((rs.error, rs.value, rs.history))
    want = _rename_random_ids((stock.error, stock.value, stock.history))
    assert got[0] == want[0]
    assert got[1] == want[1]
    assert got[2] == want[2]


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


# -- tools ---------------------------------------------------------------------


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


# -- ToolNode ------------------------------------------------------------------


def tool_graph(route: Any, *, checkpointer: bool, ids: bool = True, handle: bool = True) -> Any:
    model = ScriptedChatModel(script=script_all(2), stream_tokens=True)

    def agent(state: MessagesState) -> dict:
        return {"messages": [model.invoke(state["messages"])]}

    def build():
        wrap = {"wrap_tool_call": tool_ids, "awrap_tool_call": atool_ids} if ids else {}
        node = ToolNode(TOOLS, handle_tool_errors=handle, **wrap)
        g = StateGraph(MessagesState)
        g.add_node("agent", agent)
        g.add_node("tools", node)
        g.add_edge(START, "agent")
        g.add_conditional_edges("agent", route, ["tools", END])
        g.add_edge("tools", "agent")
        saver = InMemorySaver() if checkpointer else None
        return g.compile(checkpointer=saver, store=InMemoryStore()), saver

    return build


def by_send(state: MessagesState) -> Any:
    calls = state["messages"][-1].tool_calls
    return [Send("tools", [c]) for c in calls] if calls else END


def by_send_with_context(state: MessagesState) -> Any:
    calls = state["messages"][-1].tool_calls
    return [
        Send("tools", ToolCallWithContext(__type="tool_call_with_context", tool_call=c, state=state))
        for c in calls
    ] if calls else END


@pytest.mark.parametrize("route", [tools_condition, by_send, by_send_with_context])
@pytest.mark.parametrize("checkpointer", [True, False])
def test_tool_node(route: Any, checkpointer: bool) -> None:
    build = tool_graph(route, checkpointer=checkpointer, ids=checkpointer)
    assert_same(build, lambda g: stream(g, {"messages": [HumanMessage("hi", id="h")]}, stream_mode=PARALLEL_MODES))


@pytest.mark.parametrize("route", [tools_condition, by_send])
def test_tool_node_tool_raises(route: Any) -> None:
    build = tool_graph(route, checkpointer=True, handle=False)
    assert_same(build, lambda g: stream(g, {"messages": [HumanMessage("hi", id="h")]}, stream_mode=PARALLEL_MODES), ValueError)


@pytest.mark.parametrize("route", [tools_condition, by_send])
def test_tool_node_async(route: Any) -> None:
    build = tool_graph(route, checkpointer=True)
    assert_same(build, lambda g: astream(g, {"messages": [HumanMessage("hi", id="h")]}, stream_mode=PARALLEL_MODES, subgraphs=True))


def test_tool_node_send_reads_the_state_of_the_step() -> None:
    """A ``Send``-called ToolNode reads the state through the task's read function
    (``read.args[1]`` are the channels): the step's state, not the Send's payload."""

    def build():
        def agent(state: MessagesState) -> dict:
            calls = [{"name": "whole_state", "args": {"q": str(i)}, "id": f"c{i}"} for i in range(3)]
            return {"messages": [AIMessage("", id="a", tool_calls=calls)]}

        def extra(state: MessagesState) -> dict:
            return {"messages": [HumanMessage("sibling", id="s")]}

        g = StateGraph(MessagesState)
        g.add_node("agent", agent)
        g.add_node("extra", extra)
        g.add_node("tools", ToolNode([whole_state, messages_field]))
        g.add_edge(START, "agent")
        g.add_edge("agent", "extra")
        g.add_conditional_edges("agent", by_send, ["tools", END])
        return g.compile(), None

    assert_same(build, lambda g: g.invoke({"messages": [HumanMessage("hi", id="h")]}))


# -- what a callee with its own callback handlers sees -------------------------


class Recorder(BaseCallbackHandler):
    """Records the runs it is told about (name, tags, node metadata, parent)."""

    def __init__(self, log: list) -> None:
        self.log = log
        self.runs: dict = {}

    def _record(self, event: str, run_id: Any, parent_run_id: Any, name: Any, tags: Any, metadata: Any) -> None:
        self.runs[run_id] = len(self.runs)
        node = {k: v for k, v in (metadata or {}).items() if k.startswith("langgraph_") or k == "user"}
        self.log.append((event, name, tags, node, self.runs.get(parent_run_id, parent_run_id is None)))

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: Any, parent_run_id: Any = None, tags: Any = None, metadata: Any = None, **kw: Any) -> None:
        self._record("model", run_id, parent_run_id, kw.get("name"), tags, metadata)

    def on_tool_start(self, serialized: Any, input_str: Any, *, run_id: Any, parent_run_id: Any = None, tags: Any = None, metadata: Any = None, **kw: Any) -> None:
        self._record("tool", run_id, parent_run_id, kw.get("name"), tags, metadata)

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: Any, parent_run_id: Any = None, tags: Any = None, metadata: Any = None, **kw: Any) -> None:
        self._record("chain", run_id, parent_run_id, kw.get("name"), tags, metadata)


def callee_graph(log: list) -> Any:
    """No callback handler at the graph level (the engine may skip the node's own
    callback run), but the model, a tool and a router's runnable bring their own."""
    model = ScriptedChatModel(script=[[("whole_state", {"q": "a"})], "done"], callbacks=[Recorder(log)])
    checker = RunnableLambda(lambda x: x, name="checker").with_config(callbacks=[Recorder(log)])
    whole = whole_state.model_copy(update={"callbacks": [Recorder(log)]})

    def agent(state: MessagesState, config: RunnableConfig) -> dict:
        log.append(("node config", sorted(config), sorted(get_config())))
        return {"messages": [model.invoke(state["messages"], config)]}

    async def aagent(state: MessagesState, config: RunnableConfig) -> dict:
        log.append(("node config", sorted(config), sorted(get_config())))
        return {"messages": [await model.ainvoke(state["messages"], config)]}

    def route(state: MessagesState, config: RunnableConfig) -> str:
        log.append(("router config", sorted(config)))
        checker.invoke(1, config)
        return tools_condition(state)

    def build():
        g = StateGraph(MessagesState)
        g.add_node("agent", RunnableCallable(agent, aagent))
        g.add_node("tools", ToolNode([whole]))
        g.add_edge(START, "agent")
        g.add_conditional_edges("agent", route)
        g.add_edge("tools", "agent")
        return g.compile(), None

    return build


@pytest.mark.parametrize("run_async", [False, True])
def test_callee_handlers_see_the_node_run(run_async: bool) -> None:
    """A chat model, tool or runnable that carries its own handlers, called with the
    node's config, sees the tags, metadata and parent of the node's run and its own
    name (langgraph_rs once handed nodes its task config: the run name of the
    node renamed the callee's run, and the tags were the step's)."""

    def scenario(graph: Any) -> Any:
        log: list = []
        graph = callee_graph(log)()[0]
        inp = {"messages": [HumanMessage("hi", id="h")]}
        cfg = {"tags": ["mine"], "metadata": {"user": "u"}}
        if run_async:
            out = asyncio.run(graph.ainvoke(inp, cfg))
        else:
            out = graph.invoke(inp, cfg)
        return out, log

    assert_same(callee_graph([]), scenario)

"""Code users install next to LangGraph, on both engines: the prebuilt ``ToolNode``
(called by an edge and by ``Send``) with injected state, store and runtime, and
callees bringing their own callback handlers. Offline: the chat models are
:class:`tests.fuzz.scripted_model.ScriptedChatModel`.

Everything is compared (tests/diff.py): results, every stream chunk, whole
checkpoint histories, errors. Random message ids (uuid4 from ``add_messages``,
run ids of chat models) are renamed in order of appearance first.

Shared pieces (tools, the comparison) are in tests/ecosystem.py; the agents
(``create_react_agent``, ``create_agent``, supervisor, swarm) in
tests/test_diff_ecosystem_agents.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph._internal._runnable import RunnableCallable
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.config import get_config
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.prebuilt.tool_node import ToolCallWithContext
from langgraph.store.memory import InMemoryStore
from langgraph.types import Send

from tests.ecosystem import (
    PARALLEL_MODES,
    TOOLS,
    assert_same,
    astream,
    atool_ids,
    messages_field,
    script_all,
    stream,
    tool_ids,
    whole_state,
)
from tests.fuzz.scripted_model import ScriptedChatModel

pytestmark = pytest.mark.usefixtures("spaced_pauses")  # parallel tool calls in a fixed order


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

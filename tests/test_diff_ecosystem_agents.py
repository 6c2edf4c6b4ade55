"""The agents users install next to LangGraph, on both engines: the prebuilt
``create_react_agent``, langchain's ``create_agent`` with middleware, the
``langgraph_supervisor`` supervisor and the ``langgraph_swarm`` swarm (their
handoffs are ``Command``s to the parent graph, raised from a tool inside a
subgraph). Offline: every agent's chat model is a
:class:`tests.fuzz.scripted_model.ScriptedChatModel` with a prefix of its own.

Compared as in tests/test_diff_ecosystem.py (tests/ecosystem.py). Every scenario
also checks its own result for what it is meant to reach (final answers, tool
messages, handoffs), so one that stops early on both engines does not pass.
Messages a tool makes without an id (handoff ToolMessages, inside a returned
``Command``) get one as the tool returns (``ids``), for the reason given in
tests/ecosystem.py; for the same reason the supervisor's handoff-back messages
(made by its agent nodes, without ids) run without a checkpointer only.
"""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any

import pytest
from langchain.agents import AgentState, create_agent
from langchain.agents.middleware import AgentMiddleware
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.prebuilt import ToolNode, create_react_agent
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command, interrupt
from langgraph_supervisor import create_supervisor
from langgraph_supervisor.handoff import create_handoff_tool as supervisor_handoff
from langgraph_swarm import create_handoff_tool as swarm_handoff
from langgraph_swarm import create_swarm

from tests.ecosystem import (
    CFG,
    MODES,
    PARALLEL_MODES,
    TOOLS,
    assert_same,
    astream,
    messages_field,
    remember,
    script_all,
    stream,
    whole_state,
)
from tests.fuzz.scripted_model import ScriptedChatModel

pytestmark = [
    pytest.mark.filterwarnings("ignore:create_react_agent has been moved"),
    pytest.mark.usefixtures("spaced_pauses"),  # parallel tool calls in a fixed order
]
HI = {"messages": [HumanMessage("hi", id="h")]}
AGAIN = {"messages": [HumanMessage("again", id="h2")]}


def same(build: Any, scenario: Any, *wants: str) -> None:
    """``assert_same``, the result of each engine first checked to show every one of
    ``wants`` (a failed check is an AssertionError that stock raised)."""

    def checked(graph: Any) -> Any:
        out = scenario(graph)
        if asyncio.iscoroutine(out):
            out = asyncio.run(out)
        missing = [w for w in wants if w not in repr(out)]
        assert not missing, f"the scenario did not get to {missing}"
        return out

    assert_same(build, checked)


def _named(request: Any, out: Any) -> Any:
    msgs = out.update.get("messages", []) if isinstance(out, Command) and isinstance(out.update, dict) else [out]
    for m in msgs:
        if isinstance(m, ToolMessage) and m.id is None:
            m.id = f"tool-{request.tool_call['id']}"
    return out


def ids(request: Any, execute: Any) -> Any:  # ``tool_ids``, also for a Command's ToolMessages
    return _named(request, execute(request))


async def aids(request: Any, execute: Any) -> Any:
    return _named(request, await execute(request))


def tool_node(tools: list, **kw: Any) -> ToolNode:
    return ToolNode(tools, wrap_tool_call=ids, awrap_tool_call=aids, **kw)


def one_at_a_time() -> list:
    """A script calling one tool a turn (the "tools" stream mode is in a fixed order)."""
    return [[(t.name, {"q": f"{t.name}0"})] for t in TOOLS] + ["finished"]


# -- create_react_agent ----------------------------------------------------------


def react(script: list | None = None, **kw: Any) -> Any:
    def build() -> tuple[Any, Any]:
        model = ScriptedChatModel(script=script or script_all(2), prefix="react", stream_tokens=True)
        saver = InMemorySaver()
        node = tool_node(TOOLS, handle_tool_errors=True)
        graph = create_react_agent(model, node, checkpointer=saver, store=InMemoryStore(), name="react", **kw)
        return graph, saver

    return build


REACT_RAN = ("react: finished", "whole_state1: ", "remember1: remember0,remember1", "commanding1: done", "failing1 is broken")


@pytest.mark.parametrize(("version", "run_async"), [("v1", False), ("v2", False), ("v2", True)])
def test_react_agent_parallel_tools(version: str, run_async: bool) -> None:
    """Six tool calls a turn (state, one state key, store, runtime, a Command, an
    error), two turns, then a second conversation turn on the same thread."""

    def scenario(graph: Any) -> Any:
        return stream(graph, HI, stream_mode=PARALLEL_MODES), graph.invoke(AGAIN, CFG)

    async def ascenario(graph: Any) -> Any:
        return await astream(graph, HI, stream_mode=PARALLEL_MODES, subgraphs=True), await graph.ainvoke(AGAIN, CFG)

    same(react(version=version), ascenario if run_async else scenario, *REACT_RAN, "again")


@pytest.mark.parametrize("mode", ["values", "updates", "messages", "custom", "tools", MODES, ["tools", "custom", "debug"]])
def test_react_agent_stream_modes(mode: Any) -> None:
    def scenario(graph: Any) -> Any:
        return stream(graph, HI, stream_mode=mode), graph.get_state(CFG).values

    same(react(one_at_a_time()), scenario, "react turn 5", "react: finished", "commanding0: done")


def test_react_agent_stream_modes_async() -> None:
    same(react(one_at_a_time()), lambda g: astream(g, HI, stream_mode=MODES), "react: finished", "commanding0: done")


@pytest.mark.parametrize("run_async", [False, True])
def test_react_agent_interrupt_before_tools_then_resume(run_async: bool) -> None:
    script = [[("whole_state", {"q": "a"}), ("commanding", {"q": "b"})], "finished"]
    modes = ["updates", "values", "tasks"]

    def scenario(graph: Any) -> Any:
        first = stream(graph, HI, stream_mode=modes)
        paused = graph.get_state(CFG)
        assert paused.next == ("tools", "tools"), paused.next
        return first, paused, stream(graph, None, stream_mode=modes), graph.get_state(CFG)

    async def ascenario(graph: Any) -> Any:
        first = await astream(graph, HI, stream_mode=modes)
        paused = await graph.aget_state(CFG)
        assert paused.next == ("tools", "tools"), paused.next
        return first, paused, await astream(graph, None, stream_mode=modes), await graph.aget_state(CFG)

    build = react(script, interrupt_before=["tools"])
    same(build, ascenario if run_async else scenario, "__interrupt__", "a: 2 messages", "b: done", "react: finished")


# -- langchain's create_agent with middleware ----------------------------------


class Trail(AgentState):
    trail: Annotated[list[str], operator.add]


class Audit(AgentMiddleware):
    """Hooks around the model (writing a state key of its own and to the custom
    stream), the tools shown to the model chosen per call, a tool of its own, ids
    on tool results. The agent's tools leave out ``failing``: a call of it gets
    ToolNode's "not a valid tool" answer with no pause, so only the script of one
    call a turn makes one (among parallel calls it would end with another one)."""

    state_schema = Trail
    tools = [whole_state]

    def before_model(self, state: Any, runtime: Any) -> dict:
        runtime.stream_writer({"before": len(state["messages"])})
        return {"trail": [f"before {len(state['messages'])}"]}

    def after_model(self, state: Any, runtime: Any) -> dict:
        return {"trail": [f"after {state['messages'][-1].content}"]}

    def _pick(self, request: Any) -> Any:
        request = request.override(tools=[t for t in request.tools if t.name != "commanding"])
        request.runtime.stream_writer({"model sees": sorted(t.name for t in request.tools)})
        return request

    def wrap_model_call(self, request: Any, handler: Any) -> Any:
        return handler(self._pick(request))

    async def awrap_model_call(self, request: Any, handler: Any) -> Any:
        return await handler(self._pick(request))

    def wrap_tool_call(self, request: Any, handler: Any) -> Any:
        return ids(request, handler)

    async def awrap_tool_call(self, request: Any, handler: Any) -> Any:
        return await aids(request, handler)


def langchain_agent(script: list) -> Any:
    def build() -> tuple[Any, Any]:
        model = ScriptedChatModel(script=script, prefix="agent", stream_tokens=True)
        saver = InMemorySaver()
        tools = [t for t in TOOLS if t.name not in ("whole_state", "failing")]
        graph = create_agent(model, tools, middleware=[Audit()], checkpointer=saver, store=InMemoryStore(), name="agent")
        return graph, saver

    return build


SEES = "'model sees': ['messages_field', 'remember', 'whole_state', 'with_runtime']"  # not commanding
AGENT_RAN = ("agent: finished", "after agent: finished", "before 1", SEES)


@pytest.mark.parametrize("run_async", [False, True])
def test_create_agent_with_middleware(run_async: bool) -> None:
    def scenario(graph: Any) -> Any:
        return stream(graph, HI, stream_mode=PARALLEL_MODES), graph.invoke(AGAIN, CFG)

    async def ascenario(graph: Any) -> Any:
        return await astream(graph, HI, stream_mode=PARALLEL_MODES, subgraphs=True), await graph.ainvoke(AGAIN, CFG)

    script = [turn[:-1] for turn in script_all(2)[:-1]] + ["finished"]  # not ``failing``
    same(langchain_agent(script), ascenario if run_async else scenario, *AGENT_RAN, "whole_state1: ", "commanding1: done")


def test_create_agent_one_tool_a_turn_all_modes() -> None:
    ran = (*AGENT_RAN, "agent turn 5", "failing is not a valid tool")
    same(langchain_agent(one_at_a_time()), lambda g: stream(g, HI, stream_mode=MODES), *ran)


# -- langgraph_supervisor ----------------------------------------------------------
# (not parallel handoffs: each is a ParentCommand of its own Send task, and stock
# raises the one its runner pops first from a set of futures -- not comparable)


def worker(name: str, script: list) -> Any:
    model = ScriptedChatModel(script=script, prefix=name, stream_tokens=True)
    return create_react_agent(model, tool_node([whole_state, remember, messages_field, TOOLS[4]]), name=name)


def supervisor(*, checkpointer: bool, back: bool, output_mode: str) -> Any:
    def build() -> tuple[Any, Any]:
        research = worker("research", [[("whole_state", {"q": "r"}), ("remember", {"q": "r"})], "research done"])
        writing = worker("writing", [[("commanding", {"q": "w"})], "writing done"])
        check_model = ScriptedChatModel(script=[[("messages_field", {"q": "c"})], "checked"], prefix="check")
        checking = create_agent(check_model, [messages_field], middleware=[Audit()], name="check")
        script = [[(f"transfer_to_{n}", {})] for n in ("research", "writing", "check")] + ["all done"]
        boss = ScriptedChatModel(script=script, prefix="boss", stream_tokens=True)
        handoffs = tool_node([supervisor_handoff(agent_name=n) for n in ("research", "writing", "check")])
        agents = [research, writing, checking]
        builder = create_supervisor(agents, model=boss, tools=handoffs, add_handoff_back_messages=back, output_mode=output_mode)
        saver = InMemorySaver() if checkpointer else None
        return builder.compile(checkpointer=saver, store=InMemoryStore()), saver

    return build


SUPERVISOR_RAN = ("boss: all done", "research: research done", "r: r", "writing: writing done", "w: done")
SUPERVISOR_RAN += ("check: checked", "c: last 'check turn 0'", "Successfully transferred to check")


@pytest.mark.parametrize("output_mode", ["full_history", "last_message"])
def test_supervisor_with_checkpointer(output_mode: str) -> None:
    def scenario(graph: Any) -> Any:
        return stream(graph, HI, stream_mode=PARALLEL_MODES, subgraphs=True), graph.get_state(CFG, subgraphs=True)

    same(supervisor(checkpointer=True, back=False, output_mode=output_mode), scenario, *SUPERVISOR_RAN)


@pytest.mark.parametrize("run_async", [False, True])
def test_supervisor_handoff_back_messages(run_async: bool) -> None:
    def scenario(graph: Any) -> Any:
        return stream(graph, HI, stream_mode=PARALLEL_MODES, subgraphs=True)

    async def ascenario(graph: Any) -> Any:
        return await astream(graph, HI, stream_mode=PARALLEL_MODES, subgraphs=True)

    build = supervisor(checkpointer=False, back=True, output_mode="last_message")
    same(build, ascenario if run_async else scenario, *SUPERVISOR_RAN, "Successfully transferred back to supervisor")


# -- langgraph_swarm -----------------------------------------------------------------


ALICE = [[("remember", {"q": "a"})], [("transfer_to_bob", {})], "alice done"]
BOB = [[("messages_field", {"q": "b"}), ("remember", {"q": "b"})], "bob done", [("transfer_to_alice", {})]]


@tool
def ask(q: str) -> str:
    """Asks the user."""
    return f"{q}: {interrupt({'ask': q})}"


def swarm(bob_script: list = BOB, bob_tools: tuple = (messages_field, remember)) -> Any:
    def build() -> tuple[Any, Any]:
        alice_model = ScriptedChatModel(script=ALICE, prefix="alice", stream_tokens=True)
        alice = create_agent(alice_model, [remember, swarm_handoff(agent_name="bob")], middleware=[Audit()], name="alice")
        bob_model = ScriptedChatModel(script=bob_script, prefix="bob", stream_tokens=True)
        bob = create_react_agent(bob_model, tool_node([*bob_tools, swarm_handoff(agent_name="alice")]), name="bob")
        saver = InMemorySaver()
        return create_swarm([alice, bob], default_active_agent="alice").compile(checkpointer=saver, store=InMemoryStore()), saver

    return build


SWARM_RAN = ("bob: bob done", "Successfully transferred to bob", "b: a,b")


@pytest.mark.parametrize("run_async", [False, True])
def test_swarm_hands_off_and_back_over_two_turns(run_async: bool) -> None:
    """Alice hands off to Bob, who answers; the next turn starts at Bob (the
    checkpointed ``active_agent``), who hands back to Alice."""

    def scenario(graph: Any) -> Any:
        first = stream(graph, HI, stream_mode=PARALLEL_MODES, subgraphs=True)
        return first, stream(graph, AGAIN, stream_mode=["updates", "values"]), graph.get_state(CFG)

    async def ascenario(graph: Any) -> Any:
        first = await astream(graph, HI, stream_mode=PARALLEL_MODES, subgraphs=True)
        return first, await astream(graph, AGAIN, stream_mode=["updates", "values"]), await graph.aget_state(CFG)

    same(swarm(), ascenario if run_async else scenario, *SWARM_RAN, "alice: alice done", "Successfully transferred to alice")


@pytest.mark.parametrize("run_async", [False, True])
def test_swarm_agent_interrupts_then_resumes(run_async: bool) -> None:
    """Bob (a subgraph, after a handoff) asks twice, a turn each; two resumes. (Two
    interrupts of one step come in set order on stock: not comparable.)"""
    modes = ["updates", "values", "tasks"]

    def scenario(graph: Any) -> Any:
        out = [stream(graph, HI, stream_mode=modes, subgraphs=True)]
        for k in range(2):
            paused = graph.get_state(CFG, subgraphs=True)
            out += [paused, stream(graph, Command(resume=f"answer {k}"), stream_mode=modes, subgraphs=True)]
        return out, list(graph.get_state_history(CFG))

    async def ascenario(graph: Any) -> Any:
        out = [await astream(graph, HI, stream_mode=modes, subgraphs=True)]
        for k in range(2):
            paused = await graph.aget_state(CFG, subgraphs=True)
            out += [paused, await astream(graph, Command(resume=f"answer {k}"), stream_mode=modes, subgraphs=True)]
        return out, [s async for s in graph.aget_state_history(CFG)]

    build = swarm([[("ask", {"q": "p"})], [("ask", {"q": "qq"})], "bob done"], (ask, remember))
    same(build, ascenario if run_async else scenario, "'ask': 'qq'", "p: answer 0", "qq: answer 1", "bob: bob done")

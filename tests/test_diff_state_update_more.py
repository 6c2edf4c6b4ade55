"""``update_state`` / ``bulk_update_state`` on both engines: the functional API,
SQLite, a cache policy, DeltaChannels, async (``aupdate_state``,
``abulk_update_state``), and how the engine's update functions are put in
place (``tests/state_update_support.py`` holds the guard and the comparison).
"""

from __future__ import annotations

import sqlite3
from typing import Annotated, Any

import langgraph.pregel._checkpoint as lg_checkpoint
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph._internal._constants import PUSH
from langgraph.channels import LastValue
from langgraph.channels.delta import DeltaChannel
from langgraph.cache.memory import InMemoryCache
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.func import entrypoint
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import _messages_delta_reducer
from langgraph.pregel import NodeBuilder, Pregel
from langgraph.pregel._write import ChannelWriteEntry
from langgraph.types import CachePolicy, Command, Overwrite, StateUpdate, interrupt
from typing_extensions import TypedDict

import langgraph_rs
from langgraph_rs import _state_update, _state_update_async
from tests import diff
from tests.state_update_support import (  # noqa: F401  (native_updates_on_rs: an autouse fixture)
    CFG,
    S,
    aattempt,
    attempt,
    asnapshot,
    branching,
    native_updates_on_rs,
    parallel,
    same,
    snapshot,
    with_saver,
)

# ---------------------------------------------------------------------------
# the functional API, SQLite, a cache policy


def test_functional_api_inferred_single_node() -> None:
    def build() -> tuple[Any, Any]:
        saver = InMemorySaver()

        @entrypoint(checkpointer=saver)
        def flow(n: int, *, previous: Any = None) -> Any:
            return entrypoint.final(value=n + (previous or 0), save=n * 10)

        return flow, saver

    def scenario(g: Any) -> list:
        out: list = [g.invoke(1, CFG)]
        out.append(g.update_state(CFG, 99))
        out.append(g.invoke(2, CFG))
        return out + snapshot(g)

    same(build, scenario)


def test_sqlite_saver_update_and_fork() -> None:
    def build() -> tuple[Any, Any]:
        saver = SqliteSaver(sqlite3.connect(":memory:", check_same_thread=False))
        return parallel(saver, interrupt_before=["join"]), saver

    def scenario(g: Any) -> list:
        out: list = [g.invoke({"a": 0, "log": []}, CFG)]
        out.append(g.bulk_update_state(CFG, [[StateUpdate({"log": ["l"]}, "left"), StateUpdate({"log": ["r"]}, "right")]]))
        out.append(g.update_state(CFG, [({"log": ["j"]}, "left")], as_node="__copy__"))
        out.append(g.invoke(None, CFG))
        return out + snapshot(g)

    same(build, scenario)


def test_cache_key_of_a_planned_task_fails_as_in_langgraphs_planner() -> None:
    """The planner computes the cache key of a node with a cache policy: a key
    function failing on the state fails the update."""

    def key(s: S) -> str:
        if s["a"] == 13:
            raise ValueError("no key for 13")
        return str(s["a"])

    def build() -> tuple[Any, Any]:
        g = StateGraph(S)
        g.add_node("one", lambda s: {"a": s["a"] + 1})
        g.add_node("two", lambda s: {"log": ["two"]}, cache_policy=CachePolicy(key_func=key))
        g.add_edge(START, "one")
        g.add_edge("one", "two")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver, cache=InMemoryCache(), interrupt_before=["two"]), saver

    def scenario(g: Any) -> list:
        out: list = [g.invoke({"a": 0, "log": []}, CFG)]
        out.append(g.update_state(CFG, {"a": 13}, as_node="one"))
        out.append(attempt(lambda: g.update_state(CFG, {"log": ["x"]}, as_node="one")))
        out.append(attempt(lambda: g.update_state(CFG, None, as_node=END)))
        return out

    same(build, scenario)


# ---------------------------------------------------------------------------
# DeltaChannel


def concat(state: list, writes: list) -> list:
    return state + [x for w in writes for x in w]


class D(TypedDict):
    items: Annotated[list, DeltaChannel(concat, snapshot_frequency=2)]
    messages: Annotated[list, DeltaChannel(_messages_delta_reducer, snapshot_frequency=3)]
    a: int


def delta_graph(saver: Any, **kwargs: Any) -> Any:
    g = StateGraph(D)
    g.add_node("one", lambda s: {"items": [f"one{len(s['items'])}"], "a": s.get("a", 0) + 1})
    g.add_node("two", lambda s: {"messages": [AIMessage("hi", id=f"ai{len(s['messages'])}")]})
    g.add_edge(START, "one")
    g.add_edge("one", "two")
    return g.compile(checkpointer=saver, **kwargs)


def test_delta_channels_fresh_thread_cadence_overwrite_and_forks() -> None:
    def scenario(g: Any) -> list:
        out: list = [g.update_state(CFG, {"items": ["seed"], "messages": [HumanMessage("q", id="h0")]}, "one")]
        out.append(g.invoke({"items": ["in"], "messages": []}, CFG))
        for i in range(4):
            out.append(g.update_state(CFG, {"items": [f"u{i}"]}, as_node="one"))
        out.append(g.bulk_update_state(CFG, [[
            StateUpdate({"items": ["b1"]}, "one"),
            StateUpdate({"messages": [HumanMessage("m", id="h1")]}, "two"),
        ]]))
        out.append(g.update_state(CFG, {"items": Overwrite(["fresh"])}, as_node="one"))
        history = list(g.get_state_history(CFG))
        out.append(g.update_state(history[4].config, {"items": ["old-fork"]}, as_node="one"))
        out.append(g.update_state(history[2].config, None, as_node="__copy__"))
        out.append(g.update_state(history[3].config, [({"items": ["copy"]}, "two")], "__copy__"))
        out.append(g.update_state(CFG, {"items": ["as-input"], "a": 0}, as_node="__input__"))
        out.append(g.update_state(CFG, {"items": Overwrite(["reset"])}, as_node="__input__"))
        reset = [HumanMessage("r", id="r1")]
        out.append(g.update_state(CFG, {"messages": Overwrite(reset)}, as_node="__input__"))
        out.append(g.update_state(CFG, None, as_node=END))
        return out + snapshot(g)

    same(with_saver(delta_graph, interrupt_before=["two"]), scenario)


def test_delta_channels_after_interrupted_step_with_pending_writes() -> None:
    def build() -> tuple[Any, Any]:
        def ask(s: D) -> dict:
            return {"items": [interrupt("?")]}

        g = StateGraph(D)
        g.add_node("quick", lambda s: {"items": ["quick"], "messages": [AIMessage("a", id="a1")]})
        g.add_node("ask", ask)
        g.add_edge(START, "quick")
        g.add_edge(START, "ask")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    def scenario(g: Any) -> list:
        out: list = [g.invoke({"items": ["in"], "messages": [], "a": 0}, CFG)]
        out.append(g.update_state(CFG, {"items": ["edit"]}, as_node="quick"))
        out.append(g.update_state(CFG, None, as_node=END))
        return out + snapshot(g)

    same(build, scenario)


def delta_pregel(saver: Any) -> Any:
    """Raw Pregel: "count" is triggered by the delta channel "items" (so a
    snapshot's version bump is marked seen for it); "pusher" (never run by a
    run) writes a PUSH write, which an update saves on the checkpoint it makes;
    "items" is an input channel (an ``Overwrite`` input snapshots it)."""
    one = NodeBuilder().subscribe_only("x").do(lambda x: [f"x{x}"]).write_to("items")
    count = NodeBuilder().subscribe_only("items").do(len).write_to("n")
    pusher = NodeBuilder().subscribe_only("never").write_to(
        "n", ChannelWriteEntry(PUSH, mapper=lambda v: f"push {v}")
    )
    return Pregel(
        nodes={"one": one, "count": count, "pusher": pusher},
        channels={
            "x": LastValue(int),
            "never": LastValue(int),
            "items": DeltaChannel(concat, snapshot_frequency=50),
            "n": LastValue(int),
        },
        input_channels=["x", "items"],
        output_channels=["items", "n"],
        checkpointer=saver,
    )


def test_delta_supersteps_bound_bumps_seen_and_push_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lg_checkpoint, "DELTA_MAX_SUPERSTEPS_SINCE_SNAPSHOT", 3)

    def scenario(g: Any) -> list:
        out: list = [g.invoke({"x": 1}, CFG)]
        for n in (7, 8, 9):
            out.append(g.update_state(CFG, n, as_node="count"))
        out.append(g.update_state(CFG, 10))  # inferred past the snapshot bumps
        out.append(g.update_state(CFG, 11, as_node="pusher"))
        out += snapshot(g)
        out.append(g.update_state(CFG, ["y"], as_node="one"))
        out.append(g.update_state(CFG, {"items": Overwrite(["o"])}, as_node="__input__"))
        out.append(g.invoke({"x": 2}, CFG))
        return out + snapshot(g)

    same(with_saver(delta_pregel), scenario)


# ---------------------------------------------------------------------------
# async


def test_async_update_paths() -> None:
    async def scenario(g: Any) -> list:
        out: list = [await g.ainvoke({"a": 0, "log": []}, CFG)]
        out.append(await g.aupdate_state(CFG, {"a": 4}))
        out.append(await aattempt(g.aupdate_state(CFG, {"a": 4}, as_node="nope")))
        out.append(await g.abulk_update_state(CFG, [
            [StateUpdate({"log": ["x"]}, "two"), StateUpdate({"log": ["y"]}, "three")],
            [StateUpdate(Command(update={"a": 1}, goto="two"), "one")],
        ]))
        history = [s async for s in g.aget_state_history(CFG)]
        out.append(await g.aupdate_state(history[2].config, [({"a": 8}, "one")], "__copy__"))
        out.append(await g.aupdate_state(history[1].config, None, "__copy__"))
        out.append(await g.aupdate_state({"configurable": {"thread_id": "2"}}, {"a": 1, "log": []}, "__input__"))
        out.append(await g.aupdate_state(CFG, None, as_node=END))
        out.append(await g.ainvoke(None, CFG))
        return out + await asnapshot(g) + await asnapshot(g, {"configurable": {"thread_id": "2"}})

    same(with_saver(branching, interrupt_before=["two", "three"]), scenario)


def test_async_router_runs_with_ainvoke() -> None:
    def build() -> tuple[Any, Any]:
        async def route(s: S) -> str:
            return "two" if s["a"] % 2 else "three"

        g = StateGraph(S)
        g.add_node("one", lambda s: {"a": s["a"] + 1})
        g.add_node("two", lambda s: {"log": ["two"]})
        g.add_node("three", lambda s: {"log": ["three"]})
        g.add_edge(START, "one")
        g.add_conditional_edges("one", route, ["two", "three"])
        saver = InMemorySaver()
        return g.compile(checkpointer=saver, interrupt_before=["two", "three"]), saver

    async def scenario(g: Any) -> list:
        out: list = [await g.ainvoke({"a": 0, "log": []}, CFG)]
        out.append(await g.aupdate_state(CFG, {"a": 2}, as_node="one"))
        out.append(await g.ainvoke(None, CFG))
        return out + await asnapshot(g)

    same(build, scenario)


def test_async_delta_channels_and_subgraph() -> None:
    def build() -> tuple[Any, Any]:
        sub = StateGraph(D)
        sub.add_node("inner", lambda s: {"items": [f"inner {interrupt('?')}"]})
        sub.add_edge(START, "inner")
        g = StateGraph(D)
        g.add_node("sub", sub.compile())
        g.add_edge(START, "sub")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    async def scenario(g: Any) -> list:
        out: list = [await g.aupdate_state(CFG, {"items": ["seed"]}, as_node="sub")]
        out.append(await g.ainvoke({"items": ["in"], "messages": [], "a": 0}, CFG))
        sub_config = (await g.aget_state(CFG, subgraphs=True)).tasks[0].state.config
        out.append(await g.aupdate_state(sub_config, {"items": ["sub-edit"]}, as_node="inner"))
        for i in range(3):
            out.append(await g.aupdate_state(CFG, {"items": [f"u{i}"]}, as_node="sub"))
        out.append(await g.ainvoke(Command(resume="yes"), CFG))
        return out + await asnapshot(g)

    same(build, scenario)


# ---------------------------------------------------------------------------
# wiring, fallback, and the guard itself


def test_compile_and_install_use_native_updates() -> None:
    builder = StateGraph(S)
    builder.add_node("one", lambda s: {"a": 1})
    builder.add_edge(START, "one")
    graph = langgraph_rs.compile(builder, checkpointer=InMemorySaver())
    assert type(graph).bulk_update_state is _state_update.bulk_update_state
    assert type(graph).abulk_update_state is _state_update_async.abulk_update_state
    assert Pregel.bulk_update_state is not _state_update.bulk_update_state
    langgraph_rs.install()
    assert Pregel.bulk_update_state is _state_update.bulk_update_state
    assert Pregel.abulk_update_state is _state_update_async.abulk_update_state
    langgraph_rs.uninstall()
    assert Pregel.bulk_update_state is not _state_update.bulk_update_state


class Custom(LastValue):
    """A channel class the engine does not know."""


class C(TypedDict):
    a: Annotated[int, Custom(int)]


def test_unsupported_graph_updates_on_langgraph_only_with_fallback() -> None:
    builder = StateGraph(C)
    builder.add_node("one", lambda s: {"a": s["a"] + 1})
    builder.add_edge(START, "one")
    graph = builder.compile(checkpointer=InMemorySaver())
    try:
        langgraph_rs.install()
        with pytest.raises(langgraph_rs.UnsupportedFeatureError):
            graph.update_state(CFG, {"a": 1}, as_node="one")
        langgraph_rs.install(fallback="langgraph")
        with pytest.warns(UserWarning, match="fallback"):
            graph.update_state(CFG, {"a": 1}, as_node="one")
        with pytest.warns(UserWarning, match="fallback"):  # get_state falls back too
            assert graph.get_state(CFG).values == {"a": 1}
    finally:
        langgraph_rs.uninstall()


def test_guard_sees_langgraphs_planner_in_an_update() -> None:
    """LangGraph's own ``bulk_update_state`` on the langgraph_rs side is caught."""
    stock_bulk = Pregel.bulk_update_state
    with diff.deterministic(), diff.engine("rs"):
        saver = InMemorySaver()
        g = branching(saver)
        g.invoke({"a": 0, "log": []}, CFG)
        diff.planner_calls.clear()
        with pytest.raises(AssertionError, match="ran on the langgraph_rs engine"):
            stock_bulk(g, CFG, [[StateUpdate({"a": 1}, "one", None)]])
    assert diff.planner_calls
    diff.planner_calls.clear()
    langgraph_rs.uninstall()

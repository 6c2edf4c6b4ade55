"""A run frees what it made by reference counting alone: no reference cycle
is left for the garbage collector (a task config holding its own task, a loop
holding itself through a callback, a step's futures holding their done
callbacks that hold the futures). What a cycle costs is the collector's
pause, paid every few hundred steps, and the run's objects held until then;
``gc.collect()`` after runs with the collector off shows whether any was made.
(Stock LangGraph leaves ~250 objects in cycles per invoke of a fan-out.)"""

from __future__ import annotations

import asyncio
import gc
import operator
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import Send
from typing_extensions import TypedDict

import langgraph_rs


class S(TypedDict):
    x: int
    log: Annotated[list, operator.add]


def _graph(saver: Any = None) -> Any:
    def a(s: S) -> dict:
        return {"x": s["x"] + 1, "log": ["a"]}

    def fan(s: S) -> list:
        return [Send("b", {"x": s["x"], "log": []})]

    def b(s: S) -> dict:
        return {"log": [f"b{s['x']}"]}

    g = StateGraph(S)
    g.add_node("a", a)
    g.add_node("b", b)
    g.add_edge(START, "a")
    g.add_conditional_edges("a", fan, ["b"])
    return langgraph_rs.compile(g, checkpointer=saver)


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _cyclic_garbage(run: Any) -> int:
    run()  # warm: caches, templates, lazily imported modules
    gc.collect()
    for _ in range(20):
        run()
    return gc.collect()


@pytest.mark.parametrize("saver", [False, True])
def test_sync_runs_leave_no_cycles(collector_off: None, saver: bool) -> None:
    g = _graph(InMemorySaver() if saver else None)
    config = {"configurable": {"thread_id": "t"}}
    assert _cyclic_garbage(lambda: g.invoke({"x": 0, "log": []}, config)) == 0


def test_sync_stream_leaves_no_cycles(collector_off: None) -> None:
    g = _graph()
    assert _cyclic_garbage(lambda: list(g.stream({"x": 0, "log": []}, stream_mode=["updates", "values"]))) == 0


def test_async_runs_leave_no_cycles(collector_off: None) -> None:
    g = _graph()
    loop = asyncio.new_event_loop()
    try:
        assert _cyclic_garbage(lambda: loop.run_until_complete(g.ainvoke({"x": 0, "log": []}))) == 0
    finally:
        loop.close()


def _fan_out(saver: Any = None, **kwargs: Any) -> Any:
    """A step of five tasks (run on the task threads), then a join."""

    def src(s: S) -> dict:
        return {"log": ["src"]}

    def worker(i: int) -> Any:
        def w(s: S) -> dict:
            return {"log": [f"w{i}"]}

        return w

    def join(s: S) -> dict:
        return {"x": len(s["log"])}

    g = StateGraph(S)
    g.add_node("src", src)
    g.add_edge(START, "src")
    for i in range(5):
        g.add_node(f"w{i}", worker(i))
        g.add_edge("src", f"w{i}")
    g.add_node("join", join)
    g.add_edge([f"w{i}" for i in range(5)], "join")
    return langgraph_rs.compile(g, checkpointer=saver, **kwargs)


@pytest.mark.parametrize("saver", [False, True])
@pytest.mark.parametrize("max_concurrency", [None, 1])
def test_sync_fan_out_leaves_no_cycles(collector_off: None, saver: bool, max_concurrency: Any) -> None:
    g = _fan_out(InMemorySaver() if saver else None)
    config = {"configurable": {"thread_id": "t"}, "max_concurrency": max_concurrency}
    out = g.invoke({"x": 0, "log": []}, config)
    assert out == {"x": 6, "log": ["src", "w0", "w1", "w2", "w3", "w4"]}
    assert _cyclic_garbage(lambda: g.invoke({"x": 0, "log": []}, config)) == 0


def test_async_fan_out_leaves_no_cycles(collector_off: None) -> None:
    g = _fan_out()
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(g.ainvoke({"x": 0, "log": []}))["x"] == 6
        assert _cyclic_garbage(lambda: loop.run_until_complete(g.ainvoke({"x": 0, "log": []}))) == 0
    finally:
        loop.close()

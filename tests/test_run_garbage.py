"""A run frees what it made by reference counting alone: no reference cycle
is left for the garbage collector (a task config holding its own task, a loop
holding itself through a callback, a step's futures holding their done
callbacks that hold the futures). What a cycle costs is the collector's
pause, paid every few hundred steps, and the run's objects held until then;
``gc.collect()`` after runs with the collector off shows whether any was made.
(Stock LangGraph leaves 200-260 objects in cycles per invoke of a fan-out, and
per invoke that is interrupted or raises.)"""

from __future__ import annotations

import asyncio
import gc
import operator
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import Send, interrupt
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


def _interrupting(saver: Any) -> Any:
    def ask(s: S) -> dict:
        return {"log": [interrupt("which?")]}

    g = StateGraph(S)
    g.add_node("ask", ask)
    g.add_edge(START, "ask")
    return langgraph_rs.compile(g, checkpointer=saver)


def _failing() -> Any:
    def boom(s: S) -> dict:
        raise ValueError("boom")

    g = StateGraph(S)
    g.add_node("boom", boom)
    g.add_edge(START, "boom")
    return langgraph_rs.compile(g)


def test_interrupted_and_failed_runs_leave_no_cycles(collector_off: None) -> None:
    """A run that ends interrupted or raising: its exception's traceback holds
    the engine's frames, which then hold neither the exception nor the tasks
    whose writes carry it, and the loop keeps none of its tasks."""
    g = _interrupting(InMemorySaver())
    threads = iter(range(10**6))

    def interrupted() -> None:
        out = g.invoke({"x": 0, "log": []}, {"configurable": {"thread_id": str(next(threads))}})
        assert [i.value for i in out["__interrupt__"]] == ["which?"]

    assert _cyclic_garbage(interrupted) == 0
    failing = _failing()

    def failed() -> None:
        with pytest.raises(ValueError, match="boom"):
            failing.invoke({"x": 0, "log": []})

    assert _cyclic_garbage(failed) == 0


def test_async_interrupted_and_failed_runs_leave_no_cycles(collector_off: None) -> None:
    g = _interrupting(InMemorySaver())
    failing = _failing()
    threads = iter(range(10**6))
    loop = asyncio.new_event_loop()

    def interrupted() -> None:
        config = {"configurable": {"thread_id": str(next(threads))}}
        out = loop.run_until_complete(g.ainvoke({"x": 0, "log": []}, config))
        assert [i.value for i in out["__interrupt__"]] == ["which?"]

    async def fail() -> None:
        try:
            await failing.ainvoke({"x": 0, "log": []})
        except ValueError as exc:
            assert str(exc) == "boom"
        else:
            raise AssertionError("no error")

    def failed() -> None:
        # (caught in the coroutine: ``run_until_complete`` re-raising a task's
        # error leaves its own frame, the task and the error in a cycle)
        loop.run_until_complete(fail())

    try:
        assert _cyclic_garbage(interrupted) == 0
        assert _cyclic_garbage(failed) == 0
    finally:
        loop.close()

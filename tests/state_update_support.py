"""What the differential tests of ``update_state``/``bulk_update_state`` share:
the comparison and a few graphs.

On langgraph_rs the harness refuses LangGraph's planner and checkpoint builder
(``tests.diff.no_langgraph_planner``); here the ``clock_seq`` of every
checkpoint id (which the harness's ids leave out) is compared too.
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Iterator
from typing import Annotated, Any

import langgraph.pregel._checkpoint as lg_checkpoint
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

import langgraph_rs._loop_checkpoint as rs_loop
from tests import diff

CFG = {"configurable": {"thread_id": "1"}}

# ---------------------------------------------------------------------------
# The comparison

#: the ``clock_seq`` of every checkpoint id each engine made, in order (the
#: harness's ids ignore it; a real uuid6 has it in its bits)
clock_seqs: dict[str, list[int]] = {}


@contextlib.contextmanager
def recording_clock_seqs(name: str) -> Iterator[None]:
    seqs = clock_seqs[name] = []
    ids, checkpoint_id = lg_checkpoint.uuid6, rs_loop.checkpoint_id

    def uuid6(node: Any = None, clock_seq: Any = None) -> Any:
        seqs.append(clock_seq)
        return ids(node, clock_seq)

    def native_id(step: int) -> str:
        seqs.append(step)
        return checkpoint_id(step)

    lg_checkpoint.uuid6, rs_loop.checkpoint_id = uuid6, native_id
    try:
        yield
    finally:
        lg_checkpoint.uuid6, rs_loop.checkpoint_id = ids, checkpoint_id


@pytest.fixture(autouse=True)
def native_updates_on_rs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness's langgraph_rs side with the strict guard, both sides with
    their checkpoint ids' ``clock_seq`` recorded."""
    stock_engine = diff.engine

    @contextlib.contextmanager
    def engine(name: str) -> Iterator[None]:
        with stock_engine(name), recording_clock_seqs(name):
            yield

    monkeypatch.setattr(diff, "engine", engine)


def same(build: Any, scenario: Any) -> diff.Outcome:
    """Run on both engines; everything equal and LangGraph's planner unused on ours."""
    diff.planner_calls.clear()
    stock, rs = diff.run_both(build, scenario)
    assert diff.planner_calls == []
    assert clock_seqs["rs"] == clock_seqs["stock"]
    assert rs.error == stock.error
    assert rs.value == stock.value
    assert rs.history == stock.history
    return rs


def error_data(exc: BaseException) -> tuple:
    return (type(exc).__name__, str(exc), getattr(exc, "__notes__", None))


def attempt(fn: Any) -> Any:
    """A call's result, or its error (with its notes) as comparable data."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001  (compared, not swallowed)
        return error_data(exc)


async def aattempt(coro: Any) -> Any:
    try:
        return await coro
    except Exception as exc:  # noqa: BLE001
        return error_data(exc)


def snapshot(g: Any, config: Any = CFG) -> list:
    """``get_state`` and the whole ``get_state_history``."""
    return [g.get_state(config), list(g.get_state_history(config))]


async def asnapshot(g: Any, config: Any = CFG) -> list:
    return [await g.aget_state(config), [s async for s in g.aget_state_history(config)]]


# ---------------------------------------------------------------------------
# Graphs


class S(TypedDict):
    a: int
    log: Annotated[list[str], operator.add]


def branching(saver: Any, **kwargs: Any) -> Any:
    """one -> (two | three, by a router reading the state fresh) -> END."""
    g = StateGraph(S)
    g.add_node("one", lambda s: {"a": s["a"] + 1, "log": ["one"]})
    g.add_node("two", lambda s: {"log": ["two"]})
    g.add_node("three", lambda s: {"log": ["three"]})
    g.add_edge(START, "one")
    g.add_conditional_edges("one", lambda s: "two" if s["a"] % 2 else "three", ["two", "three"])
    g.add_edge("two", END)
    g.add_edge("three", END)
    return g.compile(checkpointer=saver, **kwargs)


def parallel(saver: Any, **kwargs: Any) -> Any:
    """START -> (left, right) in one step -> join."""
    g = StateGraph(S)
    g.add_node("left", lambda s: {"log": ["left"]})
    g.add_node("right", lambda s: {"log": ["right"]})
    g.add_node("join", lambda s: {"a": len(s["log"]), "log": ["join"]})
    g.add_edge(START, "left")
    g.add_edge(START, "right")
    g.add_edge(["left", "right"], "join")
    return g.compile(checkpointer=saver, **kwargs)


def with_saver(make: Any, **kwargs: Any) -> Any:
    def build() -> tuple[Any, Any]:
        saver = InMemorySaver()
        return make(saver, **kwargs), saver

    return build

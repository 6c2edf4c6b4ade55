"""Every native object that holds Python objects shows them to the garbage
collector (``__traverse__``), so a reference cycle through one is collected: a
node's ``LeanSeq`` (held by the graph it belongs to), the awaitables of an
async task, a scratchpad's ``get_null_resume``, the stream output iterator."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections import deque
from typing import Any

from langchain_core.callbacks.manager import CallbackManager
from langchain_core.runnables import RunnableLambda
from langgraph._internal._runnable import RunnableCallable, RunnableSeq
from langgraph.runtime import Runtime

from langgraph_rs import _native


class Holder:
    """A plain object to hang a cycle on (weak-referenceable)."""


def _config() -> dict:
    return {
        "callbacks": CallbackManager(handlers=[]),
        "metadata": {},
        "configurable": {"__pregel_send": deque().extend, "__pregel_runtime": Runtime()},
    }


def collected(make_cycle: Any) -> bool:
    """Build a cycle through a native object, drop it, and see it collected."""
    holder = Holder()
    make_cycle(holder)
    ref = weakref.ref(holder)
    del holder
    gc.collect()
    return ref() is None


def test_a_lean_seq_shows_its_steps() -> None:
    seq = RunnableSeq(RunnableLambda(lambda v: v), RunnableLambda(lambda v: v))
    lean = _native.LeanSeq(seq)
    assert seq in gc.get_referents(lean)

    def cycle(holder: Holder) -> None:
        inner = RunnableSeq(RunnableLambda(lambda v, h=holder: v), RunnableLambda(lambda v: v))
        holder.lean = _native.LeanSeq(inner)  # holder -> lean -> seq -> lambda -> holder

    assert collected(cycle)


def test_a_null_resume_shows_its_parent() -> None:
    from typing import TypedDict

    from langgraph.config import get_config
    from langgraph.graph import START, StateGraph

    class S(TypedDict):
        x: int

    seen: list = []

    def inner(s: S) -> dict:
        seen.append(get_config()["configurable"]["__pregel_scratchpad"])
        return {"x": 1}

    sub = StateGraph(S)
    sub.add_node("inner", inner)
    sub.add_edge(START, "inner")
    sub = sub.compile()

    def outer(s: S) -> dict:
        seen.append(get_config()["configurable"]["__pregel_scratchpad"])
        return sub.invoke(s)

    g = StateGraph(S)
    g.add_node("outer", outer)
    g.add_edge(START, "outer")
    from tests.diff import engine

    with engine("rs"):
        g.compile().invoke({"x": 0})
    parent, child = seen
    resume = child.get_null_resume
    assert type(resume).__name__ == "NullResume"
    assert gc.get_referents(resume) == [parent]
    assert resume() is None and resume(True) is None


def test_an_async_node_call_shows_what_it_holds() -> None:
    async def node(state):  # noqa: ANN001, ANN202
        await asyncio.sleep(0)
        return state

    seq = RunnableSeq(RunnableCallable(None, node, trace=False), RunnableLambda(lambda v: v))
    awaitable = _native.LeanSeq(seq).ainvoke({"x": 1}, _config())
    # it holds the node's steps (and shows them)
    assert any(isinstance(r, tuple) and r and r[0] is seq.steps[0] for r in gc.get_referents(awaitable))
    awaitable.close()

    def cycle(holder: Holder) -> None:
        # holder -> awaitable -> the node's coroutine -> its state -> holder
        started = _native.LeanSeq(seq).ainvoke({"holder": holder}, _config())
        started.send(None)
        holder.awaitable = started

    assert collected(cycle)


def test_an_async_retry_shows_its_task() -> None:
    from types import SimpleNamespace

    async def run(value: Any, config: Any) -> Any:
        await asyncio.sleep(0)
        return value

    def cycle(holder: Holder) -> None:
        task = SimpleNamespace(
            name="t", id="1", input=holder, retry_policy=None, timeout=None, writers=[],
            writes=deque(), config={"configurable": {}}, proc=SimpleNamespace(ainvoke=run),
        )
        retry = _native.arun_with_retry(task, None)
        retry.send(None)
        holder.retry = retry  # holder -> retry -> task -> holder

    assert collected(cycle)


def test_the_stream_output_shows_its_getter() -> None:
    q: deque = deque()
    chunks = _native.stream_output("values", (), False, q.popleft, IndexError, "v1", None, None)
    assert q.popleft.__self__ is q
    referents = gc.get_referents(chunks)
    assert any(getattr(r, "__self__", None) is q for r in referents)

    def cycle(holder: Holder) -> None:
        box: deque = deque()
        holder.chunks = _native.stream_output("values", (), False, box.popleft, IndexError, "v1", None, None)
        box.append(((), "values", holder))  # holder -> chunks -> box -> holder

    assert collected(cycle)

"""Error handlers, timeouts, durability, stream v2 and async subgraphs, on both engines."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import NodeError
from langgraph.graph import START, StateGraph
from langgraph.types import Command, RetryPolicy, interrupt
from typing_extensions import TypedDict

from tests.diff import assert_same

CFG = {"configurable": {"thread_id": "1"}}


class S(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def test_node_error_handler_recovers() -> None:
    def build():
        def fragile(s: S) -> dict:
            raise RuntimeError("fragile broke")

        def recover(s: S, error: NodeError) -> dict:
            return {"log": [f"recovered {error.node}: {error.error}"]}

        g = StateGraph(S)
        g.add_node("fragile", fragile, error_handler=recover)
        g.add_node("fine", lambda s: {"log": ["fine"]})
        g.add_edge(START, "fragile")
        g.add_edge(START, "fine")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    out = assert_same(build, lambda g: list(g.stream({"n": 0, "log": []}, CFG, stream_mode=["updates", "values"])))
    assert out.error is None


def test_async_node_timeout() -> None:
    def build():
        async def slow(s: S) -> dict:
            await asyncio.sleep(2)
            return {"log": ["slow"]}

        g = StateGraph(S)
        g.add_node("slow", slow, timeout=0.05)
        g.add_edge(START, "slow")
        return g.compile(), None

    async def scenario(g: Any) -> str:
        # the message carries the measured elapsed time: compare the type
        try:
            await g.ainvoke({"n": 0, "log": []})
        except Exception as exc:  # noqa: BLE001
            return type(exc).__name__
        return "no error"

    assert assert_same(build, scenario).value == "NodeTimeoutError"


def test_async_retry_then_success() -> None:
    def build():
        calls = {"n": 0}

        async def flaky(s: S) -> dict:
            calls["n"] += 1
            if calls["n"] < 2:
                raise ValueError("once")
            return {"log": [f"ok after {calls['n']}"]}

        g = StateGraph(S)
        g.add_node("flaky", flaky, retry_policy=RetryPolicy(initial_interval=0.0, jitter=False, retry_on=ValueError))
        g.add_edge(START, "flaky")
        return g.compile(), None

    assert_same(build, lambda g: g.ainvoke({"n": 0, "log": []}))


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_durability_with_interrupt_and_resume(durability: str) -> None:
    def build():
        def a(s: S) -> dict:
            return {"n": s["n"] + 1, "log": ["a"]}

        def ask(s: S) -> dict:
            return {"log": [interrupt("continue?")]}

        g = StateGraph(S)
        g.add_node(a)
        g.add_node(ask)
        g.add_edge(START, "a")
        g.add_edge("a", "ask")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    def scenario(g: Any) -> list:
        return [
            g.invoke({"n": 0, "log": []}, CFG, durability=durability),
            g.invoke(Command(resume="yes"), CFG, durability=durability),
        ]

    assert_same(build, scenario)


def test_stream_version_v2() -> None:
    def build():
        g = StateGraph(S)
        g.add_node("a", lambda s: {"n": 1, "log": ["a"]})
        g.add_edge(START, "a")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    assert_same(
        build,
        lambda g: list(g.stream({"n": 0, "log": []}, CFG, stream_mode=["values", "updates"], version="v2")),
    )


def test_async_subgraph_streaming_and_interrupt() -> None:
    def build():
        async def inner(s: S) -> dict:
            return {"log": [f"inner {interrupt('inner?')}"]}

        sub = StateGraph(S)
        sub.add_node("inner", inner)
        sub.add_edge(START, "inner")
        g = StateGraph(S)
        g.add_node("sub", sub.compile())
        g.add_node("after", lambda s: {"log": ["after"]})
        g.add_edge(START, "sub")
        g.add_edge("sub", "after")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    async def scenario(g: Any) -> list:
        first = [c async for c in g.astream({"n": 0, "log": []}, CFG, subgraphs=True)]
        second = [c async for c in g.astream(Command(resume="ok"), CFG, subgraphs=True, stream_mode=["values", "updates"])]
        state = await g.aget_state(CFG, subgraphs=True)
        return [first, second, state.values]

    assert_same(build, scenario)


def test_callback_handlers_see_the_same_runs() -> None:
    """With a handler configured, nodes run through LangChain's callback machinery
    exactly as on LangGraph (names, tags, parent/child structure)."""
    from langchain_core.callbacks import BaseCallbackHandler

    class Recorder(BaseCallbackHandler):
        def __init__(self) -> None:
            self.events: list = []
            self.ids: dict = {}

        def _id(self, run_id: Any) -> int:
            return self.ids.setdefault(run_id, len(self.ids))

        def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: Any, parent_run_id: Any = None, tags: Any = None, metadata: Any = None, **kw: Any) -> None:
            self.events.append(
                (
                    "start",
                    kw.get("name"),
                    self._id(run_id),
                    None if parent_run_id is None else self._id(parent_run_id),
                    sorted(tags or []),
                    {k: v for k, v in (metadata or {}).items() if k.startswith("langgraph_")},
                )
            )

        def on_chain_end(self, outputs: Any, *, run_id: Any, **kw: Any) -> None:
            self.events.append(("end", self._id(run_id)))

    def build():
        g = StateGraph(S)
        g.add_node("a", lambda s: {"n": s["n"] + 1, "log": ["a"]})
        g.add_node("b", lambda s: {"log": ["b"]})
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        return g.compile(), None

    def scenario(g: Any) -> list:
        rec = Recorder()
        out = g.invoke({"n": 0, "log": []}, {"callbacks": [rec]})
        return [out, rec.events]

    assert_same(build, scenario)


def test_node_input_failing_its_schema_in_a_run_carries_langgraphs_note() -> None:
    """A node's input goes through its mapper (pydantic validation) as the
    step is planned; a failure there raises with LangGraph's note naming the task."""
    from pydantic import BaseModel, field_validator

    class Small(BaseModel):
        n: int = 0

        @field_validator("n")
        @classmethod
        def small(cls, v: int) -> int:
            if v > 5:
                raise ValueError("n too large")
            return v

    def build() -> tuple[Any, Any]:
        saver = InMemorySaver()
        g = StateGraph(Small)
        g.add_node("a", lambda s: {"n": 9})
        g.add_node("b", lambda s: {"n": 0})
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        return g.compile(checkpointer=saver), saver

    def scenario(g: Any) -> Any:
        try:
            g.invoke({"n": 1}, CFG)
        except Exception as exc:  # noqa: BLE001  (compared)
            return (type(exc).__name__, getattr(exc, "__notes__", None))
        return None

    outcome = assert_same(build, scenario)
    assert outcome.value == ("ValidationError", ["Before task with name 'b' and path '('__pregel_pull', 'b')'"])

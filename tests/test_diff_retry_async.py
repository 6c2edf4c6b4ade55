"""An async task run with its retry policy (the engine's native awaitable
``arun_with_retry``) against LangGraph's: what the node sees on each attempt,
the backoff sleeps and log lines, the error note, ``ParentCommand`` routing, a
``CancelledError`` raised by the node body, an interrupt, and a node whose
awaits suspend it."""

from __future__ import annotations

import asyncio
import logging
import operator
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, RetryPolicy, interrupt

from tests.diff import assert_same, run_both


class State(TypedDict):
    trail: Annotated[list, operator.add]


CFG = {"configurable": {"thread_id": "1"}}
POLICY = RetryPolicy(max_attempts=3, initial_interval=0.01, backoff_factor=3.0, jitter=False, retry_on=ValueError)


def flaky_graph(fails: int, policy: RetryPolicy | None, seen: list) -> Any:
    def build() -> tuple[Any, Any]:
        count = {"n": 0}

        async def node(state: State, config: RunnableConfig, runtime: Runtime) -> dict:
            info = runtime.execution_info
            seen.append(
                (
                    list(config["configurable"]),
                    info.node_attempt,
                    info.node_first_attempt_time is not None,
                    info.checkpoint_ns.split(":")[0],
                    info.thread_id,
                )
            )
            await asyncio.sleep(0)  # suspends: the futures pass through the engine
            count["n"] += 1
            if count["n"] <= fails:
                raise ValueError(f"attempt {count['n']}")
            return {"trail": [f"ok after {count['n']}"]}

        g = StateGraph(State)
        g.add_node("flaky", node, retry_policy=policy)
        g.add_edge(START, "flaky")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    return build


@pytest.mark.parametrize("fails", [0, 2, 3])
def test_attempts_see_what_langgraphs_see(fails: int) -> None:
    seen: list = []

    async def scenario(g: Any) -> Any:
        return await g.ainvoke({"trail": []}, CFG)

    stock, rs = run_both(flaky_graph(fails, POLICY, seen), scenario)
    assert rs.error == stock.error
    assert rs.value == stock.value
    assert rs.history == stock.history
    half = len(seen) // 2
    assert seen[:half] == seen[half:]  # stock's attempts, then ours
    assert [s[1] for s in seen[half:]] == list(range(1, min(fails, 2) + 2))


def test_sleeps_and_log_lines_between_attempts(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import langgraph.pregel._retry as lg_retry

    slept: list = []
    real_sleep = asyncio.sleep

    class Asyncio:
        """``asyncio`` as LangGraph's retry module sees it, its sleep recorded."""

        def __getattr__(self, name: str) -> Any:
            return getattr(asyncio, name)

        @staticmethod
        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            await real_sleep(0)

    monkeypatch.setattr(lg_retry, "asyncio", Asyncio())
    caplog.set_level(logging.INFO, logger="langgraph")
    seen: list = []

    async def scenario(g: Any) -> Any:
        return await g.ainvoke({"trail": []}, CFG)

    run_both(flaky_graph(3, POLICY, seen), scenario)
    assert slept == [0.01, 0.03] * 2
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Retrying")]
    assert lines[:2] == lines[2:] and len(lines) == 4
    assert lines[0] == "Retrying task flaky after 0.01 seconds (attempt 1) after ValueError attempt 1"


def test_the_failure_carries_langgraphs_note() -> None:
    def build() -> tuple[Any, Any]:
        async def node(state: State) -> dict:
            raise KeyError("broken")

        g = StateGraph(State)
        g.add_node("n", node, retry_policy=RetryPolicy(max_attempts=2, initial_interval=0.0, jitter=False, retry_on=KeyError))
        g.add_edge(START, "n")
        return g.compile(), None

    notes = []

    async def scenario(graph: Any) -> Any:
        try:
            await graph.ainvoke({"trail": []})
        except KeyError as exc:
            notes.append(getattr(exc, "__notes__", None))
            raise

    assert_same(build, scenario)
    assert notes[0] is not None and notes[0] == notes[1]
    assert notes[0][0].startswith("During task with name 'n' and id ")


def test_parent_command_from_an_async_subgraph() -> None:
    def build() -> tuple[Any, Any]:
        async def inner(state: State) -> Command:
            return Command(graph=Command.PARENT, goto="after", update={"trail": ["from inner"]})

        sub = StateGraph(State)
        sub.add_node("inner", inner)
        sub.add_edge(START, "inner")

        async def after(state: State) -> dict:
            return {"trail": ["after"]}

        g = StateGraph(State)
        g.add_node("sub", sub.compile(), retry_policy=POLICY)
        g.add_node("after", after)
        g.add_edge(START, "sub")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    async def scenario(g: Any) -> Any:
        return [c async for c in g.astream({"trail": []}, CFG, subgraphs=True)]

    assert_same(build, scenario)


def test_cancelled_error_from_an_async_node() -> None:
    def build() -> tuple[Any, Any]:
        async def node(state: State) -> dict:
            await asyncio.sleep(0)
            raise asyncio.CancelledError()

        g = StateGraph(State)
        g.add_node("n", node)
        g.add_edge(START, "n")
        return g.compile(), None

    causes = []

    async def scenario(graph: Any) -> Any:
        try:
            await graph.ainvoke({"trail": []})
        except Exception as exc:
            causes.append(type(exc.__cause__))
            raise

    stock, rs = run_both(build, scenario)
    assert stock.error is not None and stock.error[0].__name__ == "NodeCancelledError"
    assert rs.error == stock.error
    assert causes == [asyncio.CancelledError, asyncio.CancelledError]


def test_an_interrupt_in_a_retried_async_node_then_resume() -> None:
    def build() -> tuple[Any, Any]:
        async def node(state: State) -> dict:
            answer = interrupt("go?")
            return {"trail": [answer]}

        g = StateGraph(State)
        g.add_node("ask", node, retry_policy=POLICY)
        g.add_edge(START, "ask")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    async def scenario(g: Any) -> Any:
        first = await g.ainvoke({"trail": []}, CFG)
        return first, await g.ainvoke(Command(resume="yes"), CFG)

    assert_same(build, scenario)


def test_the_run_is_cancelled_while_a_node_awaits() -> None:
    started: list = []

    def build() -> tuple[Any, Any]:
        async def slow(state: State) -> dict:
            started.append(1)
            await asyncio.sleep(10)
            return {"trail": ["never"]}

        g = StateGraph(State)
        g.add_node("slow", slow, retry_policy=POLICY)
        g.add_edge(START, "slow")
        return g.compile(), None

    async def scenario(g: Any) -> Any:
        run = asyncio.ensure_future(g.ainvoke({"trail": []}))
        while not started:
            await asyncio.sleep(0)
        started.clear()
        run.cancel()
        try:
            await run
        except asyncio.CancelledError:
            return "cancelled"
        return "finished"

    stock, rs = run_both(build, scenario)
    assert stock.value == rs.value == "cancelled"

"""A sync task run with its retry policy (the engine's native ``run_with_retry``)
against LangGraph's: what the node sees on each attempt (its configurable keys in
order, the runtime's execution info), the sleeps and log lines between attempts,
the note on the error, ``ParentCommand`` routing and ``CancelledError``."""

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
from langgraph.types import Command, RetryPolicy

from tests.diff import assert_same, run_both


class State(TypedDict):
    trail: Annotated[list, operator.add]


def flaky_graph(fails: int, policy: RetryPolicy | None, seen: list) -> Any:
    def build() -> tuple[Any, Any]:
        count = {"n": 0}

        def node(state: State, config: RunnableConfig, runtime: Runtime) -> dict:
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


POLICY = RetryPolicy(max_attempts=3, initial_interval=0.01, backoff_factor=3.0, jitter=False, retry_on=ValueError)


@pytest.mark.parametrize("fails", [0, 2, 3])
def test_attempts_see_what_langgraphs_see(fails: int) -> None:
    seen: list = []
    stock, rs = run_both(flaky_graph(fails, POLICY, seen), lambda g: g.invoke({"trail": []}, {"configurable": {"thread_id": "1"}}))
    assert rs.error == stock.error
    assert rs.value == stock.value
    assert rs.history == stock.history
    half = len(seen) // 2
    assert seen[:half] == seen[half:]  # stock's attempts, then ours
    assert [s[1] for s in seen[half:]] == list(range(1, min(fails, 2) + 2))


def test_the_failure_carries_langgraphs_note_and_first_attempt_time_stays() -> None:
    times: list = []

    def build() -> tuple[Any, Any]:
        def node(state: State, runtime: Runtime) -> dict:
            times.append(runtime.execution_info.node_first_attempt_time)
            raise KeyError("broken")

        g = StateGraph(State)
        g.add_node("n", node, retry_policy=RetryPolicy(max_attempts=2, initial_interval=0.0, jitter=False, retry_on=KeyError))
        g.add_edge(START, "n")
        return g.compile(), None

    notes = []

    def scenario(graph: Any) -> Any:
        try:
            graph.invoke({"trail": []})
        except KeyError as exc:
            notes.append(getattr(exc, "__notes__", None))
            raise

    assert_same(build, scenario)
    assert notes[0] is not None and notes[0] == notes[1]
    assert notes[0][0].startswith("During task with name 'n' and id ")
    assert times[0] == times[1] and times[2] == times[3] and times[0] != times[2]


def test_sleeps_and_log_lines_between_attempts(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import time

    slept: list = []
    monkeypatch.setattr(time, "sleep", slept.append)
    caplog.set_level(logging.INFO, logger="langgraph")
    seen: list = []
    run_both(flaky_graph(3, POLICY, seen), lambda g: g.invoke({"trail": []}, {"configurable": {"thread_id": "1"}}))
    assert slept == [0.01, 0.03] * 2
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Retrying")]
    assert lines[:2] == lines[2:] and len(lines) == 4
    assert lines[0] == "Retrying task flaky after 0.01 seconds (attempt 1) after ValueError attempt 1"


def test_parent_command_from_a_subgraph() -> None:
    def build() -> tuple[Any, Any]:
        def inner(state: State) -> Command:
            return Command(graph=Command.PARENT, goto="after", update={"trail": ["from inner"]})

        sub = StateGraph(State)
        sub.add_node("inner", inner)
        sub.add_edge(START, "inner")

        def after(state: State) -> dict:
            return {"trail": ["after"]}

        g = StateGraph(State)
        g.add_node("sub", sub.compile(), retry_policy=POLICY)
        g.add_node("after", after)
        g.add_edge(START, "sub")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    assert_same(build, lambda g: list(g.stream({"trail": []}, {"configurable": {"thread_id": "1"}}, subgraphs=True)))


def test_cancelled_error_from_a_sync_node() -> None:
    def build() -> tuple[Any, Any]:
        def node(state: State) -> dict:
            raise asyncio.CancelledError()

        g = StateGraph(State)
        g.add_node("n", node)
        g.add_edge(START, "n")
        return g.compile(), None

    causes = []

    def scenario(graph: Any) -> Any:
        try:
            graph.invoke({"trail": []})
        except Exception as exc:
            causes.append(type(exc.__cause__))
            raise

    stock, rs = run_both(build, scenario)
    assert stock.error is not None and stock.error[0].__name__ == "NodeCancelledError"
    assert rs.error == stock.error
    assert causes == [asyncio.CancelledError, asyncio.CancelledError]

"""Divergences the differential fuzzer (``python -m tests.fuzz``) found, each pinned
by a small program run on both engines."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.func import entrypoint, task

from tests.diff import assert_same
from tests.fuzz.support import pause

CFG = {"configurable": {"thread_id": "a"}}


def test_task_calls_started_together_are_all_announced_before_a_fast_one_finishes() -> None:
    """Found as `--replay 1000040` (functional). LangGraph submits ``@task`` calls
    with ``next_tick`` (the worker yields the GIL first), so the entrypoint starts
    both calls -- and both ``task`` debug events are emitted -- before the instant
    one reports its result."""

    def build() -> tuple[Any, Any]:
        saver = InMemorySaver()

        @task
        def fast(x: int) -> int:
            return x + 2

        @task
        def slow(x: int) -> int:
            pause(2)
            return x + 3

        @entrypoint(checkpointer=saver)
        def workflow(n: int) -> dict:
            futs = [fast(n), slow(n + 1)]
            return {"acc": n + sum(f.result() for f in futs)}

        return workflow, saver

    def scenario(graph: Any) -> list:
        return [list(graph.stream(n, CFG, stream_mode="debug")) for n in range(3)]

    assert_same(build, scenario)

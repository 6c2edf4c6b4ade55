"""What LangGraph's own tests check through its private loop, checked through
what a user sees, on both engines.

Three of LangGraph's tests that fail under the strict swap do so because they
spy on or call LangGraph's loop itself (README, "Compatibility"): a spy on
``PregelLoop.put_writes``, one on the stream's ``AsyncQueue.wait``, a direct
call of ``_algo.prepare_next_tasks``. The behaviour the first two protect is
asserted here at the saver and at the event loop instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.func import entrypoint, task
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

from tests.diff import assert_same

CFG = {"configurable": {"thread_id": "1"}}
NULL_TASK = "00000000"  # the task id of writes made outside any task


class PutWritesLog(InMemorySaver):
    """InMemorySaver noting the task id of each ``put_writes``."""

    def __init__(self) -> None:
        super().__init__()
        self.task_ids: list[str] = []

    def put_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
        self.task_ids.append(task_id)
        super().put_writes(config, writes, task_id, task_path)


def test_a_cached_task_is_not_written_again_on_resume() -> None:
    """LangGraph's ``test_no_redundant_put_writes_for_cached_task``: on resume,
    the @task whose result was saved before the interrupt is not written again;
    only the interrupted task and the entrypoint are."""

    def build() -> tuple[Any, Any]:
        saver = PutWritesLog()

        @task
        def setup(x: int) -> int:
            return x

        @task
        def ask(question: str) -> str:
            return interrupt(question)

        @entrypoint(checkpointer=saver)
        def workflow(x: int) -> dict:
            n = setup(x).result()
            return {"answer": ask(f"q{n}").result()}

        return workflow, saver

    def scenario(g: Any) -> Any:
        first = g.invoke(1, CFG)
        g.checkpointer.task_ids.clear()
        second = g.invoke(Command(resume="ans"), CFG)
        written = {t for t in g.checkpointer.task_ids if not t.startswith(NULL_TASK)}
        return first, second, len(written)

    out = assert_same(build, scenario, CFG)
    first, second, written = out.value
    assert "__interrupt__" in first
    assert second == {"answer": "ans"}
    assert written == 2  # ask and the entrypoint; setup's result is not re-saved


def test_cancelling_an_astream_consumer_leaves_no_task_behind() -> None:
    """LangGraph's ``test_astream_waiter_cleanup_on_cancel``: a consumer of
    ``astream`` cancelled mid-run leaves no task of the run pending."""

    class State(TypedDict, total=False):
        count: int

    async def slow(state: State) -> State:
        await asyncio.sleep(0.05)
        out = {"count": state.get("count", 0) + 1}
        await asyncio.sleep(1.0)  # still sleeping when the check below looks, if left running
        return out

    def build() -> tuple[Any, Any]:
        g = StateGraph(State)
        g.add_node("slow", slow)
        g.add_edge(START, "slow")
        g.add_edge("slow", END)
        return g.compile(), None

    async def scenario(graph: Any) -> Any:
        async def consumer() -> None:
            async for _ in graph.astream({"count": 0}, stream_mode="messages"):
                await asyncio.sleep(0.01)

        before = asyncio.all_tasks()
        consuming = asyncio.create_task(consumer())
        await asyncio.sleep(0.05)
        consuming.cancel()
        try:
            await consuming
        except asyncio.CancelledError:
            cancelled = True
        else:
            cancelled = False
        await asyncio.sleep(0.2)
        left = [t for t in asyncio.all_tasks() - before if t is not asyncio.current_task()]
        return cancelled, [t.get_coro().__qualname__ for t in left if not t.done()]

    out = assert_same(build, scenario, CFG)
    assert out.value == (True, [])

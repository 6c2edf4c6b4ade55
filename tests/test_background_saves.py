"""Saves in the background (durability "async", LangGraph's default): the
saver works while the next step runs, saves reach it in the order made, a
failed save is raised at exit, a failed task's error writes are saved before
its handler runs. ``InMemorySaver`` (no I/O) is called in place.

Every scenario runs on both engines and is compared whole (``tests.hostile``);
the overlap itself is asserted on ours."""

from __future__ import annotations

import asyncio
import operator
import threading
import time
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.errors import NodeError

import langgraph_rs
from tests.hostile import aattempt, achunks, attempt, chunks, same

CFG = {"configurable": {"thread_id": "1"}}
WAIT = 10.0  # seconds an event may take (never reached unless the engine is wrong)


class State(TypedDict):
    n: int
    log: Annotated[list, operator.add]


class GatedSaver(InMemorySaver):
    """A saver whose first checkpoint ``put`` after the input one waits until
    the next node has started: it returns at once when the engine saves in
    the background, after ``WAIT`` seconds when it saves in place."""

    def __init__(self) -> None:
        super().__init__()
        self.node_started = threading.Event()
        self.overlapped: list[bool] = []
        self.threads: set[int] = set()

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        self.threads.add(threading.get_ident())
        if metadata.get("step") == 0:
            self.overlapped.append(self.node_started.wait(WAIT))
        return super().put(config, checkpoint, metadata, new_versions)

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        if metadata.get("step") == 0:
            deadline = time.monotonic() + WAIT
            while not self.node_started.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.001)
            self.overlapped.append(self.node_started.is_set())
        return super().put(config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
        return super().put_writes(config, writes, task_id, task_path)


def chain(saver: Any, *, is_async: bool = False) -> Any:
    """START -> a -> b -> END; ``b`` marks the saver's event as it starts."""

    def build():
        cp = saver()
        g = StateGraph(State)
        if is_async:

            async def a(s: State) -> dict:
                return {"n": s["n"] + 1, "log": ["a"]}

            async def b(s: State) -> dict:
                if isinstance(cp, GatedSaver):
                    cp.node_started.set()
                await asyncio.sleep(0)
                return {"n": s["n"] + 1, "log": ["b"]}

        else:

            def a(s: State) -> dict:
                return {"n": s["n"] + 1, "log": ["a"]}

            def b(s: State) -> dict:
                if isinstance(cp, GatedSaver):
                    cp.node_started.set()
                return {"n": s["n"] + 1, "log": ["b"]}

        g.add_node("a", a)
        g.add_node("b", b)
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", END)
        return g.compile(checkpointer=cp), cp

    return build


def test_the_saver_works_while_the_next_step_runs() -> None:
    """Step 0's checkpoint is saved while step 1's node runs, off the thread
    that drives the run."""
    threads: list[set[int]] = []  # per engine: the threads that saved

    def scenario(g: Any) -> list:
        out = [attempt(lambda: g.invoke({"n": 0, "log": []}, CFG)), list(g.checkpointer.overlapped)]
        threads.append(g.checkpointer.threads)
        return out

    outcome = same(chain(GatedSaver), scenario)
    assert outcome.value[1] == [True]
    assert threading.get_ident() not in threads[-1]  # (the last run is ours)


def test_async_saver_works_while_the_next_step_runs() -> None:
    async def scenario(g: Any) -> list:
        return [await aattempt(g.ainvoke({"n": 0, "log": []}, CFG)), list(g.checkpointer.overlapped)]

    outcome = same(chain(GatedSaver, is_async=True), scenario)
    assert outcome.value[1] == [True]


def test_in_memory_saver_is_called_in_place() -> None:
    """``InMemorySaver`` does no I/O: its calls are made by the run's thread."""
    threads: set[int] = set()
    g, saver = chain(InMemorySaver)()
    put = saver.put

    def watched(*args: Any) -> Any:
        threads.add(threading.get_ident())
        return put(*args)

    saver.put = watched  # (the instance is still exactly an InMemorySaver)
    g = langgraph_rs.compile(g.builder, checkpointer=saver)
    assert g.invoke({"n": 0, "log": []}, CFG) == {"n": 2, "log": ["a", "b"]}
    assert threads == {threading.get_ident()}


class Recording(InMemorySaver):
    """Records the saver calls in the order they are made."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple] = []

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        time.sleep(0.001)  # some I/O
        self.calls.append(("put", metadata["step"], metadata["source"]))
        return super().put(config, checkpoint, metadata, new_versions)

    def put_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
        self.calls.append(("put_writes", tuple(c for c, _ in writes)))
        return super().put_writes(config, writes, task_id, task_path)


def test_saves_reach_the_saver_in_order() -> None:
    """Checkpoints in step order, every write saved; the saved history is stock's."""

    def scenario(g: Any) -> list:
        return [
            attempt(lambda: g.invoke({"n": 0, "log": []}, CFG)),
            [c for c in g.checkpointer.calls if c[0] == "put"],
            sorted(c for c in g.checkpointer.calls if c[0] == "put_writes"),
            attempt(lambda: g.invoke({"n": 5, "log": []}, CFG)),
        ]

    outcome = same(chain(Recording), scenario)
    assert [c[1] for c in outcome.value[1]] == [-1, 0, 1, 2]


class FailingPut(InMemorySaver):
    """The checkpoint of step ``fail_at`` fails to save."""

    fail_at = 0

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        if metadata["step"] == self.fail_at:
            raise ConnectionError("database went away")
        return super().put(config, checkpoint, metadata, new_versions)

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
        return super().put_writes(config, writes, task_id, task_path)


@pytest.mark.parametrize("is_async", [False, True])
def test_a_failed_save_is_raised_at_exit(is_async: bool) -> None:
    """The run goes on, the failure is raised when it ends; no later checkpoint
    is saved (each waits on the one before); the saved history is stock's."""
    build = chain(FailingPut, is_async=is_async)
    if is_async:

        async def ascenario(g: Any) -> list:
            return [
                await achunks(lambda: g.astream({"n": 0, "log": []}, CFG, stream_mode="values")),
                await aattempt(g.aget_state(CFG)),
            ]

        outcome = same(build, ascenario)
    else:

        def scenario(g: Any) -> list:
            return [
                chunks(lambda: g.stream({"n": 0, "log": []}, CFG, stream_mode="values")),
                attempt(lambda: g.get_state(CFG)),
            ]

        outcome = same(build, scenario)
    streamed = outcome.value[0]
    assert streamed[-1] == ("raised", ConnectionError, "database went away")


@pytest.mark.parametrize("is_async", [False, True])
def test_error_writes_are_saved_before_the_handler_runs(is_async: bool) -> None:
    """A failed task's error writes are durable when its error handler starts."""
    seen: list[Any] = []

    def build():
        cp = Recording()

        def boom(s: State) -> dict:
            raise ValueError("boom")

        def handler(s: State, error: NodeError) -> dict:
            seen.append([c for c in cp.calls if c[0] == "put_writes"])
            return {"log": [f"handled {error.node}"]}

        g = StateGraph(State)
        g.add_node("boom", boom, error_handler=handler)
        g.add_edge(START, "boom")
        return g.compile(checkpointer=cp), cp

    def scenario(g: Any) -> list:
        seen.clear()
        if is_async:
            result = asyncio.run(aattempt(g.ainvoke({"n": 0, "log": []}, CFG)))
        else:
            result = attempt(lambda: g.invoke({"n": 0, "log": []}, CFG))
        return [result, list(seen)]

    outcome = same(build, scenario)
    assert outcome.value[0] == ("ok", {"n": 0, "log": ["handled boom"]})
    assert any("__error__" in c[1] for c in outcome.value[1][0]), outcome.value[1]

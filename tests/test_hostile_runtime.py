"""Hostile runtime events: a checkpointer whose ``put``/``put_writes`` fails mid-run,
a KeyboardInterrupt inside a node, an async run cancelled mid-superstep. Each is
run on both engines: how the run ends (error type and message), what it streamed,
which node bodies ran, the checkpoint history, and how the thread resumes
afterwards must be LangGraph's own. Every test also checks that the hostile event
really happened, so none can pass vacuously."""

from __future__ import annotations

import asyncio
import operator
import time
from typing import Annotated, Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

from tests.hostile import aattempt, achunks, attempt, chunks, same

CFG = {"configurable": {"thread_id": "1"}}
OTHER = {"configurable": {"thread_id": "2"}}
MODES = ["values", "updates"]


class State(TypedDict):
    n: int
    log: Annotated[list, operator.add]


class FlakySaver(InMemorySaver):
    """An InMemorySaver whose ``fail``-th call of ``method`` (put, put_writes, aput
    or aput_writes) raises ``OSError`` — once: later calls go through, so the
    thread can be resumed. ``watch(writes)`` sees every batch of writes saved."""

    def __init__(self, method: str = "", fail: int = 0, watch: Any = None) -> None:
        super().__init__()
        self.method, self.fail, self.watch, self.calls = method, fail, watch, []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name == self.method and self.calls.count(name) == self.fail:
            raise OSError(f"{name} #{self.fail}: disk full")

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        self._call("put")
        return super().put(config, checkpoint, metadata, new_versions)

    def put_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
        self._call("put_writes")
        super().put_writes(config, writes, task_id, task_path)

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        self._call("aput")
        return InMemorySaver.put(self, config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
        self._call("aput_writes")
        InMemorySaver.put_writes(self, config, writes, task_id, task_path)
        if self.watch is not None:
            self.watch(writes)


ran: list[str] = []


def diamond(saver: Any, *, ask: bool = False, fail_c: bool = False, handler: bool = False) -> Any:
    """START -> a, b (in parallel; b finishes 0.25s after a) -> c. ``c`` raises on
    its first run (``fail_c``; into an error handler with ``handler``) or
    interrupts (``ask``)."""
    failures: list[Exception] = []

    def node(name: str, delay: float) -> Any:
        def run(s: State) -> dict:
            time.sleep(delay)
            ran.append(name)
            return {"log": [name]}

        return run

    def c(s: State) -> dict:
        ran.append("c")
        if failures:
            raise failures.pop()
        return {"n": s["n"] + 1, "log": [interrupt("go?") if ask else "c"]}

    def build():
        failures[:] = [ValueError("c failed")] if fail_c else []
        g = StateGraph(State)
        g.add_node("a", node("a", 0.0))
        g.add_node("b", node("b", 0.25))
        g.add_node("c", c, error_handler=(lambda s: {"log": ["handled"]}) if handler else None)
        g.add_edge(START, "a")
        g.add_edge(START, "b")
        g.add_edge(["a", "b"], "c")
        cp = saver()
        return g.compile(checkpointer=cp), cp

    return build


def failed_with(record: list, exc_type: type, message: str) -> bool:
    return record[-1] == ("raised", exc_type, message)


# -- 1. a checkpointer that fails mid-run ------------------------------------


async def _alist(items: Any) -> list:
    return [item async for item in items]


def mid_run(durability: str, is_async: bool) -> Any:
    """Run, then read the thread's history, resume it, and run another thread."""

    def scenario(g: Any) -> list:
        ran.clear()
        out = [chunks(lambda: g.stream({"n": 0, "log": []}, CFG, stream_mode=MODES, durability=durability))]
        out += [list(ran), attempt(lambda: list(g.get_state_history(CFG)))]
        out += [attempt(lambda: g.invoke(None, CFG)), list(ran), attempt(lambda: g.invoke({"n": 5, "log": []}, OTHER))]
        return out

    async def ascenario(g: Any) -> list:
        ran.clear()
        out = [await achunks(lambda: g.astream({"n": 0, "log": []}, CFG, stream_mode=MODES, durability=durability))]
        out += [list(ran), await aattempt(_alist(g.aget_state_history(CFG)))]
        out += [await aattempt(g.ainvoke(None, CFG)), list(ran), await aattempt(g.ainvoke({"n": 5, "log": []}, OTHER))]
        return out

    return ascenario if is_async else scenario


@pytest.mark.parametrize("fail", [1, 2, 3, 4])
@pytest.mark.parametrize("durability", ["sync", "async"])
@pytest.mark.parametrize("method", ["put", "put_writes", "aput", "aput_writes"])
def test_saver_fails_mid_run(method: str, durability: str, fail: int) -> None:
    """Stock LangGraph saves in the background: a failed save doesn't stop the
    run, its error is raised at exit (``put``: right after the step, with
    durability "sync"), and a failed checkpoint fails every later one."""
    out = same(diamond(lambda: FlakySaver(method, fail)), mid_run(durability, method.startswith("a")))
    assert failed_with(out.value[0], OSError, f"{method} #{fail}: disk full")


@pytest.mark.parametrize("durability", ["sync", "async"])
@pytest.mark.parametrize("method", ["put_writes", "aput_writes"])
def test_saver_fails_on_the_writes_of_a_node_with_an_error_handler(method: str, durability: str) -> None:
    """Save #4 is ``c``'s error. LangGraph's async loop awaits it before running
    ``c``'s error handler, so raises there; the sync loop waits without raising."""
    build = diamond(lambda: FlakySaver(method, 4), fail_c=True, handler=True)
    out = same(build, mid_run(durability, method.startswith("a")))
    assert failed_with(out.value[0], OSError, f"{method} #4: disk full")
    assert ("handled" in str(out.value[0])) is (method == "put_writes")


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("ending", ["done", "node_error", "interrupt"])
def test_saver_fails_at_exit(ending: str, is_async: bool) -> None:
    """durability="exit": the one save is the exit save. Its error is raised when
    the run finished or was interrupted, and dropped for a node's error."""
    method = "aput" if is_async else "put"
    build = diamond(lambda: FlakySaver(method, 1), ask=ending == "interrupt", fail_c=ending == "node_error")
    inp = {"n": 0, "log": []}

    def scenario(g: Any) -> list:
        ran.clear()
        out = [chunks(lambda: g.stream(inp, CFG, stream_mode=MODES, durability="exit")), list(ran)]
        out += [attempt(lambda: g.get_state(CFG)), attempt(lambda: g.invoke(inp, CFG, durability="exit"))]
        return out + [attempt(lambda: g.invoke(Command(resume="yes"), CFG)), list(ran)]

    async def ascenario(g: Any) -> list:
        ran.clear()
        out = [await achunks(lambda: g.astream(inp, CFG, stream_mode=MODES, durability="exit")), list(ran)]
        out += [await aattempt(g.aget_state(CFG)), await aattempt(g.ainvoke(inp, CFG, durability="exit"))]
        return out + [await aattempt(g.ainvoke(Command(resume="yes"), CFG)), list(ran)]

    out = same(build, ascenario if is_async else scenario)
    if ending == "node_error":
        assert failed_with(out.value[0], ValueError, "c failed")
    else:
        assert failed_with(out.value[0], OSError, f"{method} #1: disk full")


# -- 2. KeyboardInterrupt inside a sync node ----------------------------------


@pytest.mark.parametrize("siblings", [False, True], ids=["alone", "parallel"])
def test_keyboard_interrupt_in_a_node(siblings: bool) -> None:
    """The first run of ``boom`` raises KeyboardInterrupt (after ``early``
    finished, before ``late`` did, when they run alongside it)."""
    interrupts: list[BaseException] = []

    def boom(s: State) -> dict:
        time.sleep(0.2 if siblings else 0.0)
        ran.append("boom")
        if interrupts:
            raise interrupts.pop()
        return {"log": ["boom"]}

    def sibling(name: str, delay: float) -> Any:
        def run(s: State) -> dict:
            time.sleep(delay)
            ran.append(name)
            return {"log": [name]}

        return run

    def build():
        g = StateGraph(State)
        g.add_node("first", sibling("first", 0.0))
        g.add_node("boom", boom)
        g.add_node("after", sibling("after", 0.0))
        g.add_edge(START, "first")
        g.add_edge("first", "boom")
        fan_in = ["boom"]
        if siblings:
            for name, delay in (("early", 0.0), ("late", 0.6)):
                g.add_node(name, sibling(name, delay))
                g.add_edge("first", name)
                fan_in.append(name)
        g.add_edge(fan_in, "after")
        cp = InMemorySaver()
        return g.compile(checkpointer=cp), cp

    def scenario(g: Any) -> list:
        ran.clear()
        interrupts.append(KeyboardInterrupt())
        out = [chunks(lambda: g.stream({"n": 0, "log": []}, CFG, stream_mode=MODES)), list(ran)]
        out += [attempt(lambda: g.get_state(CFG)), attempt(lambda: g.invoke(None, CFG)), list(ran)]
        return out + [attempt(lambda: g.invoke({"n": 1, "log": []}, OTHER))]

    out = same(build, scenario)
    assert failed_with(out.value[0], KeyboardInterrupt, "")
    assert "boom" in out.value[1] and out.value[-1][0] == "ok"


# -- 3. an async run cancelled mid-superstep ----------------------------------


def racing(finished: list, cancelled: list, watch: Any = None) -> Any:
    """START -> slow, slower, quick (in parallel) -> join. ``slow``/``slower``
    sleep 2s/3s on their first run (0.2s/0.1s after), recording whether their
    body finished or was cancelled."""
    first = {"slow": 2.0, "slower": 3.0}
    later = {"slow": 0.2, "slower": 0.1}
    runs: dict[str, int] = {}

    def sleeper(name: str) -> Any:
        async def run(s: State) -> dict:
            runs[name] = runs.get(name, 0) + 1
            try:
                await asyncio.sleep(first[name] if runs[name] == 1 else later[name])
            except asyncio.CancelledError:
                cancelled.append(name)
                raise
            finished.append(name)
            return {"log": [name]}

        return run

    async def quick(s: State) -> dict:
        finished.append("quick")
        return {"n": 7}

    async def join(s: State) -> dict:
        finished.append("join")
        return {"log": ["join"]}

    def build():
        runs.clear()
        g = StateGraph(State)
        for name, fn in (("slow", sleeper("slow")), ("slower", sleeper("slower")), ("quick", quick)):
            g.add_node(name, fn)
            g.add_edge(START, name)
        g.add_node("join", join)
        g.add_edge(["slow", "slower", "quick"], "join")
        cp = FlakySaver(watch=watch)
        return g.compile(checkpointer=cp), cp

    return build


async def _after_cancel(g: Any, task: asyncio.Task, finished: list, cancelled: list) -> list:
    out = [await aattempt(task), sorted(finished), sorted(cancelled)]
    await asyncio.sleep(0.05)  # nothing still running writes anything later
    out += [sorted(finished), await aattempt(g.aget_state(CFG))]
    out += [await aattempt(g.ainvoke(None, CFG)), list(finished), sorted(cancelled)]
    return out


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_astream_cancelled_mid_superstep(durability: str) -> None:
    """The consumer's task is cancelled right after ``quick``'s update arrives,
    while ``slow`` and ``slower`` are still sleeping."""
    finished: list[str] = []
    cancelled: list[str] = []

    async def scenario(g: Any) -> list:
        finished.clear()
        cancelled.clear()
        seen: list[Any] = []
        quick_done = asyncio.Event()

        async def consume() -> None:
            async for chunk in g.astream({"n": 0, "log": []}, CFG, stream_mode="updates", durability=durability):
                seen.append(chunk)
                if "quick" in chunk:
                    quick_done.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(quick_done.wait(), 20)
        task.cancel()
        return [*(await _after_cancel(g, task, finished, cancelled)), seen]

    out = same(racing(finished, cancelled), scenario)
    assert out.value[0] == ("raised", asyncio.CancelledError, "")
    assert out.value[1] == ["quick"] and out.value[2] == ["slow", "slower"]
    assert out.value[5] == ("ok", {"n": 7, "log": ["slow", "slower", "join"]})


def test_ainvoke_cancelled_mid_superstep() -> None:
    """The task running ``ainvoke`` is cancelled once ``quick``'s writes are saved."""
    finished: list[str] = []
    cancelled: list[str] = []
    saved_quick: asyncio.Event | None = None  # one per run (each engine has its event loop)

    def watch(writes: Any) -> None:
        if ("n", 7) in list(writes) and saved_quick is not None:
            saved_quick.set()

    async def scenario(g: Any) -> list:
        nonlocal saved_quick
        finished.clear()
        cancelled.clear()
        saved_quick = asyncio.Event()
        task = asyncio.create_task(g.ainvoke({"n": 0, "log": []}, CFG))
        await asyncio.wait_for(saved_quick.wait(), 20)
        task.cancel()
        return await _after_cancel(g, task, finished, cancelled)

    out = same(racing(finished, cancelled, watch), scenario)
    assert out.value[0] == ("raised", asyncio.CancelledError, "")
    assert out.value[1] == ["quick"] and out.value[2] == ["slow", "slower"]
    assert out.value[5] == ("ok", {"n": 7, "log": ["slow", "slower", "join"]})

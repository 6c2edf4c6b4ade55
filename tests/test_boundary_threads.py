"""One compiled graph run concurrently: 32 threads (``invoke``, sync nodes) and
1,000 asyncio tasks (``ainvoke``, async nodes) at once, without a checkpointer
and sharing one InMemorySaver (distinct thread ids). Every result, and each
thread's whole checkpoint history, equals a single-threaded stock LangGraph
run's; bounded waits turn a deadlock into a failure.

Checkpoint ids and InMemorySaver's version suffixes come from per-run
deterministic streams (a context variable per run), so a run's history does not
depend on how the concurrent runs interleave and compares with ``==``.
"""

from __future__ import annotations

import asyncio
import contextvars
import faulthandler
import functools
import itertools
import operator
import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Annotated, Any

import langgraph.checkpoint.memory as lg_memory
import langgraph.pregel._checkpoint as lg_checkpoint
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from typing_extensions import TypedDict

import langgraph_rs._loop_checkpoint as rs_loop
from tests.diff import engine, history

THREADS = 32
TASKS = 1000
DEADLINE = 180.0  # seconds for all concurrent runs of one case

_ids: contextvars.ContextVar[Any] = contextvars.ContextVar("checkpoint_ids")
_rng: contextvars.ContextVar[random.Random] = contextvars.ContextVar("versions_rng")


def _uuid6(node: Any = None, clock_seq: Any = None) -> uuid.UUID:
    return uuid.UUID(f"1f000000-0000-6000-8000-{next(_ids.get()):012x}")


class _PerRunRandom:
    """Stands in for the ``random`` module InMemorySaver draws version suffixes from."""

    @staticmethod
    def random() -> float:
        return _rng.get().random()


def _fresh_streams() -> None:
    """Start this run's own id and version streams (in the current context)."""
    _ids.set(itertools.count(1))
    _rng.set(random.Random(1234))


@pytest.fixture(autouse=True)
def _watchdog() -> Any:
    """A deadlock that holds the GIL freezes the interpreter, where no timeout in
    Python can fire: then dump every thread's stack and exit the process."""
    faulthandler.dump_traceback_later(DEADLINE + 120, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(autouse=True)
def _per_run_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lg_checkpoint, "uuid6", _uuid6)
    monkeypatch.setattr(rs_loop, "checkpoint_id", lambda step: str(_uuid6(clock_seq=step)))
    monkeypatch.setattr(lg_memory, "random", _PerRunRandom)


class S(TypedDict):
    n: int
    items: Annotated[list, operator.add]
    total: int


def _route(s: S) -> list:
    """A fan-out: one Send per item, plus ``odd`` by name for odd n."""
    n = s["n"]
    return [Send("work", {"n": n, "items": [k]}) for k in range(2 + n % 3)] + (
        ["odd"] if n % 2 else []
    )


def _builder(is_async: bool) -> StateGraph:
    g = StateGraph(S)
    if is_async:

        async def prep(s: S) -> dict:
            await asyncio.sleep(0)
            return {"items": [s["n"]]}

        async def work(s: S) -> dict:
            await asyncio.sleep(0.001 * (s["items"][0] % 2))
            return {"items": [s["n"] * 10 + s["items"][0]]}

        async def odd(s: S) -> dict:
            await asyncio.sleep(0)
            return {"items": [-s["n"]]}

        async def total(s: S) -> dict:
            return {"total": sum(s["items"])}

    else:

        def prep(s: S) -> dict:
            time.sleep(0)
            return {"items": [s["n"]]}

        def work(s: S) -> dict:
            time.sleep(0.001 * (s["items"][0] % 2))
            return {"items": [s["n"] * 10 + s["items"][0]]}

        def odd(s: S) -> dict:
            return {"items": [-s["n"]]}

        def total(s: S) -> dict:
            return {"total": sum(s["items"])}

    g.add_node("prep", prep)
    g.add_node("work", work)
    g.add_node("odd", odd)
    g.add_node("total", total)
    g.add_edge(START, "prep")
    g.add_conditional_edges("prep", _route)
    g.add_edge("work", "total")
    g.add_edge("odd", "total")
    g.add_edge("total", END)
    return g


def _by_hand(n: int) -> list:
    """The items of run ``n`` (as a multiset: the order is the engines' to agree on)."""
    return sorted([n] + [n * 10 + k for k in range(2 + n % 3)] + ([-n] if n % 2 else []))


def _config(i: int, saver: Any) -> dict:
    return {"configurable": {"thread_id": f"t{i}"}} if saver is not None else {}


def _check(i: int, result: dict, expected: dict) -> None:
    assert sorted(result["items"]) == _by_hand(i)
    assert result["total"] == sum(_by_hand(i))
    assert result == expected


@functools.lru_cache(maxsize=None)
def _stock_runs(is_async: bool, count: int) -> tuple[list, list]:
    """Single-threaded stock runs with an InMemorySaver: each run's result and history."""
    saver = InMemorySaver()
    with engine("stock"):
        graph = _builder(is_async).compile(checkpointer=saver)

        def sync_runs() -> list:
            out = []
            for i in range(count):
                _fresh_streams()
                out.append(graph.invoke({"n": i}, _config(i, saver)))
            return out

        async def async_runs() -> list:
            out = []
            for i in range(count):
                _fresh_streams()
                out.append(await graph.ainvoke({"n": i}, _config(i, saver)))
            return out

        if is_async:
            results = asyncio.run(async_runs())
        else:
            results = contextvars.copy_context().run(sync_runs)
    return results, [history(saver, _config(i, saver)) for i in range(count)]


def _reference(is_async: bool, with_saver: bool, count: int) -> tuple[list, list]:
    """What each concurrent run must give: stock's result (the same with or
    without a checkpointer) and history (none without a checkpointer)."""
    results, histories = _stock_runs(is_async, count)  # ids and versions as patched here
    return results, histories if with_saver else [[] for _ in range(count)]


def _in_threads(run: Callable[[int], Any], count: int) -> list:
    """``run(i)`` for each i in its own (daemon) thread, all started together by a
    barrier; a run still going at the deadline fails the test (and, being a
    daemon thread, cannot hang the interpreter's exit)."""
    barrier = threading.Barrier(count, timeout=60)
    results: list = [None] * count
    errors: list = []

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = run(i)
        except BaseException as exc:  # noqa: BLE001  (re-raised below)
            errors.append(exc)

    threads = [
        threading.Thread(target=target, args=(i,), name=f"run-{i}", daemon=True)
        for i in range(count)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + DEADLINE
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"deadlock: {len(stuck)} of {count} runs unfinished after {DEADLINE}s"
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("with_saver", [False, True], ids=["no_checkpointer", "in_memory_saver"])
def test_32_threads_invoke_one_graph_at_once(with_saver: bool) -> None:
    expected, expected_histories = _reference(False, with_saver, THREADS)
    saver = InMemorySaver() if with_saver else None
    in_flight = 0
    most_in_flight = 0
    count_lock = threading.Lock()
    with engine("rs"):
        graph = _builder(False).compile(checkpointer=saver)

        def run(i: int) -> dict:
            nonlocal in_flight, most_in_flight
            _fresh_streams()  # this thread's context
            with count_lock:
                in_flight += 1
                most_in_flight = max(most_in_flight, in_flight)
            result = graph.invoke({"n": i}, _config(i, saver))
            with count_lock:
                in_flight -= 1
            return result

        results = _in_threads(run, THREADS)
    assert most_in_flight > 1  # the runs did overlap
    for i, result in enumerate(results):
        _check(i, result, expected[i])
        assert history(saver, _config(i, saver)) == expected_histories[i]
    if with_saver:
        assert len({t.config["configurable"]["thread_id"] for t in saver.list(None)}) == THREADS


@pytest.mark.parametrize("with_saver", [False, True], ids=["no_checkpointer", "in_memory_saver"])
def test_1000_asyncio_tasks_ainvoke_one_graph_at_once(with_saver: bool) -> None:
    expected, expected_histories = _reference(True, with_saver, TASKS)
    saver = InMemorySaver() if with_saver else None
    with engine("rs"):
        graph = _builder(True).compile(checkpointer=saver)

        async def main() -> list:
            gate = asyncio.Event()
            waiting = 0

            async def run(i: int) -> dict:
                nonlocal waiting
                _fresh_streams()
                waiting += 1
                await gate.wait()  # all tasks call ainvoke together
                return await graph.ainvoke({"n": i}, _config(i, saver))

            tasks = [asyncio.create_task(run(i)) for i in range(TASKS)]
            while waiting < TASKS:
                await asyncio.sleep(0)
            gate.set()
            return await asyncio.wait_for(asyncio.gather(*tasks), timeout=DEADLINE)

        # the event loop runs in a thread of its own, so that a loop that blocks
        # fails the test at the deadline instead of hanging it
        (results,) = _in_threads(lambda _: asyncio.run(main()), 1)
    for i, result in enumerate(results):
        _check(i, result, expected[i])
        assert history(saver, _config(i, saver)) == expected_histories[i]
    if with_saver:
        assert len({t.config["configurable"]["thread_id"] for t in saver.list(None)}) == TASKS

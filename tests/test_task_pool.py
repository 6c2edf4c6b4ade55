"""The engine's task threads (``langgraph_rs._task_pool``): kept across runs,
while each run's lane behaves as the per-run pool LangGraph makes — its
concurrency limit, order, cancellation, contexts, exit — and nested runs
cannot deadlock it."""

from __future__ import annotations

import gc
import operator
import threading
import time
import weakref
from contextvars import ContextVar
from typing import Annotated, Any

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from typing_extensions import TypedDict

from langgraph_rs import _task_pool
from langgraph_rs._native import JobQueue
from langgraph_rs._task_pool import DEFAULT_LIMIT, Lane
from tests.diff import assert_same, engine


class _Peak:
    """How many calls run at once, at most."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def __call__(self, seconds: float) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(seconds)
        with self.lock:
            self.now -= 1


def test_lane_runs_at_most_its_limit_in_submit_order() -> None:
    lane, peak, order = Lane(2), _Peak(), []

    def job(i: int) -> int:
        order.append(i)
        peak(0.01)
        return i * i

    futs = [lane.submit(job, i) for i in range(8)]
    assert [f.result(timeout=10) for f in futs] == [i * i for i in range(8)]
    assert peak.peak == 2
    assert order[:2] in ([0, 1], [1, 0]) and order[2:] == list(range(2, 8))


def test_lane_default_limit_is_thread_pool_default() -> None:
    from concurrent.futures import ThreadPoolExecutor

    assert DEFAULT_LIMIT == ThreadPoolExecutor()._max_workers
    assert Lane(None).limit == DEFAULT_LIMIT


def test_bad_max_concurrency_fails_as_thread_pool() -> None:
    from concurrent.futures import ThreadPoolExecutor

    for bad in (0, -1):
        with pytest.raises(ValueError) as ours:
            Lane(bad)
        with pytest.raises(ValueError) as stock:
            ThreadPoolExecutor(bad)
        assert str(ours.value) == str(stock.value)


def test_queued_job_can_be_cancelled_running_one_cannot() -> None:
    lane, started, release, ran = Lane(1), threading.Event(), threading.Event(), []

    def first() -> None:
        started.set()
        release.wait(10)

    running = lane.submit(first)
    started.wait(10)
    queued = lane.submit(ran.append, "queued")
    assert not running.cancel()
    assert queued.cancel()
    release.set()
    lane.join()
    assert running.done() and queued.cancelled() and ran == []


def test_job_errors_reach_the_future() -> None:
    lane = Lane(None)

    def boom() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        lane.submit(boom).result(timeout=10)
    assert lane.submit(int, "7").result(timeout=10) == 7  # the thread survived


def test_jobs_run_in_a_copy_of_the_submitters_context() -> None:
    var: ContextVar[str] = ContextVar("var", default="unset")
    lane = Lane(1)

    def set_and_read(value: str) -> str:
        seen = var.get()
        var.set(value)
        return seen

    token = var.set("caller")
    try:
        assert lane.submit(set_and_read, "job1").result(timeout=10) == "caller"
        # the job's own set stayed in its copy: neither the caller nor the next
        # job on the same thread sees it
        assert var.get() == "caller"
        assert lane.submit(set_and_read, "job2").result(timeout=10) == "caller"
    finally:
        var.reset(token)
    assert lane.submit(set_and_read, "job3").result(timeout=10) == "unset"


def test_join_waits_for_every_job() -> None:
    lane, done = Lane(2), []
    for i in range(5):
        lane.submit(lambda i=i: (time.sleep(0.01), done.append(i)))
    lane.join()
    assert sorted(done) == list(range(5))


def test_nested_lanes_deeper_than_the_limit_do_not_deadlock() -> None:
    """Each job waits for a job of a lane of its own (a task running a subgraph
    that fans out): with a fixed number of threads this would hang."""
    depth = DEFAULT_LIMIT * 3

    def level(n: int) -> int:
        if n == depth:
            return n
        return Lane(None).submit(level, n + 1).result(timeout=20)

    assert Lane(None).submit(level, 0).result(timeout=30) == depth


def test_idle_threads_are_reused_then_end(monkeypatch: pytest.MonkeyPatch) -> None:
    threads = _task_pool._Threads()
    monkeypatch.setattr(_task_pool, "_threads", threads)
    monkeypatch.setattr(_task_pool, "IDLE_SECONDS", 0.2)
    names: set[str] = set()
    lane = Lane(None)
    for _ in range(20):
        lane.submit(lambda: names.add(threading.current_thread().name)).result(timeout=10)
        time.sleep(0.001)  # the thread is idle again before the next submit
    assert len(names) == 1  # one thread took every job
    deadline = time.monotonic() + 10
    while any(t.name in names for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name in names for t in threading.enumerate())
    assert lane.submit(lambda: 5).result(timeout=10) == 5  # a new thread starts


class Fan(TypedDict):
    n: int
    seen: Annotated[list, operator.add]


def _fan_graph(width: int, peak: _Peak, seconds: float) -> Any:
    def src(s: Fan) -> dict:
        return {"seen": ["src"]}

    def fan(s: Fan) -> list:
        return [Send("work", {"n": i, "seen": []}) for i in range(width)]

    def work(s: Fan) -> dict:
        peak(seconds)
        return {"seen": [s["n"]]}

    g = StateGraph(Fan)
    g.add_node("src", src)
    g.add_node("work", work)
    g.add_edge(START, "src")
    g.add_conditional_edges("src", fan, ["work"])
    g.add_edge("work", END)
    return g.compile()


@pytest.mark.parametrize("max_concurrency", [None, 1, 3])
def test_a_runs_concurrency_is_the_same_as_stock(max_concurrency: int | None) -> None:
    """The peak number of a step's tasks running at once: ``max_concurrency``,
    else the pool default (LangGraph's per-run pool)."""
    peaks = {}
    for name in ("stock", "rs"):
        with engine(name):
            peak = _Peak()
            g = _fan_graph(DEFAULT_LIMIT + 3, peak, 0.05)
            out = g.invoke({"n": 0, "seen": []}, {"max_concurrency": max_concurrency})
            assert sorted(out["seen"][1:]) == list(range(DEFAULT_LIMIT + 3))
            peaks[name] = peak.peak
    assert peaks["rs"] == peaks["stock"] == (max_concurrency or DEFAULT_LIMIT)


def test_max_concurrency_zero_fails_as_stock() -> None:
    assert_same(
        lambda: (_fan_graph(3, _Peak(), 0), None),
        lambda g: g.invoke({"n": 0, "seen": []}, {"max_concurrency": 0}),
    )


def test_runs_reuse_the_engines_threads() -> None:
    """Stock starts a pool per run; ours keeps its threads: the tasks of 50
    fan-out runs ran on threads that were there before."""
    names: set[str] = set()

    class Named(_Peak):
        def __call__(self, seconds: float) -> None:
            names.add(threading.current_thread().name)
            super().__call__(seconds)

    with engine("rs"):
        g = _fan_graph(4, Named(), 0.002)
        g.invoke({"n": 0, "seen": []})
        before = {t.name for t in threading.enumerate()}
        names.clear()
        for _ in range(50):
            g.invoke({"n": 0, "seen": []})
    assert names and all(n.startswith("langgraph_rs-task-") for n in names)
    assert names <= before  # no thread was started


def test_nested_fan_outs_do_not_deadlock() -> None:
    """Subgraphs that fan out, run by tasks of a parent that fans out wider
    than the pool default, three levels deep: same result as stock."""

    def build() -> tuple[Any, None]:
        inner = _fan_graph(DEFAULT_LIMIT + 1, _Peak(), 0.001)

        def call_inner(s: Fan) -> dict:
            return {"seen": [len(inner.invoke({"n": s["n"], "seen": []})["seen"])]}

        mid = StateGraph(Fan)
        mid.add_node("src", lambda s: {"seen": []})
        mid.add_node("call", call_inner)
        mid.add_edge(START, "src")
        mid.add_conditional_edges(
            "src", lambda s: [Send("call", {"n": i, "seen": []}) for i in range(DEFAULT_LIMIT + 1)], ["call"]
        )
        mid_g = mid.compile()

        def call_mid(s: Fan) -> dict:
            return {"seen": [sum(mid_g.invoke({"n": s["n"], "seen": []})["seen"])]}

        top = StateGraph(Fan)
        top.add_node("src", lambda s: {"seen": []})
        top.add_node("call", call_mid)
        top.add_edge(START, "src")
        top.add_conditional_edges(
            "src", lambda s: [Send("call", {"n": i, "seen": []}) for i in range(DEFAULT_LIMIT + 1)], ["call"]
        )
        return top.compile(), None

    out = assert_same(build, lambda g: sorted(g.invoke({"n": 0, "seen": []})["seen"]))
    assert out.value == [(DEFAULT_LIMIT + 1) * (DEFAULT_LIMIT + 2)] * (DEFAULT_LIMIT + 1)


def test_a_thread_that_cannot_start_fails_the_submit_and_leaves_nothing_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As ThreadPoolExecutor.submit: the error reaches the caller, no job is
    left queued, and the lane can still be joined and used."""
    threads = _task_pool._Threads()
    monkeypatch.setattr(_task_pool, "_threads", threads)
    lane, ran = Lane(None), []

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    with monkeypatch.context() as m:
        m.setattr(threading.Thread, "start", refuse)
        with pytest.raises(RuntimeError, match="can't start new thread"):
            lane.submit(ran.append, "never")
    lane.join()  # returns: nothing is counted as running
    assert lane.submit(ran.append, "later").result(timeout=10) is None
    lane.join()
    assert ran == ["later"]


def test_job_queue_is_first_in_first_out_and_take_times_out() -> None:
    q = JobQueue()
    first, second = (lambda: 1), (lambda: 2)
    q.put(first)
    q.put(second)
    assert len(q) == 2
    assert q.take(0) is first
    assert q.take(0) is second
    assert q.take(0.05) is None  # nothing came
    assert len(q) == 0


def test_a_waiting_put_returns_once_a_thread_took_the_job() -> None:
    q, order, go = JobQueue(), [], threading.Event()

    def worker() -> None:
        go.wait(10)
        order.append("taking")
        job = q.take(10)
        assert job is not None
        job()

    t = threading.Thread(target=worker)
    t.start()
    threading.Timer(0.05, go.set).start()  # the worker takes only after put began
    q.put(lambda: order.append("ran"), wait_started=True)
    order.append("put returned")
    t.join(10)
    assert order.index("taking") < order.index("put returned")
    assert len(q) == 0


def test_a_queued_job_in_a_cycle_with_its_queue_is_collected() -> None:
    class Marker:
        pass

    def job_holding(*objs: object) -> Any:
        return lambda: objs

    marker = Marker()
    alive = weakref.ref(marker)
    q = JobQueue()
    q.put(job_holding(q, marker))  # queue -> job -> queue
    del q, marker
    gc.collect()
    assert alive() is None

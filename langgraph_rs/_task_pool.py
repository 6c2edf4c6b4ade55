"""The engine's worker threads for a sync run's concurrent tasks, kept across
runs, and a run's share of them (``Lane``).

LangGraph makes a thread pool per run (``get_executor_for_config``), so every
invoke whose steps run several tasks starts threads and joins them at exit;
starting them is most of what a small fan-out costs. Here the threads outlive
the runs, and each run gets a ``Lane`` that behaves as its own pool would:
at most ``max_concurrency`` of its jobs at once (else the pool default,
``min(32, cpus + 4)``), the rest queued in order, a job not yet started can be
cancelled, each job runs in a copy of the submitter's context, and leaving
the run waits for its jobs.

The shared pool never makes a job wait for a thread: a submit with no idle
thread starts one. So a task that runs a subgraph whose step fans out (a
nested run, with its own lane) cannot deadlock the pool, as per-run pools
cannot. Threads idle for ``IDLE_SECONDS`` end.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import deque
from concurrent.futures import Future
from contextvars import copy_context
from typing import Any, Callable

from langgraph_rs._native import JobQueue

IDLE_SECONDS = 30.0

# ThreadPoolExecutor's default max_workers (what a run without
# max_concurrency gets from LangGraph's per-run pool)
DEFAULT_LIMIT = min(32, ((getattr(os, "process_cpu_count", None) or os.cpu_count)() or 1) + 4)


_names = itertools.count()


class _Threads:
    """Worker threads taking jobs from one queue; one starts whenever a job
    finds none idle."""

    def __init__(self) -> None:
        self._jobs = JobQueue()
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting on the queue that no job was promised to

    def run(self, job: Callable[[], None], wait_started: bool = False) -> None:
        """Queues ``job``; raises (nothing queued) when a thread it needs
        cannot start, as ThreadPoolExecutor.submit does. With
        ``wait_started``, returns once a thread took the job (see
        ``Lane.emulate_starts``)."""
        with self._lock:
            start = self._idle == 0
            if not start:
                self._idle -= 1
        if start:  # started before the job is queued: a failed start leaves none
            threading.Thread(
                target=self._work, name=f"langgraph_rs-task-{next(_names)}", daemon=True
            ).start()
        self._jobs.put(job, wait_started)

    def _work(self) -> None:
        jobs, lock = self._jobs, self._lock
        while True:
            job = jobs.take(IDLE_SECONDS)
            if job is None:
                with lock:
                    # leave only if no job was promised to an idle thread since
                    # (else one is on its way and this thread may be the one)
                    if self._idle > 0:
                        self._idle -= 1
                        return
                continue
            job()
            job = None
            with lock:
                self._idle += 1


_threads = _Threads()


def _after_fork() -> None:  # a forked child has none of the parent's threads
    global _threads
    _threads = _Threads()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def lane_limit(max_concurrency: int | None) -> int:
    """A run's limit; a bad ``max_concurrency`` fails as LangGraph's pool does."""
    if max_concurrency is None:
        return DEFAULT_LIMIT
    if max_concurrency <= 0:
        raise ValueError("max_workers must be greater than 0")  # as ThreadPoolExecutor
    return max_concurrency


class Lane:
    """One run's pool: the interface of LangGraph's per-run executor that the
    engine uses (``submit``, and ``join`` as its exit)."""

    __slots__ = ("limit", "emulate_starts", "_lock", "_running", "_queued", "_started", "_idle")

    def __init__(self, max_concurrency: int | None) -> None:
        self.limit = lane_limit(max_concurrency)
        # Where LangGraph's fresh per-run pool starts a thread for a job, its
        # submit blocks until the thread runs: the job runs (until it finishes
        # or blocks) before the caller goes on, so a task that fails at once
        # fails before its siblings are registered, which LangGraph's runner
        # shows (it then waits for a sibling). While this is set, such a submit
        # waits as long. ``_started``/``_idle`` count the threads that pool
        # would have started and its idle ones (a finished job makes one).
        self.emulate_starts = True
        self._lock = threading.Condition(threading.Lock())
        self._running = 0  # jobs of this lane on a thread
        self._queued: deque = deque()
        self._started = 0
        self._idle = 0

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """``fn(*args)`` in a copy of the caller's context, as
        ``ContextThreadPoolExecutor.submit``."""
        return self.submit_in(copy_context(), fn, *args)

    def submit_in(self, ctx: Any, fn: Callable[..., Any], *args: Any) -> Future:
        """``ctx.run(fn, *args)`` on a worker thread."""
        fut: Future = Future()
        wait_started = False
        with self._lock:
            if self._idle:
                self._idle -= 1
            elif self._started < self.limit:
                self._started += 1
                wait_started = self.emulate_starts
            item = (fut, ctx, fn, args)
            if self._running >= self.limit:
                self._queued.append(item)
                return fut
            self._running += 1
        try:
            _threads.run(lambda: self._drain(item), wait_started)
        except BaseException:
            with self._lock:
                self._running -= 1
                self._lock.notify_all()
            raise
        return fut

    def _drain(self, item: tuple) -> None:
        """Runs a job, then the lane's queued ones, on this thread."""
        while True:
            fut, ctx, fn, args = item
            if fut.set_running_or_notify_cancel():
                try:
                    result = ctx.run(fn, *args)
                except BaseException as exc:  # noqa: BLE001  (the future holds it)
                    fut.set_exception(exc)
                else:
                    fut.set_result(result)
            item = fut = result = None  # type: ignore[assignment]  (drop references)
            with self._lock:
                self._idle += 1
                if not self._queued:
                    self._running -= 1
                    if self._running == 0:
                        self._lock.notify_all()
                    return
                item = self._queued.popleft()

    def join(self) -> None:
        """Waits for every job submitted (LangGraph's executor exit)."""
        with self._lock:
            while self._running:
                self._lock.wait()

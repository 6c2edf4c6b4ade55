"""Waking the driver: the stream ``put`` that wakes a driver waiting on
running tasks, and the future helpers of the task pool.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Sequence
from typing import Any

from langgraph._internal._constants import (
    ERROR,
    RETURN,
)
from langgraph._internal._typing import MISSING
from langgraph.errors import (
    is_invalid_resume,
    GraphBubbleUp,
)




class _Notify:
    """A stream ``put`` that also wakes the driver waiting on running tasks, so
    chunks are yielded while tasks run (LangGraph's eager streaming)."""

    __slots__ = ("_put", "_empty", "_lock", "_waiter", "_aio", "_pool", "_closed")

    def __init__(self, put: Any, empty: Any, aio: Any = None) -> None:
        self._put = put
        self._empty = empty
        self._lock = threading.Condition()
        self._waiter: Any = None
        self._aio = aio
        self._pool: Any = None  # sync runs: the task pool the waiter is a job of
        self._closed = False

    def __call__(self, item: Any) -> None:
        self._put(item)
        with self._lock:
            w = self._waiter
            if self._pool is not None:
                self._lock.notify_all()
                return
        if w is not None and not w.done():
            if self._aio is None:
                try:
                    w.set_result(None)
                except concurrent.futures.InvalidStateError:
                    pass
            else:
                self._aio.call_soon_threadsafe(_set_done, w)

    def use_pool(self, pool: Any) -> None:
        """As LangGraph's sync runner, whose waiter is a job of the task pool
        (submitted before a step's tasks, living on into the next step): it holds
        a worker while the stream is empty, so one task fewer runs at a time."""
        with self._lock:
            self._pool = pool

    def close(self) -> None:
        """Ends a waiting job (the run is over), as LangGraph's loop does at exit."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    def _wait(self) -> None:
        with self._lock:
            while self._empty() and not self._closed:
                self._lock.wait()

    def waiter(self) -> Any:
        with self._lock:
            if self._pool is not None:
                if self._waiter is None or self._waiter.done():
                    self._waiter = self._pool.submit(self._wait)
                return self._waiter
            if self._waiter is None or self._waiter.done():
                self._waiter = (
                    concurrent.futures.Future()
                    if self._aio is None
                    else self._aio.create_future()
                )
            w = self._waiter
        if not self._empty() and not w.done():
            w.set_result(None)
        return w


def _set_done(fut: Any) -> None:
    if not fut.done():
        fut.set_result(None)


def _chain(src: concurrent.futures.Future, dst: concurrent.futures.Future) -> None:
    def done(f: concurrent.futures.Future) -> None:
        if f.cancelled():
            dst.cancel()
        elif (exc := f.exception()) is not None:
            dst.set_exception(exc)
        else:
            dst.set_result(f.result())

    src.add_done_callback(done)


def _next_tick(fn: Any, *args: Any) -> Any:
    """Yield the GIL before running a ``@task`` call (LangGraph submits calls with
    ``next_tick``): the caller goes on first, so tasks it starts together are all
    scheduled (and their ``tasks`` events emitted) before a fast one finishes."""
    time.sleep(0)
    return fn(*args)


def _resolve_from_writes(fut: Any, writes: Sequence) -> None:
    ret = next((v for c, v in writes if c == RETURN), MISSING)
    if ret is not MISSING:
        fut.set_result(ret)
    elif (exc := next((v for c, v in writes if c == ERROR), None)) is not None:
        fut.set_exception(exc if isinstance(exc, BaseException) else Exception(exc))
    else:
        fut.set_result(None)


def _finish_order(fut: Any) -> int:
    """Completion index of a finished task's future (see ``run_tasks``)."""
    return fut.result()[0]


def _stops_others(errors: list[BaseException]) -> bool:
    """A failed task cancels the others, unless it only bubbled up or got an
    invalid resume value (raised once the others finish)."""
    return any(
        not isinstance(e, GraphBubbleUp) and not is_invalid_resume(e) for e in errors
    )


def _trim_traceback(exc: BaseException) -> None:
    from langgraph.pregel._runner import EXCLUDED_FRAME_FNAMES  # constants only

    if tb := exc.__traceback__:
        while tb.tb_next is not None and any(
            tb.tb_frame.f_code.co_filename.endswith(name) for name in EXCLUDED_FRAME_FNAMES
        ):
            tb = tb.tb_next
        exc.__traceback__ = tb

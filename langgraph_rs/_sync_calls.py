"""``@task`` calls of a sync run: ``CONFIG_KEY_CALL`` schedules a call of the
function on the run's task pool, committed as it finishes (or at exit, once
the run stopped on an error)."""

from __future__ import annotations

import concurrent.futures
import contextvars
import inspect
from functools import partial
from typing import Any

from langgraph._internal._constants import CONF, CONFIG_KEY_CALL, CONFIG_KEY_SCRATCHPAD
from langgraph.pregel._algo import Call
from langgraph.types import PregelExecutableTask

from langgraph_rs import _native
from langgraph_rs._notify import _chain, _next_tick, _resolve_from_writes
from langgraph_rs._task_pool import Lane


class _SyncCalls:
    """Mixin of ``_SyncLoop``: its ``@task`` calls."""

    def _call_impl(
        self,
        parent: PregelExecutableTask,
        func: Any,
        input: Any,
        *,
        retry_policy: Any = None,
        cache_policy: Any = None,
        timeout: Any = None,
        callbacks: Any = None,
    ) -> concurrent.futures.Future:
        """``CONFIG_KEY_CALL`` of a sync run: schedule a ``@task`` call."""
        if inspect.iscoroutinefunction(func):
            raise RuntimeError("In an sync context async tasks cannot be called")
        scratchpad = parent.config[CONF][CONFIG_KEY_SCRATCHPAD]
        call = Call(
            func, input, retry_policy=retry_policy, cache_policy=cache_policy,
            callbacks=callbacks, timeout=timeout,
        )
        with self._call_lock:
            task = self.accept_push(parent, scratchpad.call_counter(), call)
            for t in self.match_cached_writes():
                self.put_writes(t.id, t.writes, cached=True)
            out: concurrent.futures.Future = concurrent.futures.Future()
            if (running := self._call_futs.get(task.id)) is not None:
                _chain(running, out)
                return out
            if task.writes:
                _resolve_from_writes(out, task.writes)
                return out
            if self._executor is None:
                self._executor = Lane(self._lane_limit)
            ctx = contextvars.copy_context()
            fut = self._executor.submit_in(ctx, _next_tick, self._run_call, task, retry_policy)
            if not self._call_futs:
                self._call_futs = {}
            self._call_futs[task.id] = fut
        _chain(fut, out)
        return out

    def _run_call(self, task: PregelExecutableTask, retry_policy: Any) -> Any:
        try:
            result = _native.run_with_retry(
                task, retry_policy, configurable={CONFIG_KEY_CALL: partial(self._call_impl, task)}
            )
        except BaseException as exc:
            self._commit_call(task, exc)
            raise
        self._commit_call(task, None)
        return result

    def _commit_call(self, task: PregelExecutableTask, exc: BaseException | None) -> None:
        with self._call_lock:
            if self._calls_stopped is None:
                self._commit(task, exc)
                return
            done: concurrent.futures.Future = concurrent.futures.Future()
            done.set_result((next(self._calls_stopped), exc))
            self._add_late(done, task)

    def _wait_calls(self) -> None:
        while True:
            with self._call_lock:
                futs = [f for f in self._call_futs.values() if not f.done()]
            if not futs:
                return
            concurrent.futures.wait(futs)

"""``@task`` calls of an async run: ``CONFIG_KEY_CALL`` schedules a call of the
function as a task of the step that called it, committed as it finishes."""

from __future__ import annotations

import asyncio
import concurrent.futures
from functools import partial
from typing import Any

from langgraph._internal._constants import CONF, CONFIG_KEY_CALL, CONFIG_KEY_SCRATCHPAD
from langgraph.pregel._algo import Call
from langgraph.pregel._retry import arun_with_retry
from langgraph.types import PregelExecutableTask

from langgraph_rs._notify import _resolve_from_writes


class _AsyncCalls:
    """Mixin of ``_AsyncLoop``: its ``@task`` calls."""

    def _acall_impl(
        self,
        parent: PregelExecutableTask,
        func: Any,
        input: Any,
        *,
        retry_policy: Any = None,
        cache_policy: Any = None,
        timeout: Any = None,
        callbacks: Any = None,
    ) -> Any:
        """``CONFIG_KEY_CALL`` of an async run: schedule a ``@task`` call.

        Called from the event loop (async nodes) or a worker thread (sync nodes)."""
        aioloop = self._aioloop
        try:
            in_loop = asyncio.get_running_loop() is aioloop
        except RuntimeError:
            in_loop = False
        out: Any = asyncio.Future(loop=aioloop) if in_loop else concurrent.futures.Future()
        scratchpad = parent.config[CONF][CONFIG_KEY_SCRATCHPAD]
        call = Call(
            func, input, retry_policy=retry_policy, cache_policy=cache_policy,
            callbacks=callbacks, timeout=timeout,
        )
        idx = scratchpad.call_counter()

        def settle(result: Any, exc: BaseException | None) -> None:
            if isinstance(exc, asyncio.CancelledError):
                out.cancel()  # as chain_future passes a cancelled call on
                return
            if isinstance(out, asyncio.Future):
                if out.done():
                    return
                if exc is not None:
                    out.set_exception(exc)
                else:
                    out.set_result(result)
            elif exc is not None:
                out.set_exception(exc)
            else:
                out.set_result(result)

        async def schedule() -> None:
            try:
                task = self.accept_push(parent, idx, call)
                for t in await self.amatch_cached_writes():
                    self.put_writes(t.id, t.writes, cached=True)
                if (running := self._call_futs.get(task.id)) is not None:
                    fut = running
                elif task.writes:
                    tmp: concurrent.futures.Future = concurrent.futures.Future()
                    _resolve_from_writes(tmp, task.writes)
                    exc = tmp.exception()
                    settle(None if exc else tmp.result(), exc)
                    return
                else:
                    fut = asyncio.ensure_future(self._arun_call(task, retry_policy))
                    if not self._call_futs:
                        self._call_futs = {}
                    self._call_futs[task.id] = fut
                if isinstance(out, asyncio.Future):
                    if out.cancelled():
                        fut.cancel()
                    else:
                        out.add_done_callback(
                            lambda o: fut.cancel() if o.cancelled() and not fut.done() else None
                        )
                try:
                    result = await asyncio.shield(fut)
                except BaseException as exc:  # noqa: BLE001
                    settle(None, exc)
                else:
                    settle(result, None)
            except BaseException as exc:  # noqa: BLE001
                settle(None, exc)

        if in_loop:
            aioloop.create_task(schedule())
        else:
            asyncio.run_coroutine_threadsafe(schedule(), aioloop)
        return out

    async def _arun_call(self, task: PregelExecutableTask, retry_policy: Any) -> Any:
        try:
            result = await arun_with_retry(
                task,
                retry_policy,
                stream=self.use_astream,
                configurable={CONFIG_KEY_CALL: partial(self._acall_impl, task)},
            )
        except BaseException as exc:
            if self._calls_stopped and isinstance(exc, asyncio.CancelledError):
                # cancelled as the run stopped: committed at exit, after the exit
                # save, as LangGraph commits it from the cancelled future's callback
                self._add_late(asyncio.current_task(), task)
            else:
                self._commit(task, exc)
            raise
        self._commit(task, None)
        return result

    async def _await_calls(self) -> None:
        while futs := [f for f in self._call_futs.values() if not f.done()]:
            await asyncio.wait(futs)

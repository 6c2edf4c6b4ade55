"""``astream``'s loop: the saver calls and asyncio tasks of an async run
(its ``@task`` calls are :mod:`langgraph_rs._async_calls`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from langgraph._internal._constants import (
    CONF,
    CONFIG_KEY_CALL,
    CONFIG_KEY_CHECKPOINT_ID,
    CONFIG_KEY_CHECKPOINT_NS,
    CONFIG_KEY_REPLAY_STATE,
    CONFIG_KEY_RESUMING,
    ERROR_SOURCE_NODE,
)
from langgraph.errors import (
    GraphBubbleUp,
    GraphInterrupt,
)
from langgraph.pregel._checkpoint import (
    acheckpoint_superseded,
)
from langgraph.pregel._retry import arun_with_retry
from langgraph.types import PregelExecutableTask


from langgraph_rs import _native
from langgraph_rs._async_calls import _AsyncCalls
from langgraph_rs._loop import _Loop
from langgraph_rs._notify import (
    _Notify,
    _finish_order,
    _stops_others,
    _trim_traceback,
)


class _AsyncLoop(_AsyncCalls, _Loop):
    _is_async = True
    use_astream = False
    _calls_stopped = False  # the run stopped: @task calls it cancels commit late

    async def __aenter__(self) -> _AsyncLoop:
        self._aioloop = asyncio.get_running_loop()
        cp = self.checkpointer
        if not cp:
            saved = None
        elif self.checkpoint_config[CONF].get(CONFIG_KEY_CHECKPOINT_ID):
            saved = await cp.aget_tuple(self.checkpoint_config)
            if saved is not None:
                self._addressed_checkpoint_superseded = await acheckpoint_superseded(
                    cp, self.checkpoint_config, saved
                )
        elif replay_state := self.config[CONF].get(CONFIG_KEY_REPLAY_STATE):
            saved = await replay_state.aget_checkpoint(
                self.config[CONF].get(CONFIG_KEY_CHECKPOINT_NS, ""), cp, self.checkpoint_config
            )
            self.config[CONF].pop(CONFIG_KEY_RESUMING, None)
        else:
            saved = await cp.aget_tuple(self.checkpoint_config)
            self._loaded_latest = True
        # nothing saved: the empty checkpoint loaded and the input applied
        # natively (rust/py/run_enter.rs), else as below
        if saved is None and (applied := _native.start_empty(self)) is not None:
            if applied and self.checkpointer is None:
                _native.put_checkpoint(self, "input")  # nothing saved (rust/py/checkpoint_put.rs)
            elif applied:
                await self._aput_checkpoint({"source": "input"})
            _native.after_first(self, False)
            return self
        self._load(saved)
        targets = self._replay_targets() if self._delta_names or self.spec.binop else None
        self._init_state(
            await cp.aget_delta_channel_history(config=self.checkpoint_config, channels=targets)
            if targets
            else None
        )
        is_resuming, input_writes = self._first_writes()
        if self.pending_put or self.pending_cache:
            await self.flush_writes()
        for args in self._deferred_puts:
            await self._asave(self.checkpointer.aput, args, put=True)
        self._deferred_puts = ()
        if input_writes is not None:
            self._apply_input(input_writes)
            if self.pending_put or self.pending_cache:
                await self.flush_writes()
            if self.checkpointer is None and not self._delta_names:
                _native.put_checkpoint(self, "input")  # nothing saved (rust/py/checkpoint_put.rs)
            else:
                await self._aput_checkpoint({"source": "input"})
        _native.after_first(self, is_resuming)  # (rust/py/run_enter.rs)
        return self

    async def __aexit__(self, exc_type: Any, exc_value: Any, tb: Any) -> bool:
        try:
            if self._background_saves:
                await self.flush_writes()
                await self._saves_done()
            if self.durability == "exit" and self._needs_exit_save(exc_value):
                await self.flush_writes()
                for op, args in self._exit_delta_ops():
                    await self._asave(getattr(self.checkpointer, "a" + op), args, put=op == "put")
                await self._aput_checkpoint(self.checkpoint_metadata)
                await self._aput_pending_writes()
            if exc_value is None:  # (_exit_values, _exit_error)
                self.output = self.state.read_output(self.output_keys)
                if self._saver_exc is not None:
                    raise self._saver_exc
                return False
            suppress = self._exit_values(exc_value)
            if (error := self._exit_error(exc_value, suppress)) is not None:
                raise error
            return suppress
        finally:
            if self._late:
                await self._commit_late()
            if self._saves is not None:
                await self._saves_done()
            # (a step's tasks hold the loop through their configs: a run that
            # ended with tasks, interrupted or failed, would leave a cycle)
            self.tasks = {}
            self.checkpoint_pending_writes = []  # (these two: with a failed task's error)
            self._last_writes = None

    async def _commit_late(self) -> None:
        """Commit the tasks cancelled when the run stopped (see ``_late``)."""
        late, self._late = self._late, ()
        await asyncio.wait([f for f, _ in late])
        for f, t in late:
            self._commit(t, asyncio.CancelledError() if f.cancelled() else f.result()[1])
        await self.flush_writes()

    async def _asave(self, fn: Any, args: tuple, *, put: bool = False) -> None:
        """A saver call that fails as LangGraph's background save does; in the
        background, after the saves made before it, when the run has that."""
        if self._background_saves:
            self._saves = asyncio.ensure_future(self._asave_after(self._saves, fn, args, put))
            return
        await self._asave_now(fn, args, put)

    async def _asave_after(self, previous: Any, fn: Any, args: tuple, put: bool) -> None:
        if previous is not None:
            await previous
        await self._asave_now(fn, args, put)

    async def _asave_now(self, fn: Any, args: tuple, put: bool) -> None:
        # a failed checkpoint fails every later one: LangGraph's each wait on the previous
        if put and self._put_checkpoint_exc is not None:
            return
        try:
            await fn(*args)
        except Exception as exc:  # noqa: BLE001  (raised at exit)
            self._saver_failed(exc, self._fails_checkpoints(put, args))
            if not put and any(c == ERROR_SOURCE_NODE for c, _ in args[1]):
                self._handler_write_exc = exc

    async def _saves_done(self) -> None:
        """Wait for the saves made in the background (LangGraph's executor
        exit; a failed task's error writes before its handler runs)."""
        while (saves := self._saves) is not None:
            await saves
            if self._saves is saves:  # (else one was made meanwhile: wait for it too)
                self._saves = None

    async def _handler_writes_saved(self) -> None:
        """LangGraph's async loop awaits a failed task's error writes before it
        schedules the task's error handler: a failed save raises there."""
        await self.flush_writes()
        await self._saves_done()
        if (exc := self._handler_write_exc) is not None:
            self._handler_write_exc = None
            raise exc

    async def _aput_checkpoint(self, metadata: dict) -> None:
        do, args = self._make_checkpoint(metadata)
        if do and args is not None:
            await self._asave(self.checkpointer.aput, args, put=True)

    def _save_writes(self, args: tuple) -> None:
        # queued: awaited by ``flush_writes`` at the next await point of the loop
        if not self.pending_put:
            self.pending_put = []
        self.pending_put.append((args[2], args))

    def _save_cache(self, entry: dict) -> None:
        if not self.pending_cache:
            self.pending_cache = []
        self.pending_cache.append(entry)

    async def flush_writes(self) -> None:
        pending, self.pending_put = self.pending_put, ()
        for _tid, args in pending:
            await self._asave(self.checkpointer.aput_writes, args)
        caches, self.pending_cache = self.pending_cache, ()
        for c in caches:
            try:  # in the background on LangGraph: a failure is raised at exit
                await self.cache.aset(c)
            except Exception as exc:  # noqa: BLE001
                self._saver_failed(exc, False)

    async def _aput_pending_writes(self) -> None:
        await self.flush_writes()
        for args in self._pending_writes_args():
            await self._asave(self.checkpointer.aput_writes, args)

    async def amatch_cached_writes(self) -> list[PregelExecutableTask]:
        if self.cache is None:
            return []
        matched = []
        if cached := self._cache_lookup_keys():
            for key, values in (await self.cache.aget(tuple(cached))).items():
                task = cached[key]
                task.writes.extend(values)
                matched.append(task)
        return matched

    async def after_tick(self) -> None:
        if self.pending_put or self.pending_cache:
            await self.flush_writes()
        if self.checkpointer is None and not self._delta_names:
            _native.after_tick(self)  # nothing to save: as a sync run's (rust/py/tick.rs)
            return
        self._apply_step()
        await self._aput_checkpoint({"source": "loop"})
        self._after_checkpoint()

    async def _arun_one(self, task: PregelExecutableTask) -> BaseException | None:
        configurable = {CONFIG_KEY_CALL: partial(self._acall_impl, task)}
        try:
            if self.use_astream or task.timeout is not None:
                await arun_with_retry(
                    task, self.retry_policy, stream=self.use_astream, configurable=configurable
                )
            else:  # LangGraph's arun_with_retry, natively (rust/py/retry_async.rs)
                await _native.arun_with_retry(task, self.retry_policy, configurable=configurable)
        except Exception as exc:
            return exc
        except asyncio.CancelledError as exc:
            return exc
        return None

    async def run_tasks(
        self, tasks: list[PregelExecutableTask], timeout: float | None, notify: _Notify | None = None
    ) -> AsyncIterator[None]:
        """A step's tasks (from ``tasks_to_run``), committed as they finish; its
        yields are the points where the stream hands out chunks."""
        if len(tasks) == 1 and timeout is None and notify is None:
            t = tasks[0]
            exc = await self._arun_one(t)
            async for _ in self.single_done(t, exc, timeout, notify):
                yield
            return
        async for _ in self._run_many(tasks, timeout, notify):
            yield

    async def single_done(
        self, t: PregelExecutableTask, exc: BaseException | None, timeout: float | None,
        notify: _Notify | None,
    ) -> AsyncIterator[None]:
        """What follows a step's one task: its commit, its @task calls and
        saves, and a failure's handler task or the failure raised."""
        if exc is None:
            _native.commit_ok(self, t)  # rust/py/step_commit.rs
        else:
            self._commit(t, exc)
        if self._call_futs:
            await self._await_calls()
        if self.pending_put or self.pending_cache:
            await self.flush_writes()
        if exc is None:
            return
        if self._routes_to_handler(t, exc):
            await self._handler_writes_saved()
            handler = self._add_handler_task(t, exc)
            if handler is None:
                return
            if handler.writes:
                yield
                return
            async for _ in self._run_many([handler], timeout, notify):
                yield
            return
        yield
        _trim_traceback(exc)
        try:
            raise exc
        finally:  # (the traceback holds this frame: the frame then holds neither)
            del exc, t

    async def _run_many(
        self, tasks: list[PregelExecutableTask], timeout: float | None, notify: _Notify | None
    ) -> AsyncIterator[None]:
        """A step's tasks as asyncio tasks, committed in the order they finish."""
        max_conc = self.config.get("max_concurrency")
        sem = asyncio.Semaphore(max_conc) if max_conc else None

        finished = itertools.count()  # tasks are committed in the order they finish

        async def run(t: PregelExecutableTask) -> tuple[int, BaseException | None]:
            if sem is None:
                exc = await self._arun_one(t)
            else:
                async with sem:
                    exc = await self._arun_one(t)
            return next(finished), exc

        futs = {asyncio.ensure_future(run(t)): t for t in tasks}
        errors: list[BaseException] = []
        interrupts: list[GraphInterrupt] = []
        pending = set(futs)
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout if timeout else None
        stopped = True
        try:
            while pending:
                waiter = notify.waiter() if notify is not None else None
                done, pending = await asyncio.wait(
                    pending if waiter is None else pending | {waiter},
                    return_when=asyncio.FIRST_COMPLETED,
                    timeout=max(0, end - loop.time()) if end else None,
                )
                if waiter is not None:
                    if waiter in done:
                        done.discard(waiter)
                        yield
                    else:
                        pending.discard(waiter)
                        waiter.cancel()
                    if not done:
                        continue
                if not done:
                    raise asyncio.TimeoutError("Timed out")
                for fut in sorted(done, key=_finish_order):
                    t = futs[fut]
                    exc = fut.result()[1]
                    self._commit(t, exc)
                    if self._routes_to_handler(t, exc):
                        await self._handler_writes_saved()
                        handler = self._add_handler_task(t, exc)
                        if handler is not None and not handler.writes:
                            hf = asyncio.ensure_future(run(handler))
                            futs[hf] = handler
                            pending.add(hf)
                    elif exc is not None:
                        if isinstance(exc, GraphInterrupt):
                            interrupts.append(exc)
                        else:
                            errors.append(exc)
                await self.flush_writes()
                yield
                if _stops_others(errors):
                    break
            else:
                stopped = False
        finally:
            for f in pending:
                f.cancel()
                self._add_late(f, futs[f])
            if stopped:  # LangGraph's runner cancels every future it tracks, @task calls too
                self._calls_stopped = True
                for f in list(self._call_futs.values()):
                    f.cancel()
        await self._await_calls()
        if self.pending_put or self.pending_cache:
            await self.flush_writes()
        if errors:
            raise next((e for e in errors if not isinstance(e, GraphBubbleUp)), errors[0])
        if interrupts:
            raise GraphInterrupt(tuple(i for exc in interrupts for i in exc.args[0]))



# ---------------------------------------------------------------------------
# Pregel.stream / Pregel.astream replacements

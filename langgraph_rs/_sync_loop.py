"""A sync run's loop object: entering and leaving it (loading, the exit
save), its saver calls, and what the native superstep loop
(rust/py/sync_driver.rs) hands back to it: a step's tasks on the task pool,
a failed task.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import itertools
import threading
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

from langgraph._internal._constants import (
    CONF,
    CONFIG_KEY_CALL,
    CONFIG_KEY_CHECKPOINT_ID,
    CONFIG_KEY_CHECKPOINT_NS,
    CONFIG_KEY_REPLAY_STATE,
    CONFIG_KEY_RESUMING,
)
from langgraph.errors import (
    GraphBubbleUp,
    GraphInterrupt,
)
from langgraph.pregel._checkpoint import (
    checkpoint_superseded,
)
from langgraph.types import PregelExecutableTask

from langgraph_rs import _native

from langgraph_rs._loop import _Loop
from langgraph_rs._sync_calls import _SyncCalls
from langgraph_rs._task_pool import DEFAULT_LIMIT, Lane, lane_limit
from langgraph_rs._notify import (
    _Notify,
    _finish_order,
    _stops_others,
    _trim_traceback,
)


class _SyncLoop(_SyncCalls, _Loop):
    _notify: _Notify | None = None  # a stream waiting in a job of the task pool
    _saved = False  # a save was made (LangGraph makes it in the task pool)
    # the run stopped on an error: @task calls finishing now commit at exit
    # (``_late``), in finish order from this counter
    _calls_stopped: Any = None

    def __enter__(self) -> _SyncLoop:
        cp = self.checkpointer
        if not cp:
            saved = None
        elif self.checkpoint_config[CONF].get(CONFIG_KEY_CHECKPOINT_ID):
            saved = cp.get_tuple(self.checkpoint_config)
            if saved is not None:
                self._addressed_checkpoint_superseded = checkpoint_superseded(
                    cp, self.checkpoint_config, saved
                )
        elif replay_state := self.config[CONF].get(CONFIG_KEY_REPLAY_STATE):
            saved = replay_state.get_checkpoint(
                self.config[CONF].get(CONFIG_KEY_CHECKPOINT_NS, ""), cp, self.checkpoint_config
            )
            self.config[CONF].pop(CONFIG_KEY_RESUMING, None)
        else:
            saved = cp.get_tuple(self.checkpoint_config)
            self._loaded_latest = True
        # the run's share of the engine's task threads, made when a step first
        # needs it; a bad max_concurrency fails here, as LangGraph's pool
        # (which LangGraph makes after loading, before the first writes)
        limit = self.config.get("max_concurrency")
        self._lane_limit = DEFAULT_LIMIT if limit is None else lane_limit(limit)
        self._executor: Lane | None = None
        if self._background_saves:
            self._saves = Lane(1)  # one save at a time, in the order made
            self._saves.emulate_starts = False  # (no pool of LangGraph's to mirror)
        # nothing saved: the empty checkpoint loaded and the input applied
        # natively (rust/py/run_enter.rs), else as below
        if saved is None and (applied := _native.start_empty(self)) is not None:
            is_resuming = False
            if applied:
                _native.put_checkpoint(self, "input")  # (rust/py/checkpoint_put.rs)
            _native.after_first(self, is_resuming)
            return self
        self._load(saved)
        targets = self._replay_targets() if self._delta_names or self.spec.binop else None
        self._init_state(
            cp.get_delta_channel_history(config=self.checkpoint_config, channels=targets)
            if targets
            else None
        )
        is_resuming, input_writes = self._first_writes()
        for args in self._deferred_puts:
            self._save(self.checkpointer.put, args, put=True)
        self._deferred_puts = ()
        if input_writes is not None:
            self._apply_input(input_writes)
            if self._delta_names:
                self._put_checkpoint({"source": "input"})
            else:  # natively (rust/py/checkpoint_put.rs)
                _native.put_checkpoint(self, "input")
        _native.after_first(self, is_resuming)  # (rust/py/run_enter.rs)
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, tb: Any) -> bool:
        try:
            if self._saves is not None:
                self._saves.join()  # (LangGraph's executor exit)
            if self.durability == "exit" and self._needs_exit_save(exc_value):
                for op, args in self._exit_delta_ops():
                    self._save(getattr(self.checkpointer, op), args, put=op == "put")
                self._put_checkpoint(self.checkpoint_metadata)
                self._put_pending_writes()
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
            if self._notify is not None:
                self._notify.close()
            if self._late or self._calls_stopped is not None:
                concurrent.futures.wait([f for f, _ in self._late])
                self._wait_calls()
                late, self._late = self._late, ()
                for f, t in sorted(late, key=lambda ft: _finish_order(ft[0])):
                    self._commit(t, f.result()[1])
            if self._saves is not None:
                self._saves.join()
            if self._executor is not None:
                self._executor.join()
            # (a step's tasks hold the loop through their configs: a run that
            # ended with tasks, interrupted or failed, would leave a cycle)
            self.tasks = {}
            self.checkpoint_pending_writes = []  # (these two: with a failed task's error)
            self._last_writes = None

    def _save(self, fn: Any, args: tuple, *, put: bool = False) -> None:
        """A saver call that fails as LangGraph's background save does."""
        self._saved = True
        if self._saves is not None:
            self._saves.submit(self._save_now, fn, args, put)
        else:
            self._save_now(fn, args, put)

    def _save_now(self, fn: Any, args: tuple, put: bool) -> None:
        # a failed checkpoint fails every later one: LangGraph's each wait on the previous
        if put and self._put_checkpoint_exc is not None:
            return
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001  (raised at exit)
            self._saver_failed(exc, self._fails_checkpoints(put, args))

    def _add_handler_task(self, failed: PregelExecutableTask, error: BaseException) -> Any:
        if self._saves is not None:  # the failed task's error writes are saved first
            self._saves.join()
        return super()._add_handler_task(failed, error)

    def _put_checkpoint(self, metadata: dict) -> None:
        do, args = self._make_checkpoint(metadata)
        if do and args is not None:
            self._save(self.checkpointer.put, args, put=True)

    def _save_writes(self, args: tuple) -> None:
        self._save(self.checkpointer.put_writes, args)

    def _save_cache(self, entry: dict) -> None:
        # LangGraph stores cached writes in the background: a failure is raised at exit
        try:
            self.cache.set(entry)
        except Exception as exc:  # noqa: BLE001  (raised at exit)
            self._saver_failed(exc, False)

    def _put_pending_writes(self) -> None:
        for args in self._pending_writes_args():
            self._save(self.checkpointer.put_writes, args)

    def match_cached_writes(self) -> list[PregelExecutableTask]:
        if self.cache is None:
            return []
        matched = []
        if cached := self._cache_lookup_keys():
            for key, values in self.cache.get(tuple(cached)).items():
                task = cached[key]
                task.writes.extend(values)
                matched.append(task)
        return matched

    def _put_cached_writes(self) -> None:
        for task in self.match_cached_writes():
            self.put_writes(task.id, task.writes, cached=True)

    def _run_one(self, task: PregelExecutableTask, timeout: float | None) -> BaseException | None:
        try:
            _native.run_with_retry(
                task,
                self.retry_policy,
                configurable={CONFIG_KEY_CALL: partial(self._call_impl, task)},
            )
        except Exception as exc:
            return exc
        return None

    # The superstep loop itself is native (rust/py/sync_driver.rs): it runs a
    # step's one task; these generators run the rest, their yields being the
    # points where the stream hands out chunks.

    def _single_failed(
        self, t: PregelExecutableTask, exc: BaseException, timeout: float | None,
        notify: _Notify | None,
    ) -> Iterator[None]:
        """What follows a step's one task that failed (committed already)."""
        if self._routes_to_handler(t, exc):
            handler = self._add_handler_task(t, exc)
            if handler is None:
                return
            if handler.writes:
                yield
                return
            yield from self._run_pool([handler], timeout, notify)
            return
        yield
        _trim_traceback(exc)
        try:
            raise exc
        finally:  # (the traceback holds this frame: the frame then holds neither)
            del exc, t

    def _run_pool(
        self, tasks: list[PregelExecutableTask], timeout: float | None, notify: _Notify | None
    ) -> Iterator[None]:
        """The step's tasks on the task pool, committed as they finish."""
        if self._executor is None:
            self._executor = Lane(self._lane_limit)
        # once LangGraph ran saves in its pool, idle threads take the tasks
        # (see ``settled`` below)
        self._executor.emulate_starts = not self._saved
        if notify is not None and self._executor.limit > 1:
            # LangGraph's waiter takes a worker before the tasks (with one worker
            # LangGraph hangs: its tasks never start)
            self._notify = notify
            notify.use_pool(self._executor)
            notify.waiter()
        futures: dict[concurrent.futures.Future, PregelExecutableTask] = {}
        finished = itertools.count()  # tasks are committed in the order they finish
        # As LangGraph's runner (a done callback), a task commits from its own thread
        # as it finishes, so its writes stream before what a sibling still running (a
        # subgraph, a stream writer) emits next; once the step stopped (a failure, a
        # timeout), the driver commits what is left (see ``_late``).
        commit_lock = threading.Lock()
        committed: set[int] = set()  # id() of the tasks their threads committed
        stopped = [False]

        def stop() -> None:
            with commit_lock:
                stopped[0] = True

        def run(t: PregelExecutableTask) -> tuple[int, BaseException | None]:
            try:
                exc = self._run_one(t, timeout)
            except BaseException as e:  # noqa: BLE001
                # e.g. KeyboardInterrupt in a worker thread: LangGraph's runner gets
                # it from the task's future, so commits it as the task's error
                exc = e
            with commit_lock:
                if not stopped[0]:
                    self._commit(t, exc)
                    committed.add(id(t))
                return next(finished), exc

        # LangGraph's runner, once a task failed, waits on an event that its tasks'
        # done callbacks set when one failed (or all are done), and that it clears
        # as it registers each task: a task that failed before the last one was
        # registered leaves it clear, so the runner waits for the next task to
        # finish (committed, streamed, saved at exit) before it raises. That
        # happens when registering blocks on starting a worker thread; once
        # LangGraph ran saves in its pool (``_saved``) idle workers take the
        # tasks, all are registered first, and the runner doesn't wait.
        settled = threading.Event()
        tracked = [0, False]  # running, a failure that stops the others was seen
        tracked_lock = threading.Lock()

        # (the task is bound to the callback, not looked up in ``futures``: a
        # future keeps its callbacks, and ``futures`` keeps the futures)
        def on_done(t: PregelExecutableTask, fut: concurrent.futures.Future) -> None:
            with tracked_lock:
                tracked[0] -= 1
                if not fut.cancelled() and (exc := fut.result()[1]) is not None:
                    if _stops_others([exc]) and not self._routes_to_handler(t, exc):
                        tracked[1] = True
                if tracked[0] == 0 or tracked[1]:
                    settled.set()

        def track(fut: concurrent.futures.Future, t: PregelExecutableTask) -> None:
            futures[fut] = t
            with tracked_lock:
                settled.clear()
                tracked[0] += 1
            fut.add_done_callback(partial(on_done, t))

        for t in tasks:
            ctx = contextvars.copy_context()
            track(self._executor.submit_in(ctx, run, t), t)
        errors: list[BaseException] = []
        interrupts: list[GraphInterrupt] = []
        pending = set(futures)
        end = time.monotonic() + timeout if timeout else None
        while pending:
            waiter = notify.waiter() if notify is not None else None
            done, pending = concurrent.futures.wait(
                pending if waiter is None else pending | {waiter},
                return_when=concurrent.futures.FIRST_COMPLETED,
                timeout=max(0, end - time.monotonic()) if end else None,
            )
            if waiter is not None:
                if waiter in done:
                    done.discard(waiter)
                    yield
                else:
                    pending.discard(waiter)
                if not done:
                    continue
            if not done:
                stop()
                for f in pending:
                    f.cancel()
                raise TimeoutError("Timed out")
            for fut in sorted(done, key=_finish_order):
                t = futures[fut]
                exc = fut.result()[1]
                if id(t) not in committed:
                    self._commit(t, exc)
                if self._routes_to_handler(t, exc):
                    handler = self._add_handler_task(t, exc)
                    if handler is not None and not handler.writes:
                        ctx = contextvars.copy_context()
                        hf = self._executor.submit_in(ctx, run, handler)
                        track(hf, handler)
                        pending.add(hf)
                elif exc is not None:
                    if isinstance(exc, GraphInterrupt):
                        interrupts.append(exc)
                    elif not isinstance(exc, GraphBubbleUp) or not errors:
                        errors.append(exc)
                yield
            if _stops_others(errors):
                # As LangGraph's runner, whose tasks commit from their own threads:
                # siblings done by now are committed and streamed before the error
                # is raised, the rest are cancelled if not started, else committed
                # at exit (``_late``).
                if not self._saved:
                    settled.wait(max(0, end - time.monotonic()) if end else None)
                time.sleep(0)
                stop()
                for fut in sorted((f for f in pending if f.done()), key=_finish_order):
                    pending.discard(fut)
                    if id(futures[fut]) not in committed:
                        self._commit(futures[fut], fut.result()[1])
                    yield
                for f in pending:
                    if f.cancel():  # not started (max_concurrency): LangGraph commits it as cancelled
                        self._commit(futures[f], concurrent.futures.CancelledError())
                    elif id(futures[f]) not in committed:
                        self._add_late(f, futures[f])
                # LangGraph's runner tracks @task calls with the step's tasks: it
                # cancels those not started, the others commit from their done
                # callbacks when they finish, after the exit save
                with self._call_lock:
                    self._calls_stopped = finished
                    for tid, f in self._call_futs.items():
                        if f.cancel():
                            self._commit(self.tasks[tid], concurrent.futures.CancelledError())
                break
        if self._calls_stopped is None:
            self._wait_calls()
        if errors:
            exc = next((e for e in errors if not isinstance(e, GraphBubbleUp)), errors[0])
            raise exc
        if interrupts:
            raise GraphInterrupt(tuple(i for exc in interrupts for i in exc.args[0]))

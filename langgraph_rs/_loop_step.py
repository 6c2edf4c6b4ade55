"""The ``_Loop``'s superstep around the native state: the tick's prelude,
committing a finished task, applying the step's writes, interrupts, and
what the run does at exit.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from langgraph._internal._config import (
    patch_configurable,
)
from langgraph._internal._constants import (
    CONF,
    CONFIG_KEY_CHECKPOINT_ID,
    CONFIG_KEY_CHECKPOINT_NS,
    CONFIG_KEY_RESUMING,
    ERROR,
    ERROR_SOURCE_NODE,
    INTERRUPT,
    NS_END,
    NULL_TASK_ID,
    RESUME,
)
from langgraph.errors import (
    GraphBubbleUp,
    GraphInterrupt,
)
from langgraph.pregel import _algo
from langgraph.channels.binop import _get_overwrite
from langgraph.pregel._checkpoint import (
    delta_channels_with_pending_writes,
    exit_delta_late_task_id,
    exit_delta_task_id,
)
from langgraph.pregel._task_status import read_task_statuses
from langgraph.pregel.debug import (
    map_debug_tasks,
)
from langgraph.types import PregelExecutableTask

from langgraph_rs import _native
from langgraph_rs._loop_checkpoint import new_empty_checkpoint


class _Steps:
    """Mixin of ``_Loop``: the superstep."""

    # tick() itself is native (rust/py/tick.rs); these are its uncommon cases

    def _tick_out_of_steps(self) -> bool:
        """``tick()`` past the recursion limit."""
        self.status = "out_of_steps"
        self._prepare_tasks()
        self._emit_checkpoint()
        return False

    def _reapply_pending_writes(self) -> None:
        """``tick()`` resuming a step: the saved writes of its tasks done before."""
        statuses = read_task_statuses(
            w for w in self.checkpoint_pending_writes if w[0] in self.tasks
        )
        for tid, st in statuses.items():
            self.tasks[tid].writes.extend(st.output)
            self._reapplied(tid)
        if self._handler_map:
            self._resume_error_handlers()

    def _emit_tasks(self) -> None:
        self._emit("tasks", map_debug_tasks, self.tasks.values())

    def _apply_step(self) -> None:
        if not self._delta_names:
            _native.apply_step(self)  # rust/py/step_commit.rs
            return
        tasks = self.tasks.values()
        writes = [w for t in tasks for w in t.writes]
        delta = self._delta_names
        if delta:
            self._forced.update(ch for ch, v in writes if ch in delta and _get_overwrite(v)[0])
            if self._resume_loaded_writes:
                self._forced.update(
                    delta_channels_with_pending_writes(
                        self.graph.channels,
                        [
                            w
                            for w in self._resume_loaded_writes
                            if w[0] not in self._reapplied_task_ids
                        ],
                    )
                )
                self._resume_loaded_writes = ()
        self.updated_channels = self.state.apply_writes(
            [(t.name, t.path, t.triggers, t.writes) for t in tasks]
        )
        keys = self.output_keys
        if _native.any_in(self.updated_channels, keys):
            self._emit_values(writes)
        if delta and self._exit_delta_writes is not None:
            first = self._exit_first_step is None
            if first:
                self._exit_first_step = self.step
                self._exit_delta_writes.extend(
                    (self.step, NULL_TASK_ID, "", ch, v) for ch, v in self._exit_command_writes
                )
            for tid, ch, v in self.checkpoint_pending_writes:
                if ch not in delta:
                    continue
                if first and (tid == NULL_TASK_ID or (tid, ch) in self._stored_delta_writes):
                    continue
                task = self.tasks.get(tid)
                path = _algo.task_path_str(task.path) if task else ""
                self._exit_delta_writes.append((self.step, tid, path, ch, v))
        self.checkpoint_pending_writes.clear()
        self.is_replaying = False

    def _exit_delta_ops(self) -> list[tuple[str, tuple]]:
        """``_put_exit_delta_writes``: the saver calls (``put``/``put_writes``) that
        store exit mode's delta writes before its final checkpoint."""
        if not self._exit_delta_writes or self.checkpointer is None:
            return []
        if self._has_persisted_parent and not self._loaded_latest:
            self._forced.update(w[3] for w in self._exit_delta_writes)
        counters = dict(self.checkpoint_metadata.get("counters_since_delta_snapshot") or {})
        snapshot = self._delta_to_snapshot(counters) | self._forced
        pending = [w for w in self._exit_delta_writes if w[3] not in snapshot]
        if not pending:
            return []
        ops: list[tuple[str, tuple]] = []
        if self._has_persisted_parent:
            anchor = self._initial_checkpoint_config
        else:
            stub = new_empty_checkpoint()
            stub["id"] = self.checkpoint_id_saved
            stub["ts"] = _native.now_iso()
            anchor = patch_configurable(
                self._initial_checkpoint_config, {CONFIG_KEY_CHECKPOINT_ID: stub["id"]}
            )
            ops.append(
                (
                    "put",
                    (
                        patch_configurable(
                            self._initial_checkpoint_config, {CONFIG_KEY_CHECKPOINT_ID: None}
                        ),
                        stub,
                        {"step": -2},
                        {},
                    ),
                )
            )
            self.checkpoint_config = anchor
        grouped: dict[tuple[str, str], list] = {}
        for step, tid, path, ch, v in pending:
            if tid == NULL_TASK_ID:
                key = (exit_delta_task_id(step, tid), "")
            elif step == self._exit_first_step:
                key = (exit_delta_task_id(step, tid), path)
            else:
                key = (exit_delta_late_task_id(step, tid), f"~~{step:010d}{path}")
            grouped.setdefault(key, []).append((ch, v))
        config = patch_configurable(
            anchor,
            {
                CONFIG_KEY_CHECKPOINT_NS: self.config[CONF].get(CONFIG_KEY_CHECKPOINT_NS, ""),
                CONFIG_KEY_CHECKPOINT_ID: anchor[CONF][CONFIG_KEY_CHECKPOINT_ID],
            },
        )
        for (tid, path), entries in grouped.items():
            args = (config, entries, tid, path) if self._put_writes_path else (config, entries, tid)
            ops.append(("put_writes", args))
        return ops

    def _after_checkpoint(self) -> None:
        if self.interrupt_after and self._should_interrupt(self.interrupt_after):
            self.status = "interrupt_after"
            self._prepare_tasks()
            self._emit_checkpoint()
            raise GraphInterrupt()
        self.config[CONF].pop(CONFIG_KEY_RESUMING, None)

    def _commit(self, task: PregelExecutableTask, exc: BaseException | None) -> None:
        if exc is None:
            # PregelRunner.commit and put_writes for a task that succeeded
            # (rust/py/step_commit.rs; the uncommon cases call back put_writes)
            _native.commit_ok(self, task)
            return
        writes = self._commit_writes(task, exc)
        if writes is not None:
            self.put_writes(task.id, writes)

    def _commit_writes(self, task: PregelExecutableTask, exc: BaseException) -> list | None:
        """``PregelRunner.commit`` for a task that failed: the writes to put, or None."""
        if isinstance(exc, asyncio.CancelledError):
            task.writes.append((ERROR, exc))
            return task.writes
        if isinstance(exc, GraphInterrupt):
            if exc.args[0]:
                writes = [(INTERRUPT, exc.args[0])]
                writes.extend(w for w in task.writes if w[0] == RESUME)
                return writes
            return None
        if isinstance(exc, GraphBubbleUp):
            return None
        task.writes.append((ERROR, exc))
        if self._routes_to_handler(task, exc):
            task.writes.append((ERROR_SOURCE_NODE, task.name))
        return task.writes

    def _exit_values(self, exc_value: BaseException | None) -> bool:
        """``_suppress_interrupt`` after the exit save; True to suppress."""
        if isinstance(exc_value, GraphInterrupt) and not self.is_nested:
            interrupts = tuple(exc_value.args[0]) if exc_value.args else ()
            from langgraph.callbacks import GraphInterruptEvent

            if not self.lifecycle:
                self.lifecycle = []
            self.lifecycle.append(
                GraphInterruptEvent(
                    run_id=None,
                    status=self.status,
                    checkpoint_id=self.checkpoint["id"],
                    checkpoint_ns=self.checkpoint_ns,
                    interrupts=interrupts,
                )
            )
            if self.tasks and self.checkpoint_pending_writes and any(
                t.writes for t in self.tasks.values()
            ):
                updated = self.state.apply_writes(
                    [(t.name, t.path, t.triggers, t.writes) for t in self.tasks.values()]
                )
                keys = self.output_keys
                if (
                    keys in updated
                    if isinstance(keys, str)
                    else any(k in keys for k in updated)
                ):
                    self._emit_values([w for t in self.tasks.values() for w in t.writes])
            if not exc_value.args or not exc_value.args[0]:
                payload = exc_value.args[0] if exc_value.args else ()
                self._emit("updates", lambda: iter([{INTERRUPT: payload}]))
            self.output = self.state.read_output(self.output_keys)
            return True
        if exc_value is None:
            self.output = self.state.read_output(self.output_keys)
        return False

    def _needs_exit_save(self, exc_value: BaseException | None) -> bool:
        # after an engine panic the run state may be half-applied: never persist it
        if isinstance(exc_value, _native.EngineError):
            return False
        return self.durability == "exit" and (
            not self.is_nested
            or exc_value is not None
            or all(NS_END not in part for part in self.checkpoint_ns)
        )

    def _fails_checkpoints(self, put: bool, args: tuple) -> bool:
        """Whether a failed save fails the next checkpoint (and so every later one):
        a checkpoint's own, or the writes of a DeltaChannel, which LangGraph's next
        checkpoint waits on (it is never saved without the writes it reads)."""
        if put:
            return True
        writes = args[1] if len(args) > 1 else ()
        return bool(self._delta_names) and isinstance(writes, (list, tuple, deque)) and any(
            isinstance(w, tuple) and w and w[0] in self._delta_names for w in writes
        )

    def _saver_failed(self, exc: BaseException, put: bool) -> None:
        if self._saver_exc is None:
            self._saver_exc = exc
        if put and self._put_checkpoint_exc is None:
            self._put_checkpoint_exc = exc

    def raise_put_error(self) -> None:
        """After a step: with durability "sync" LangGraph waits for the step's
        checkpoint, so a failed one (or an earlier one) raises here. A loop
        without a checkpointer never made that future: LangGraph's wait for it
        fails with an AttributeError after the first step."""
        if self.durability != "sync":
            return
        if self._put_checkpoint_exc is not None:
            raise self._put_checkpoint_exc
        if self.checkpointer is None:
            loop = "AsyncPregelLoop" if self._is_async else "SyncPregelLoop"
            raise AttributeError(f"'{loop}' object has no attribute '_put_checkpoint_fut'")

    def _exit_error(self, exc_value: BaseException | None, suppress: bool) -> BaseException | None:
        """The failed save to raise at exit: none when the run raises its own error."""
        return self._saver_exc if exc_value is None or suppress else None

    def pop_lifecycle_event(self) -> Any:
        return self.lifecycle.pop(0) if self.lifecycle else None

    def _cache_lookup_keys(self) -> dict:
        return {
            (t.cache_key.ns, t.cache_key.key): t
            for t in self.tasks.values()
            if t.cache_key and not t.writes
        }

"""The ``_Loop``'s stream events: the chunks each stream mode gets, in
LangGraph's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph._internal._constants import (
    CONF,
    CONFIG_KEY_CHECKPOINT_ID,
    ERROR,
    INTERRUPT,
    PUSH,
)
from langgraph._internal._typing import EMPTY_SEQ
from langgraph.constants import TAG_HIDDEN
from langgraph.pregel.debug import (
    map_debug_checkpoint,
    map_debug_task_results,
)

from langgraph_rs import _native



class _Streaming:
    """Mixin of ``_Loop``: stream events."""

    # -- streaming ----------------------------------------------------------

    def _emit(self, mode: str, values: Any, *args: Any) -> None:
        if self.stream is None:
            return
        modes = self.stream.modes
        debug_remap = mode in ("checkpoints", "tasks") and "debug" in modes
        if mode not in modes and not debug_remap:
            return
        for v in values(*args):
            if mode in modes:
                self.stream((self.checkpoint_ns, mode, v))
            if debug_remap:
                self.stream(
                    (
                        self.checkpoint_ns,
                        "debug",
                        {
                            "step": self.step - 1 if mode == "checkpoints" else self.step,
                            "timestamp": _native.now_iso(),
                            "type": "checkpoint"
                            if mode == "checkpoints"
                            else "task_result"
                            if "result" in v
                            else "task",
                            "payload": v,
                        },
                    )
                )

    def _emit_values(self, writes: Any) -> None:
        if self.stream is None or "values" not in self.stream.modes:
            return
        keys = self.output_keys
        if writes is True or _native.any_written_in(writes, keys):
            if self._values_at_end:
                self._values_pending = True
                return
            self.stream((self.checkpoint_ns, "values", self.state.read_output(keys)))

    def output_writes(self, task_id: str, writes: Sequence, *, cached: bool = False) -> None:
        task = self.tasks.get(task_id)
        if task is None or self.stream is None:
            return
        if task.config is not None and TAG_HIDDEN in task.config.get("tags", EMPTY_SEQ):
            return
        if writes[0][0] == INTERRUPT:
            if task.path[0] == PUSH and task.path[-1] is True:
                return
            interrupts = [
                {
                    INTERRUPT: tuple(
                        v
                        for w in writes
                        if w[0] == INTERRUPT
                        for v in (w[1] if isinstance(w[1], Sequence) else (w[1],))
                    )
                }
            ]
            modes = self.stream.modes
            if "updates" in modes:
                self._emit("updates", lambda: iter(interrupts))
            if "values" in modes:
                self._values_pending = False  # (this chunk comes after it)
                current = self.state.read_output(self.output_keys)
                if isinstance(current, dict):
                    current[INTERRUPT] = interrupts[0][INTERRUPT]
                    self._emit("values", lambda: iter([current]))
                else:
                    self._emit("values", lambda: iter(interrupts))
        elif writes[0][0] != ERROR and "updates" in self.stream.modes:
            self.stream(
                (
                    self.checkpoint_ns,
                    "updates",
                    _native.updates_chunk(self.output_keys, task.name, writes, cached),
                )
            )
        if not cached:
            self._emit("tasks", map_debug_task_results, (task, writes), self.stream_keys)

    def _emit_checkpoint(self) -> None:
        if self.checkpointer is None:
            return
        self._emit(
            "checkpoints",
            map_debug_checkpoint,
            {
                **self.checkpoint_config,
                CONF: {
                    **self.checkpoint_config[CONF],
                    CONFIG_KEY_CHECKPOINT_ID: self.checkpoint["id"],
                },
            },
            self.channels,
            self.stream_keys,
            self.checkpoint_metadata,
            self.tasks.values(),
            self.checkpoint_pending_writes,
            self.prev_checkpoint_config,
            self.output_keys,
        )

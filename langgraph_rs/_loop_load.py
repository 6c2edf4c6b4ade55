"""The ``_Loop``'s start: loading the checkpoint (or replaying one), the
native state it seeds, and the run's first writes (input, resume,
``Command``). A start with nothing saved and a plain input is native
(rust/py/run_enter.rs), as is the step after both (``after_first``).
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID, uuid5
from typing import Any

from langgraph._internal._constants import (
    CONF,
    CONFIG_KEY_CHECKPOINT_ID,
    CONFIG_KEY_CHECKPOINT_MAP,
    CONFIG_KEY_CHECKPOINT_NS,
    CONFIG_KEY_RESUME_MAP,
    CONFIG_KEY_RESUMING,
    CONFIG_KEY_STRICT_RESUME,
    INPUT,
    INTERRUPT,
    NULL_TASK_ID,
    RESUME,
)
from langgraph._internal._typing import MISSING
from langgraph.checkpoint.base import (
    CheckpointTuple,
)
from langgraph.errors import (
    UnknownInterruptError,
    EmptyInputError,
)
from langgraph.channels.binop import _get_overwrite
from langgraph.pregel._messages import ensure_message_ids
from langgraph.pregel._checkpoint import (
    LATEST_VERSION,
    delta_channels_with_pending_writes,
)
from langgraph.pregel._io import map_command
from langgraph.pregel._task_status import read_task_statuses
from langgraph.pregel._utils import is_xxh3_128_hexdigest
from langgraph.types import Command

from langgraph_rs import _native
from langgraph_rs import _loop_checkpoint as _ids  # (its checkpoint_id, looked up per call)
from langgraph_rs._channels_view import _ChannelsView
from langgraph_rs._state_load import replay_targets, state_from

from langgraph_rs._errors import UnsupportedFeatureError


class _Loading:
    """Mixin of ``_Loop``: loading and the first writes."""

    # -- loading ------------------------------------------------------------

    def _load(self, saved: CheckpointTuple | None) -> None:
        """Take the loaded checkpoint (``__enter__`` minus the saver calls);
        ``_init_state`` follows once delta histories are fetched."""
        self._has_persisted_parent = saved is not None
        if saved is None:  # (what LangGraph loads as an empty CheckpointTuple)
            config = self.checkpoint_config
            checkpoint = _native.empty_checkpoint(LATEST_VERSION, _ids.checkpoint_id(-2))
            saved_conf = config.get(CONF, {})
            self.prev_checkpoint_config = None
            self.checkpoint_metadata = {"step": -2}
            self.checkpoint_pending_writes = []
        else:
            if self.graph._migrate_checkpoint is not None:
                self.graph._migrate_checkpoint(saved.checkpoint)
            config = saved.config
            checkpoint = saved.checkpoint
            saved_conf = config.get(CONF, {})
            self.prev_checkpoint_config = saved.parent_config
            self.checkpoint_metadata = saved.metadata
            self.checkpoint_pending_writes = (
                [(str(tid), k, v) for tid, k, v in saved.pending_writes]
                if saved.pending_writes
                else []
            )
        self.checkpoint_config = {
            **self.checkpoint_config,
            **config,
            CONF: {
                CONFIG_KEY_CHECKPOINT_NS: "",
                **self.checkpoint_config.get(CONF, {}),
                **saved_conf,
            },
        }
        self.checkpoint_id_saved = checkpoint["id"]
        self.checkpoint = checkpoint
        self.sha1_ids = checkpoint["v"] <= 1
        self._initial_checkpoint_config = self.checkpoint_config
        self._exit_delta_writes = (
            [] if self.durability == "exit" and self.checkpointer is not None else None
        )
        self.status = "input"
        self.step = self.checkpoint_metadata["step"] + 1
        self.stop = self.step + self.config["recursion_limit"] + 1
        if self.spec.managed and not isinstance(self.stop, int):
            # LangGraph takes a float limit as it comes: RemainingSteps turns a
            # float (fractional: IsLastStep never holds); the core counts in integers
            raise UnsupportedFeatureError(
                f"langgraph_rs does not support managed values with a non-integer "
                f"recursion_limit ({self.config['recursion_limit']!r})"
            )
        self.checkpoint_previous_versions = dict(checkpoint["channel_versions"])
        upd = checkpoint.get("updated_channels")
        self.updated_channels = list(upd) if upd else None

    def _replay_targets(self) -> list[str]:
        """Delta channels (or binop channels that were ones) the saver's history rebuilds."""
        return replay_targets(self.spec, self.checkpoint, self.checkpointer, self.checkpoint_config)

    def _init_state(self, histories: Mapping[str, Any] | None) -> None:
        self.state = state_from(
            self.graph,
            self.spec,
            self.checkpoint,
            histories,
            self.next_version if self.checkpointer else None,
        )
        self.channels = _ChannelsView(self.state, self.channel_names, self.channel_order)

    def _first_writes(self) -> tuple[bool, list | None]:
        """Input handling of ``_first``: returns (is_resuming, input_writes)."""
        configurable = self.config.get(CONF, {})
        delta = self._delta_names
        if delta:
            self._stored_delta_writes = {
                (tid, ch)
                for tid, ch, _ in self.checkpoint_pending_writes
                if tid != NULL_TASK_ID and ch in delta
            }
        input_is_command = isinstance(self.input, Command)
        has_versions = bool(self.checkpoint["channel_versions"])
        is_resuming = has_versions and bool(
            configurable.get(
                CONFIG_KEY_RESUMING,
                self.input is None
                or input_is_command
                or (
                    not self.is_nested
                    and self.config.get("metadata", {}).get("run_id")
                    == self.checkpoint_metadata.get("run_id", MISSING)
                ),
            )
        )
        is_time_traveling = self._addressed and (
            (
                self.is_nested
                and configurable.get(CONFIG_KEY_CHECKPOINT_NS, "")
                in configurable.get(CONFIG_KEY_CHECKPOINT_MAP, {})
            )
            or not (
                (input_is_command and self.input.resume is not None)
                or configurable.get(CONFIG_KEY_RESUMING, False)
            )
        )
        self.is_replaying = is_time_traveling or self._addressed_checkpoint_superseded
        if is_time_traveling:
            self.checkpoint_pending_writes = [
                w for w in self.checkpoint_pending_writes if w[1] != RESUME
            ]
        replay_bound = None
        forks = (
            is_resuming
            and is_time_traveling
            and (
                self.checkpoint_metadata.get("source") not in ("update", "fork")
                or self._addressed_checkpoint_superseded
            )
        )
        carried: list = []
        if delta:
            reapplies = is_resuming and not self.is_replaying
            self._resume_loaded_writes = (
                [w for w in self.checkpoint_pending_writes if w[0] != NULL_TASK_ID]
                if reapplies
                else ()
            )
            self._forced = (
                set()
                if reapplies
                else delta_channels_with_pending_writes(
                    self.graph.channels, self.checkpoint_pending_writes
                )
            )
        if input_is_command:
            cmd = self.input
            resume_is_map = False
            if cmd.resume is not None:
                if not self.checkpointer:
                    raise RuntimeError(
                        "Cannot use Command(resume=...) without checkpointer"
                    )
                strict = (
                    self.config[CONF].get(CONFIG_KEY_STRICT_RESUME, False)
                    and not self.is_nested
                    and not self._addressed_checkpoint_superseded
                )
                pending = {
                    i.id
                    for st in read_task_statuses(self.checkpoint_pending_writes).values()
                    for i in st.pending_interrupts
                }
                if resume_is_map := (
                    isinstance(cmd.resume, dict)
                    and all(is_xxh3_128_hexdigest(k) for k in cmd.resume)
                ):
                    if strict:
                        if not cmd.resume:
                            raise UnknownInterruptError(
                                "The resume map names no interrupt",
                                reason="empty_map",
                                pending_ids=sorted(pending),
                            )
                        if unknown := sorted(cmd.resume.keys() - pending):
                            raise UnknownInterruptError(
                                f"Unknown or already-consumed interrupt: {unknown[0]}",
                                reason="not_pending",
                                interrupt_ids=unknown,
                                pending_ids=sorted(pending),
                            )
                    self.config[CONF][CONFIG_KEY_RESUME_MAP] = cmd.resume
                elif len(pending) > 1:
                    message = (
                        "When there are multiple pending interrupts, you must specify the interrupt id when resuming. "
                        "Docs: https://docs.langchain.com/oss/python/langgraph/interrupts#handling-multiple-interrupts."
                    )
                    if strict:
                        raise UnknownInterruptError(
                            message, reason="ambiguous", pending_ids=sorted(pending)
                        )
                    raise RuntimeError(message)
            writes: dict[str, list] = {}
            for tid, c, v in map_command(cmd=cmd):
                if not (c == RESUME and resume_is_map):
                    writes.setdefault(tid, []).append((c, v))
            if not writes and not resume_is_map:
                raise EmptyInputError("Received empty Command input")
            for tid, ws in writes.items():
                if forks:
                    if delta:
                        ensure_message_ids(self.graph.channels, ws)
                    carried.extend((tid, c, v) for c, v in ws)
                else:
                    self.put_writes(tid, ws)
                    if self._exit_delta_writes is not None and tid == NULL_TASK_ID:
                        if not self._exit_command_writes:
                            self._exit_command_writes = []
                        self._exit_command_writes.extend((c, v) for c, v in ws if c in delta)
            if delta:
                self._forced.update(
                    delta_channels_with_pending_writes(self.graph.channels, carried)
                )
        # apply NULL writes
        if (self.checkpoint_pending_writes or carried) and (
            null_writes := [
                w[1:]
                for w in (*self.checkpoint_pending_writes, *carried)
                if w[0] == NULL_TASK_ID
            ]
        ):
            upd = self.state.apply_writes([(INPUT, (), (), null_writes)])
            if self.updated_channels is not None:
                self.updated_channels = sorted(set(self.updated_channels) | set(upd))
        self._replay_checkpoint_id = None
        if is_resuming:
            self.state.mark_seen(INTERRUPT)
            if forks:
                if (
                    self.checkpoint_metadata.get("source") in ("update", "fork")
                    and self.prev_checkpoint_config
                ):
                    replay_bound = self.prev_checkpoint_config
                self.checkpoint_pending_writes = [
                    w for w in self.checkpoint_pending_writes if w[1] != INTERRUPT
                ]
                # LangGraph saves the fork while its loop's updated_channels is
                # still unset (it is assigned when _first returns)
                updated, self.updated_channels = self.updated_channels, None
                do, args = self._make_checkpoint({"source": "fork"})
                self.updated_channels = updated
                if do and args is not None:
                    if not self._deferred_puts:
                        self._deferred_puts = []
                    self._deferred_puts.append(args)
            self._emit_values(True)
            input_writes = None
        else:
            input_writes = _native.map_input(self.input_keys, self.input)
            if not input_writes:
                input_writes = None
                if CONFIG_KEY_RESUMING not in configurable:
                    raise EmptyInputError(f"Received no input for {self.input_keys}")
        if is_time_traveling:
            rid = self.checkpoint["id"]
            if replay_bound is not None:
                rid = replay_bound[CONF].get(CONFIG_KEY_CHECKPOINT_ID, rid)
            elif (
                self.checkpoint_metadata.get("source") in ("update", "fork")
                and self.prev_checkpoint_config
            ):
                rid = self.prev_checkpoint_config[CONF].get(CONFIG_KEY_CHECKPOINT_ID, rid)
            self._replay_checkpoint_id = rid
        return is_resuming, input_writes

    def _apply_input(self, input_writes: list) -> None:
        delta = self._delta_names
        if delta:
            ensure_message_ids(self.graph.channels, input_writes)
            self._forced.update(
                c for c, v in input_writes if c in delta and _get_overwrite(v)[0]
            )
        # LangGraph prepares the tasks to discard without trigger_to_nodes, so every
        # node is a candidate (a node never run fires on any available trigger)
        discard = self.state.prepare(
            self.checkpoint["id"], self.parent_ns, self.step, int(self.stop), None, self.sha1_ids,
        )
        self.updated_channels = self.state.apply_writes(
            [(p[1], p[2], p[3], ()) for p in discard] + [(INPUT, (), (), input_writes)]
            if discard
            else [(INPUT, (), (), input_writes)]
        )
        if delta:
            if self._exit_delta_writes is not None:
                self._exit_delta_writes.extend(
                    (self.step, NULL_TASK_ID, "", c, v) for c, v in input_writes if c in delta
                )
            if self.durability != "exit":
                delta_input = [(c, v) for c, v in input_writes if c in delta]
                if delta_input and self._has_persisted_parent and self._loaded_latest:
                    self.put_writes(str(uuid5(UUID(self.checkpoint["id"]), INPUT)), delta_input)
                else:
                    self._forced.update(c for c, _ in delta_input)

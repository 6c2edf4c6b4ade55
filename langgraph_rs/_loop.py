"""The superstep loop: one run of a graph on the Rust state machine.

``_Loop`` holds what LangGraph's ``PregelLoop`` and ``PregelRunner`` hold for a
run — the loaded checkpoint, pending writes, the tasks of the current superstep —
but the channels, versions, planning and ``apply_writes`` are the native
``State``'s. Python builds the task configs LangGraph's node callables expect,
runs them, and calls the user's checkpointer/cache exactly as LangGraph does.
``_SyncLoop``/``_AsyncLoop`` do the I/O for ``stream``/``astream``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from copy import copy
import contextvars
import itertools
import inspect
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from uuid import UUID, uuid5
from functools import partial
from typing import Any

from langchain_core.callbacks.base import BaseCallbackManager
from langchain_core.runnables import Runnable
from langchain_core.runnables.config import _merge_metadata_dicts, get_executor_for_config
from langchain_core.utils.uuid import uuid7
from langgraph._internal._config import (
    patch_configurable,
)
from langgraph._internal._constants import (
    CACHE_NS_WRITES,
    CONF,
    CONFIG_KEY_CALL,
    CONFIG_KEY_CHECKPOINT_ID,
    CONFIG_KEY_CHECKPOINT_MAP,
    CONFIG_KEY_CHECKPOINT_NS,
    CONFIG_KEY_CHECKPOINTER,
    CONFIG_KEY_NODE_ERROR,
    CONFIG_KEY_NODE_FINISHED,
    CONFIG_KEY_READ,
    CONFIG_KEY_REPLAY_STATE,
    CONFIG_KEY_RESUME_MAP,
    CONFIG_KEY_RESUMING,
    CONFIG_KEY_RUNTIME,
    CONFIG_KEY_SCRATCHPAD,
    CONFIG_KEY_SEND,
    CONFIG_KEY_STREAM,
    CONFIG_KEY_STRICT_RESUME,
    CONFIG_KEY_TASK_ID,
    CONFIG_KEY_THREAD_ID,
    ERROR,
    ERROR_SOURCE_NODE,
    INPUT,
    INTERRUPT,
    NO_WRITES,
    NS_END,
    NS_SEP,
    NULL_TASK_ID,
    PREVIOUS,
    PUSH,
    RESUME,
    RETURN,
    TASKS,
)
from langgraph._internal._replay import ReplayState
from langgraph._internal._runnable import RunnableSeq, set_config_context
from langgraph._internal._scratchpad import PregelScratchpad
from langgraph._internal._typing import EMPTY_SEQ, MISSING
from langgraph.callbacks import GraphResumeEvent
from langgraph.checkpoint.base import (
    CheckpointTuple,
    WRITES_IDX_MAP,
)
from langgraph.constants import TAG_HIDDEN
from langgraph.errors import (
    UnknownInterruptError,
    is_invalid_resume,
    NodeError,
    EmptyInputError,
    GraphBubbleUp,
    GraphInterrupt,
)
from langgraph.pregel import _algo
from langgraph.pregel._algo import Call
from langgraph.pregel._call import get_runnable_for_task, identifier
from langgraph.pregel import _checkpoint as _checkpoint_mod
from langgraph.channels.base import BaseChannel
from langgraph.channels.binop import _get_overwrite
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from langgraph.pregel._messages import ensure_message_ids
from langgraph.pregel._checkpoint import (
    _delta_channels_to_replay,
    _mark_bumps_seen,
    _replay,
    _require_saver_for_history,
    delta_channels_with_pending_writes,
    exit_delta_late_task_id,
    exit_delta_task_id,
    LATEST_VERSION,
    acheckpoint_superseded,
    checkpoint_superseded,
    empty_checkpoint,
    put_writes_accepts_task_path,
)
from langgraph.pregel._io import map_command, map_input, read_channels
from langgraph.pregel._retry import arun_with_retry
from langgraph.pregel._task_status import CONTROL_WRITES, read_task_statuses
from langgraph.pregel._utils import get_new_channel_versions, is_xxh3_128_hexdigest
from langgraph.pregel.debug import (
    map_debug_checkpoint,
    map_debug_task_results,
    map_debug_tasks,
)
from langgraph.pregel.protocol import StreamProtocol
from langgraph.runtime import DEFAULT_RUNTIME, Runtime
from langgraph.types import CacheKey, Command, PregelExecutableTask, Send
from xxhash import xxh3_128_hexdigest

from langgraph_rs import _native

# str(uuid6(clock_seq=step)) of langgraph.checkpoint.base.id, made natively
checkpoint_id = _native.checkpoint_id
from langgraph_rs._errors import UnsupportedFeatureError
from langgraph_rs._spec import GraphSpec



PUSH_TRIGGER = (PUSH,)


async def _lean_ainvoke(lean: Any, input: Any, config: Any, **kwargs: Any) -> Any:
    """``LeanSeq.ainvoke`` (rust/py/node_call.rs does ``invoke``): a node's steps
    run one after the other without a callback run around them — ``RunnableSeq``
    minus the callback manager, for runs that have no callback handler to tell
    it to. The node runs in its config context exactly as ``RunnableSeq`` runs it."""
    if not isinstance(config.get("callbacks"), BaseCallbackManager):
        return await lean.seq.ainvoke(input, config, **kwargs)
    steps, native, own_config = lean.steps, lean.native, lean.own_config
    parent = _seq_parent(config)
    config = _seq_step_config(config, parent, 1)
    with set_config_context(config) as context:
        input = await asyncio.create_task(steps[0].ainvoke(input, config, **kwargs), context=context)
    for i, step in enumerate(steps[1:], 2):
        if (plan := native[i - 1]) is not None:
            input = _native.channel_write(plan, input, config, recurse=False)
            if step.recurse and isinstance(input, Runnable):
                input = await input.ainvoke(input, config)
            continue
        input = await step.ainvoke(input, _seq_step_config(config, parent, i) if own_config[i - 1] else config)
    return input


def _seq_parent(config: dict) -> tuple[list, dict, UUID]:
    """What ``RunnableSeq._start`` hands down to its steps when no handler records
    the node's run: the inheritable tags and metadata of the task's callback
    manager with the config's added (as ``get_callback_manager_for_config`` adds
    them), and the run id of the node's run."""
    manager = config["callbacks"]
    inheritable_tags = manager.inheritable_tags
    if tags := config.get("tags"):
        scratch = type(manager)(
            handlers=[], tags=list(manager.tags), inheritable_tags=list(inheritable_tags)
        )
        scratch.add_tags(tags)
        inheritable_tags = scratch.inheritable_tags
    metadata = manager.inheritable_metadata
    if extra := config.get("metadata"):
        metadata = _merge_metadata_dicts(metadata, extra)
    return inheritable_tags, metadata, config.pop("run_id", None) or uuid7()


def _seq_step_config(config: dict, parent: tuple[list, dict, UUID], i: int) -> dict:
    """``patch_config(config, callbacks=run_manager.get_child(f"seq:step:{i}"))``:
    a callee that brings its own handlers sees the tags, metadata and parent run
    of the node's run, and no ``run_name`` (it would rename the callee's run)."""
    inheritable_tags, metadata, run_id = parent
    child = type(config["callbacks"])(
        handlers=[],
        inheritable_handlers=[],
        parent_run_id=run_id,
        tags=list(inheritable_tags),
        inheritable_tags=list(inheritable_tags),
        metadata=dict(metadata),
        inheritable_metadata=dict(metadata),
    )
    step_tag = f"seq:step:{i}"
    if step_tag in inheritable_tags:
        child.add_tags([step_tag], inherit=False)
    else:
        child.tags.append(step_tag)
    config = config.copy()
    config["callbacks"] = child
    config.pop("run_name", None)
    config.pop("run_id", None)
    return config


def _cache_key(policy: Any, key_ns: tuple, args_key: Any) -> CacheKey:
    """The cache key of a task's writes (as ``_algo`` builds it)."""
    return CacheKey(
        key_ns,
        xxh3_128_hexdigest(args_key.encode() if isinstance(args_key, str) else args_key),
        policy.ttl,
    )


def _task_metadata(step: int, name: str, triggers: Any, path: tuple, task_ns: str, extra: Any) -> dict:
    metadata = {
        "langgraph_step": step,
        "langgraph_node": name,
        "langgraph_triggers": triggers,
        "langgraph_path": path,
        "langgraph_checkpoint_ns": task_ns,
    }
    if extra:
        metadata.update(extra)
    return metadata


class _ChannelRef:
    __slots__ = ("_state", "_name")

    def __init__(self, state: _native.State, name: str) -> None:
        self._state = state
        self._name = name

    def get(self) -> Any:
        return self._state.get(self._name)

    def is_available(self) -> bool:
        return self._state.is_available(self._name)


class _ChannelsView(Mapping):
    """The run's channels by name, in the graph's order (what LangGraph's
    ``local_read`` partial holds as its second argument, which prebuilt code reads)."""

    __slots__ = ("_state", "_names", "_order")

    def __init__(self, state: _native.State, names: frozenset[str], order: Sequence[str]) -> None:
        self._state = state
        self._names = names
        self._order = order

    def __getitem__(self, key: str) -> _ChannelRef:
        if key not in self._names:
            raise KeyError(key)
        return _ChannelRef(self._state, key)

    def __contains__(self, key: object) -> bool:
        return key in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._names)


def _cacheable(writes: Sequence[tuple[str, Any]]) -> bool:
    return not any(c in (INTERRUPT, ERROR) for c, _ in writes)


# ---------------------------------------------------------------------------
# The loop


class _Loop:
    """One run of a graph: checkpoint I/O, task building and streaming around
    the Rust state machine. Sync and async I/O live in the subclasses, which
    provide ``put_writes``."""

    _is_async = False

    def __init__(
        self,
        graph: Any,
        spec: GraphSpec,
        input: Any,
        *,
        stream: StreamProtocol | None,
        config: dict,
        store: Any,
        cache: Any,
        checkpointer: Any,
        output_keys: str | Sequence[str],
        interrupt_before: Any,
        interrupt_after: Any,
        manager: Any,
        durability: str,
    ) -> None:
        self.graph = graph
        self.spec = spec
        self.nodes = graph.nodes
        self.input = input
        self.stream = stream
        self.config = config
        self.store = store
        self.cache = cache
        self.checkpointer = checkpointer
        self.input_keys = graph.input_channels
        self.output_keys = output_keys
        self.stream_keys = graph.stream_channels_asis
        self.interrupt_before = interrupt_before
        self.interrupt_after = interrupt_after
        self.manager = manager
        self.durability = durability
        self.retry_policy = graph.retry_policy
        self.cache_policy = graph.cache_policy
        self.trigger_to_nodes = spec.trigger_to_nodes
        self.channel_order = tuple(spec.graph.channel_names)
        self.channel_names = frozenset(self.channel_order)
        self.step = 0
        self.stop = 0
        self.status = "input"
        self.tasks: dict[str, PregelExecutableTask] = {}
        self.output: Any = None
        self.updated_channels: list[str] | None = None
        self.lifecycle: deque = deque()
        self.is_nested = CONFIG_KEY_TASK_ID in config.get(CONF, {})
        if self.stream is not None and CONFIG_KEY_STREAM in config[CONF]:
            outer = config[CONF][CONFIG_KEY_STREAM]
            inner = self.stream

            def duplex(chunk: Any) -> None:
                inner(chunk)
                outer(chunk)

            self.stream = StreamProtocol(duplex, inner.modes | outer.modes)
        scratchpad = config[CONF].get(CONFIG_KEY_SCRATCHPAD)
        if isinstance(scratchpad, PregelScratchpad):
            if cnt := scratchpad.subgraph_counter():
                self.config = patch_configurable(
                    self.config,
                    {
                        CONFIG_KEY_CHECKPOINT_NS: NS_SEP.join(
                            (config[CONF][CONFIG_KEY_CHECKPOINT_NS], str(cnt))
                        )
                    },
                )
        if not self.is_nested and config[CONF].get(CONFIG_KEY_CHECKPOINT_NS):
            self.config = patch_configurable(
                self.config, {CONFIG_KEY_CHECKPOINT_NS: "", CONFIG_KEY_CHECKPOINT_ID: None}
            )
        conf = self.config[CONF]
        if (
            CONFIG_KEY_CHECKPOINT_MAP in conf
            and conf.get(CONFIG_KEY_CHECKPOINT_NS) in conf[CONFIG_KEY_CHECKPOINT_MAP]
        ):
            self.checkpoint_config = patch_configurable(
                self.config,
                {
                    CONFIG_KEY_CHECKPOINT_ID: conf[CONFIG_KEY_CHECKPOINT_MAP][
                        conf[CONFIG_KEY_CHECKPOINT_NS]
                    ]
                },
            )
        else:
            self.checkpoint_config = self.config
        if thread_id := self.checkpoint_config[CONF].get(CONFIG_KEY_THREAD_ID):
            if not isinstance(thread_id, str):
                self.checkpoint_config = patch_configurable(
                    self.checkpoint_config, {CONFIG_KEY_THREAD_ID: str(thread_id)}
                )
        self.checkpoint_ns: tuple[str, ...] = (
            tuple(conf[CONFIG_KEY_CHECKPOINT_NS].split(NS_SEP))
            if conf.get(CONFIG_KEY_CHECKPOINT_NS)
            else ()
        )
        self.parent_ns: str = self.config[CONF].get(CONFIG_KEY_CHECKPOINT_NS, "")
        self.prev_checkpoint_config = None
        self._addressed = bool(
            self.checkpoint_config[CONF].get(CONFIG_KEY_CHECKPOINT_ID)
            or self.config[CONF].get(CONFIG_KEY_REPLAY_STATE)
        )
        runtime = self.config[CONF].get(CONFIG_KEY_RUNTIME)
        self.control = runtime.control if isinstance(runtime, Runtime) else None
        if checkpointer:
            self.next_version = checkpointer.get_next_version
            self._put_writes_path = put_writes_accepts_task_path(
                checkpointer.aput_writes if self._is_async else checkpointer.put_writes
            )
        else:
            self.next_version = None
            self._put_writes_path = False
        self._pending_put: list = []
        self._pending_cache: list = []
        self._call_futs: dict[str, Any] = {}
        self._call_lock = threading.RLock()
        self._written_task_ids: set[str] = set()
        self._addressed_checkpoint_superseded = False
        self._deferred_puts: list = []
        self._handler_map = graph.node_error_handler_map
        # no callback handler anywhere: nodes can skip RunnableSeq's callback run
        self._lean = manager is not None and not manager.handlers and not manager.inheritable_handlers
        self._lean_nodes: dict[str, Any] = spec.lean_nodes
        self._delta_names = spec.delta
        self._forced: set[str] = set()
        self._resume_loaded_writes: Any = ()
        self._reapplied_task_ids: set[str] = set()
        self._stored_delta_writes: set = set()
        self._exit_command_writes: list = []
        self._exit_delta_writes: list | None = None
        self._exit_first_step: int | None = None
        self._has_persisted_parent = False
        self._loaded_latest = False
        # (future, task) of a step's tasks still running (sync) or being cancelled
        # (async) when a sibling's error ended the run: committed at exit, after
        # the exit save, as LangGraph's runner commits them when its executor closes
        self._late: list[tuple[Any, PregelExecutableTask]] = []
        self._handler_nodes = set(self._handler_map.values())
        # LangGraph saves in the background: a failed save doesn't stop the run,
        # the first failure is raised at exit (unless the run raises), and a failed
        # checkpoint fails every later one (each save waits on the previous)
        self._put_checkpoint_exc: BaseException | None = None
        self._saver_exc: BaseException | None = None
        self._handler_write_exc: BaseException | None = None  # async: see _handler_writes_saved

    # -- loading ------------------------------------------------------------

    def _load(self, saved: CheckpointTuple | None) -> None:
        """Take the loaded checkpoint (``__enter__`` minus the saver calls);
        ``_init_state`` follows once delta histories are fetched."""
        self._has_persisted_parent = saved is not None
        if saved is None:
            saved = CheckpointTuple(
                self.checkpoint_config, empty_checkpoint(), {"step": -2}, None, []
            )
        elif self.graph._migrate_checkpoint is not None:
            self.graph._migrate_checkpoint(saved.checkpoint)
        self.checkpoint_config = {
            **self.checkpoint_config,
            **saved.config,
            CONF: {
                CONFIG_KEY_CHECKPOINT_NS: "",
                **self.checkpoint_config.get(CONF, {}),
                **saved.config.get(CONF, {}),
            },
        }
        self.prev_checkpoint_config = saved.parent_config
        self.checkpoint_id_saved = saved.checkpoint["id"]
        self.checkpoint = saved.checkpoint
        self.sha1_ids = self.checkpoint["v"] <= 1
        self.checkpoint_metadata = saved.metadata
        self.checkpoint_pending_writes = (
            [(str(tid), k, v) for tid, k, v in saved.pending_writes]
            if saved.pending_writes is not None
            else []
        )
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
        self.checkpoint_previous_versions = dict(saved.checkpoint["channel_versions"])
        upd = saved.checkpoint.get("updated_channels")
        self.updated_channels = list(upd) if upd else None

    def _replay_targets(self) -> list[str]:
        """Delta channels (or binop channels that were ones) the saver's history rebuilds."""
        if not self._delta_names and not self.spec.binop:
            return []
        specs = {k: v for k, v in self.graph.channels.items() if isinstance(v, BaseChannel)}
        targets = _delta_channels_to_replay(specs, self.checkpoint)
        _require_saver_for_history(targets, self.checkpointer, self.checkpoint_config)
        return targets if self.checkpointer is not None else []

    def _init_state(self, histories: Mapping[str, Any] | None) -> None:
        checkpoint = self.checkpoint
        if histories:
            values = dict(checkpoint["channel_values"])
            for k, history in histories.items():
                ch = _replay(self.graph.channels[k], history)
                if ch.value is not MISSING:
                    values[k] = ch.value
            checkpoint = {**checkpoint, "channel_values": values}
        self.state = _native.State(
            self.spec.graph, checkpoint, self.next_version if self.checkpointer else None
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
                        self._exit_command_writes.extend(
                            (c, v) for c, v in ws if c in delta
                        )
            if delta:
                self._forced.update(
                    delta_channels_with_pending_writes(self.graph.channels, carried)
                )
        # apply NULL writes
        if null_writes := [
            w[1:]
            for w in (*self.checkpoint_pending_writes, *carried)
            if w[0] == NULL_TASK_ID
        ]:
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
                    self._deferred_puts.append(args)
            self._emit_values(True)
            input_writes = None
        else:
            input_writes = list(map_input(self.input_keys, self.input))
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

    def _after_first(self, is_resuming: bool) -> None:
        if not self.is_nested:
            self.config = patch_configurable(
                self.config,
                {
                    CONFIG_KEY_RESUMING: is_resuming,
                    CONFIG_KEY_REPLAY_STATE: ReplayState(self._replay_checkpoint_id)
                    if self._replay_checkpoint_id is not None
                    else None,
                },
            )
        self.status = "pending"
        if is_resuming:
            self.lifecycle.append(
                GraphResumeEvent(
                    run_id=None,
                    status=self.status,
                    checkpoint_id=self.checkpoint["id"],
                    checkpoint_ns=self.checkpoint_ns,
                )
            )

    # -- checkpoints ------------------------------------------------------

    def _make_checkpoint(self, metadata: dict) -> tuple[bool, dict | None]:
        """The ``_put_checkpoint`` bookkeeping; returns (do_save, put args)."""
        exiting = metadata is self.checkpoint_metadata
        if exiting and self.checkpoint["id"] == self.checkpoint_id_saved:
            return False, None
        delta = self._delta_names
        if not exiting:
            new_counters: dict[str, tuple[int, int]] = {}
            if delta:
                prev = dict(self.checkpoint_metadata.get("counters_since_delta_snapshot") or {})
                updated = set(self.updated_channels or ())
                for name in delta:
                    u, st = prev.get(name, (0, 0))
                    new_counters[name] = (u + 1 if name in updated else u, st + 1)
            metadata["step"] = self.step
            metadata["parents"] = self.config[CONF].get(CONFIG_KEY_CHECKPOINT_MAP, {})
            self.checkpoint_metadata = metadata
        else:
            new_counters = dict(self.checkpoint_metadata.get("counters_since_delta_snapshot") or {})
        do_checkpoint = self.checkpointer is not None and (
            exiting or self.durability != "exit"
        )
        if delta:
            snapshot = (
                self._delta_to_snapshot(new_counters) | self._forced if do_checkpoint else set()
            )
            for k in snapshot:
                new_counters[k] = (0, 0)
            if do_checkpoint:
                self._forced.difference_update(snapshot)
            non_zero = {k: v for k, v in new_counters.items() if v != (0, 0)}
            if non_zero:
                self.checkpoint_metadata["counters_since_delta_snapshot"] = non_zero
            elif "counters_since_delta_snapshot" in self.checkpoint_metadata:
                del self.checkpoint_metadata["counters_since_delta_snapshot"]
        else:
            snapshot = set()
        # a new checkpoint has the current format: its task ids are xxh3 ones
        self.sha1_ids = False
        if not do_checkpoint:
            # Nothing is saved: only the id (it seeds the next task ids) moves on.
            self.checkpoint = {
                **self.checkpoint,
                "v": LATEST_VERSION,
                "id": self.checkpoint["id"] if exiting else checkpoint_id(self.step),
            }
            if not exiting:
                self.step += 1
            return False, None
        values, versions, seen = self.state.checkpoint()
        if snapshot:
            bumped: dict[str, tuple[Any, Any]] = {}
            stored = self.checkpoint_previous_versions
            for k in sorted(snapshot):
                if k not in versions:
                    versions[k] = self.next_version(None, None)
                    bumped[k] = (None, versions[k])
                elif versions[k] == stored.get(k):
                    old = versions[k]
                    versions[k] = self.next_version(old, None)
                    bumped[k] = (old, versions[k])
                values[k] = _DeltaSnapshot(self.state.get(k))
            if bumped:
                seen = _mark_bumps_seen(seen, bumped, self.trigger_to_nodes)
                self.state.set_versions(versions, seen)
        self.checkpoint = {
            "v": LATEST_VERSION,
            "ts": datetime.now(timezone.utc).isoformat(),
            "id": self.checkpoint["id"] if exiting else checkpoint_id(self.step),
            "channel_values": values,
            "channel_versions": versions,
            "versions_seen": seen,
            "updated_channels": None
            if self.updated_channels is None
            else sorted(self.updated_channels),
        }
        args = None
        if do_checkpoint:
            if self.spec.untracked and TASKS in values:
                values[TASKS] = [
                    _algo.sanitize_untracked_values_in_send(v, self.graph.channels)
                    if isinstance(v, Send)
                    else v
                    for v in values[TASKS]
                ]
            self.prev_checkpoint_config = (
                self.checkpoint_config
                if self.checkpoint_config[CONF].get(CONFIG_KEY_CHECKPOINT_ID)
                else None
            )
            self.checkpoint_config = {
                **self.checkpoint_config,
                CONF: {
                    **self.checkpoint_config[CONF],
                    CONFIG_KEY_CHECKPOINT_NS: self.config[CONF].get(
                        CONFIG_KEY_CHECKPOINT_NS, ""
                    ),
                },
            }
            new_versions = get_new_channel_versions(
                self.checkpoint_previous_versions, versions
            )
            self.checkpoint_previous_versions = dict(versions)
            args = (
                self.checkpoint_config,
                {**self.checkpoint, "channel_values": dict(values)},
                self.checkpoint_metadata,
                new_versions,
            )
            self.checkpoint_config = {
                **self.checkpoint_config,
                CONF: {
                    **self.checkpoint_config[CONF],
                    CONFIG_KEY_CHECKPOINT_ID: self.checkpoint["id"],
                },
            }
        if not exiting:
            self.step += 1
        return do_checkpoint, args

    def _delta_to_snapshot(self, counters: Mapping[str, tuple[int, int]]) -> set[str]:
        """``delta_channels_to_snapshot``: the snapshot cadence of delta channels."""
        bound = _checkpoint_mod.DELTA_MAX_SUPERSTEPS_SINCE_SNAPSHOT
        versions = self.state.versions()
        out = set()
        for name in self._delta_names:
            if name not in versions or not self.state.is_available(name):
                continue
            updates, steps = counters.get(name, (0, 0))
            if updates >= self.graph.channels[name].snapshot_frequency or steps >= bound:
                out.add(name)
        return out

    def _writes_config(self) -> dict:
        return patch_configurable(
            self.checkpoint_config,
            {
                CONFIG_KEY_CHECKPOINT_NS: self.config[CONF].get(CONFIG_KEY_CHECKPOINT_NS, ""),
                CONFIG_KEY_CHECKPOINT_ID: self.checkpoint["id"],
            },
        )

    def _prepare_put_writes(self, task_id: str, writes: Sequence) -> list | None:
        """``PregelLoop.put_writes`` bookkeeping; returns the writes to save."""
        self._written_task_ids.add(task_id)
        if self._delta_names:
            # gives messages their ids in place, so the task's own writes carry them too
            ensure_message_ids(self.graph.channels, writes)
        if _native.all_written_in(writes, WRITES_IDX_MAP):
            writes = list({w[0]: w for w in writes}.values())
        if task_id == NULL_TASK_ID:
            self.checkpoint_pending_writes = [
                w
                for w in self.checkpoint_pending_writes
                if w[0] != task_id or w[1] not in WRITES_IDX_MAP
            ]
            writes = sorted(writes, key=lambda w: w[0] in WRITES_IDX_MAP)
            writes_to_save = [
                w[1:] for w in self.checkpoint_pending_writes if w[0] == task_id
            ] + list(writes)
        else:
            self.checkpoint_pending_writes = [
                w for w in self.checkpoint_pending_writes if w[0] != task_id
            ]
            writes_to_save = writes
        if self.spec.untracked:
            writes_to_save = [
                (
                    (c, _algo.sanitize_untracked_values_in_send(v, self.graph.channels))
                    if c == TASKS and isinstance(v, Send)
                    else (c, v)
                )
                for c, v in writes_to_save
                if c not in self.spec.untracked
            ]
        _native.extend_pending(self.checkpoint_pending_writes, task_id, writes)
        self._last_writes = writes
        if self.durability != "exit" and self.checkpointer is not None:
            return writes_to_save
        return None

    def put_writes(self, task_id: str, writes: Sequence, *, cached: bool = False) -> None:
        """``PregelLoop.put_writes``: record a task's writes, save them, stream them."""
        if not writes:
            return
        to_save = self._prepare_put_writes(task_id, writes)
        writes = self._last_writes
        if to_save is not None:
            self._save_writes(self._put_writes_args(self._writes_config(), to_save, task_id))
        if self.tasks:
            self.output_writes(task_id, writes, cached=cached)
        if cached or self.cache is None:
            return
        task = self.tasks.get(task_id)
        if task is None or task.cache_key is None or not _cacheable(writes):
            return
        self._save_cache(
            {(task.cache_key.ns, task.cache_key.key): (task.writes, task.cache_key.ttl)}
        )

    def _save_writes(self, args: tuple) -> None:
        raise NotImplementedError

    def _save_cache(self, entry: dict) -> None:
        raise NotImplementedError

    def _pending_writes_args(self) -> list[tuple]:
        """The ``put_writes`` calls that save this run's pending writes at exit."""
        if self.checkpointer is None or not self.checkpoint_pending_writes:
            return []
        config = self._writes_config()
        by_task: dict[str, list] = {}
        for task_id, channel, value in self.checkpoint_pending_writes:
            if task_id in self._written_task_ids:
                by_task.setdefault(task_id, []).append((channel, value))
        return [self._put_writes_args(config, writes, tid) for tid, writes in by_task.items()]

    def _put_writes_args(self, config: dict, writes: Sequence, task_id: str) -> tuple:
        if self._put_writes_path:
            task = self.tasks.get(task_id)
            return (config, writes, task_id, _algo.task_path_str(task.path) if task else "")
        return (config, writes, task_id)

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
                            "timestamp": datetime.now(timezone.utc).isoformat(),
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
            self.stream((self.checkpoint_ns, "values", self._read(keys)))

    def _read(self, keys: str | Sequence[str]) -> Any:
        """``read_channels(channels, keys)``: one channel's value (None when it is
        empty), or the non-empty ones of several by name."""
        if isinstance(keys, str):
            return self.state.get(keys) if self.state.is_available(keys) else None
        return self.state.read(keys)

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
                current = self._read(self.output_keys)
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

    # -- tasks --------------------------------------------------------------

    def _prepare_tasks(self) -> None:
        plans = self.state.prepare(
            self.checkpoint["id"], self.parent_ns, self.step, int(self.stop), self.updated_channels,
            self.sha1_ids,
        )
        self.tasks = _native.build_tasks(self, plans)

    def _lean_node(self, name: str, node: RunnableSeq) -> Any:
        """The lean form of a node (``LeanSeq``, rust/py/node_call.rs): its steps
        run without a callback run, for runs with no handler. Made once per graph."""
        lean = self._lean_nodes[name] = _native.LeanSeq(node, _lean_ainvoke)
        return lean

    def _task_cache_key(self, proc: Any, name: str, val: Any, policy: Any) -> CacheKey:
        return _cache_key(
            policy, (CACHE_NS_WRITES, (identifier(proc) or "__dynamic__"), name), policy.key_func(val)
        )

    def _task_config(
        self,
        config: dict,
        task_id: str,
        task_ns: str,
        writes: deque,
        additional: dict,
        name: str,
        callbacks: Any,
        with_previous: bool,
        extra: dict | None = None,
        execution_info: bool = True,
    ) -> dict:
        configurable = config[CONF]
        scratchpad = _algo._scratchpad(
            configurable.get(CONFIG_KEY_SCRATCHPAD),
            self.checkpoint_pending_writes,
            task_id,
            task_ns,
            configurable.get(CONFIG_KEY_RESUME_MAP),
            self.step,
            self.stop,
        )
        runtime = configurable.get(CONFIG_KEY_RUNTIME, DEFAULT_RUNTIME)
        if not execution_info:
            runtime = _native.override_runtime(runtime, store=self.store, previous=self._previous())
        else:
            info = _native.execution_info(
                checkpoint_id=self.checkpoint["id"],
                checkpoint_ns=task_ns,
                task_id=task_id,
                thread_id=configurable.get(CONFIG_KEY_THREAD_ID),
                run_id=str(rid) if (rid := config.get("run_id")) else None,
            )
            if with_previous:
                runtime = _native.override_runtime(
                    runtime, previous=self._previous(), store=self.store, execution_info=info
                )
            else:
                runtime = _native.override_runtime(runtime, store=self.store, execution_info=info)
        parent_ns = configurable.get(CONFIG_KEY_CHECKPOINT_NS, "")
        return _native.task_config(
            config,
            additional.get("metadata"),
            additional.get("tags"),
            run_name=name,
            callbacks=callbacks
            or (
                _native.callback_child(self.manager, f"graph:step:{self.step}")
                if self.manager
                else None
            ),
            configurable={
                CONFIG_KEY_TASK_ID: task_id,
                CONFIG_KEY_SEND: writes.extend,
                # LangGraph's shape: partial(local_read, scratchpad, channels, managed, task)
                CONFIG_KEY_READ: partial(
                    self._local_read, scratchpad, self.channels, self.spec.managed, writes
                ),
                CONFIG_KEY_CHECKPOINTER: (
                    self.checkpointer or configurable.get(CONFIG_KEY_CHECKPOINTER)
                ),
                CONFIG_KEY_CHECKPOINT_MAP: {
                    **configurable.get(CONFIG_KEY_CHECKPOINT_MAP, {}),
                    parent_ns: self.checkpoint["id"],
                },
                CONFIG_KEY_CHECKPOINT_ID: None,
                CONFIG_KEY_CHECKPOINT_NS: task_ns,
                CONFIG_KEY_SCRATCHPAD: scratchpad,
                CONFIG_KEY_RUNTIME: runtime,
                **(extra or {}),
            },
        )

    def _previous(self) -> Any:
        if PREVIOUS in self.channel_names and self.state.is_available(PREVIOUS):
            return self.state.get(PREVIOUS)
        return None

    def _routes_to_handler(self, task: PregelExecutableTask, exc: BaseException | None) -> bool:
        return (
            exc is not None
            and not isinstance(exc, GraphBubbleUp)
            and task.name not in self._handler_nodes
            and task.name in self._handler_map
        )

    def _build_handler_task(
        self, failed: PregelExecutableTask, error: BaseException
    ) -> PregelExecutableTask | None:
        """``prepare_node_error_handler_task``: the handler run for a failed node."""
        name = self.nodes[failed.name].error_handler_node
        if not name or name not in self.nodes:
            return None
        proc = self.nodes[name]
        if proc.node is None:
            return None
        config = failed.config
        parent_ns = config[CONF].get(CONFIG_KEY_CHECKPOINT_NS, "")
        checkpoint_ns = f"{parent_ns}{NS_SEP}{name}" if parent_ns else name
        task_id = _native.task_id(
            self.checkpoint["id"], checkpoint_ns, str(self.step), name, PUSH,
            "node_error_handler", failed.id, sha1_ids=self.sha1_ids,
        )
        task_ns = f"{checkpoint_ns}{NS_END}{task_id}"
        path = (*failed.path[:3], "node_error_handler", False)
        metadata = _task_metadata(self.step, name, PUSH_TRIGGER, path, task_ns, proc.metadata)
        cache_policy = proc.cache_policy or self.cache_policy
        cache_key = (
            _cache_key(
                cache_policy,
                (CACHE_NS_WRITES, (identifier(proc) or "__dynamic__"), name),
                cache_policy.key_func(failed.input),
            )
            if cache_policy
            else None
        )
        writes: deque = deque()
        return PregelExecutableTask(
            name,
            failed.input,
            proc.node,
            writes,
            self._task_config(
                config, task_id, task_ns, writes,
                {"metadata": metadata, "tags": proc.tags}, name, None, True,
                extra={CONFIG_KEY_NODE_ERROR: NodeError(node=failed.name, error=error)},
                execution_info=False,
            ),
            PUSH_TRIGGER,
            proc.retry_policy or self.retry_policy,
            cache_key,
            task_id,
            path,
            writers=proc.flat_writers,
            subgraphs=proc.subgraphs,
        )

    def _add_handler_task(
        self, failed: PregelExecutableTask, error: BaseException
    ) -> PregelExecutableTask | None:
        handler = self._build_handler_task(failed, error)
        if handler is None:
            return None
        self.tasks[handler.id] = handler
        if not self.is_replaying:
            for tid, st in read_task_statuses(
                w for w in self.checkpoint_pending_writes if w[0] == handler.id
            ).items():
                handler.writes.extend(st.output)
                self._reapplied_task_ids.add(tid)
        return handler

    def _resume_error_handlers(self) -> None:
        failed: dict[str, BaseException] = {}
        for tid, chan, _ in self.checkpoint_pending_writes:
            if chan == ERROR_SOURCE_NODE:
                error = next(
                    (v for t, c, v in self.checkpoint_pending_writes if t == tid and c == ERROR),
                    None,
                )
                if error is not None:
                    failed[tid] = error
        for tid, error in failed.items():
            task = self.tasks.get(tid)
            if task is None or not self.nodes[task.name].error_handler_node:
                continue
            task.writes.append((ERROR, error))
            handler = self._build_handler_task(task, error)
            if handler is not None:
                self.tasks[handler.id] = handler

    def _build_call_task(self, parent: PregelExecutableTask, write_idx: int, call: Any) -> PregelExecutableTask:
        """``prepare_push_task_functional``: the task of a ``@task`` call."""
        proc = get_runnable_for_task(call.func)
        name = proc.name
        if name is None:
            raise ValueError("`call` functions must have a `__name__` attribute")
        config = parent.config
        parent_ns = config[CONF].get(CONFIG_KEY_CHECKPOINT_NS, "")
        checkpoint_ns = f"{parent_ns}{NS_SEP}{name}" if parent_ns else name
        task_id = _native.task_id(
            self.checkpoint["id"],
            checkpoint_ns,
            str(self.step),
            name,
            PUSH,
            _algo.task_path_str(parent.path),
            str(write_idx),
            sha1_ids=self.sha1_ids,
        )
        task_ns = f"{checkpoint_ns}{NS_END}{task_id}"
        path = (PUSH, parent.path, write_idx, True)
        metadata = _task_metadata(self.step, name, PUSH_TRIGGER, path, task_ns, None)
        writes: deque = deque()
        cache_policy = call.cache_policy or self.cache_policy
        cache_key = (
            _cache_key(
                cache_policy,
                (CACHE_NS_WRITES, (identifier(call.func) or "__dynamic__")),
                cache_policy.key_func(*call.input[0], **call.input[1]),
            )
            if cache_policy
            else None
        )
        return PregelExecutableTask(
            name,
            call.input,
            proc,
            writes,
            self._task_config(
                config, task_id, task_ns, writes, {"metadata": metadata}, name,
                call.callbacks, False,
            ),
            PUSH_TRIGGER,
            call.retry_policy or self.retry_policy,
            cache_key,
            task_id,
            path,
            timeout=call.timeout,
        )

    def accept_push(self, parent: PregelExecutableTask, write_idx: int, call: Any) -> PregelExecutableTask:
        pushed = self._build_call_task(parent, write_idx, call)
        self._emit("tasks", map_debug_tasks, [pushed])
        self.tasks[pushed.id] = pushed
        if not self.is_replaying:
            statuses = read_task_statuses(
                w for w in self.checkpoint_pending_writes if w[0] == pushed.id
            )
            for tid, st in statuses.items():
                pushed.writes.extend(st.output)
                self._reapplied_task_ids.add(tid)
        return pushed

    def _local_read(
        self,
        scratchpad: Any,
        channels: Any,
        managed: Any,
        writes: deque,
        select: str | list[str],
        fresh: bool = False,
    ) -> Any:
        return self.state.read(
            select, list(writes) if fresh else None, self.step, int(self.stop)
        )

    def _should_interrupt(self, nodes: Any) -> list[PregelExecutableTask]:
        if not nodes or not self.state.should_interrupt():
            return []
        return [
            t
            for t in self.tasks.values()
            if (
                (not t.config or TAG_HIDDEN not in t.config.get("tags", EMPTY_SEQ))
                if nodes == "*"
                else t.name in nodes
            )
        ]

    def _tick_prelude(self) -> bool:
        """``tick()`` up to running tasks; True if tasks should run."""
        if self.step > self.stop:
            self.status = "out_of_steps"
            self._prepare_tasks()
            self._emit_checkpoint()
            return False
        self._prepare_tasks()
        self._emit_checkpoint()
        if not self.tasks:
            self.status = "done"
            return False
        if not self.is_replaying and self.checkpoint_pending_writes:
            statuses = read_task_statuses(
                w for w in self.checkpoint_pending_writes if w[0] in self.tasks
            )
            for tid, st in statuses.items():
                self.tasks[tid].writes.extend(st.output)
                self._reapplied_task_ids.add(tid)
            if self._handler_map:
                self._resume_error_handlers()
        if self.interrupt_before and self._should_interrupt(self.interrupt_before):
            self.status = "interrupt_before"
            raise GraphInterrupt()
        if self.control is not None and self.control.drain_requested:
            self.status = "draining"
            return False
        self._emit("tasks", map_debug_tasks, self.tasks.values())
        for task in self.tasks.values():
            if task.writes:
                self.output_writes(task.id, task.writes, cached=True)
        return True

    def _apply_step(self) -> None:
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
            stub = empty_checkpoint()
            stub["id"] = self.checkpoint_id_saved
            stub["ts"] = datetime.now(timezone.utc).isoformat()
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
        writes = self._commit_writes(task, exc)
        if writes is not None:
            self.put_writes(task.id, writes)

    def _commit_writes(self, task: PregelExecutableTask, exc: BaseException | None) -> list | None:
        """``PregelRunner.commit``: the writes to put for a finished task, or None."""
        if isinstance(exc, asyncio.CancelledError):
            task.writes.append((ERROR, exc))
            return task.writes
        if exc is not None:
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
        node_finished = self.config[CONF].get(CONFIG_KEY_NODE_FINISHED)
        if node_finished and (
            task.config is None or TAG_HIDDEN not in task.config.get("tags", [])
        ):
            node_finished(task.name)
        if _native.all_written_in(task.writes, CONTROL_WRITES):
            task.writes.append((NO_WRITES, None))
        return task.writes

    def _exit_values(self, exc_value: BaseException | None) -> bool:
        """``_suppress_interrupt`` after the exit save; True to suppress."""
        if isinstance(exc_value, GraphInterrupt) and not self.is_nested:
            interrupts = tuple(exc_value.args[0]) if exc_value.args else ()
            from langgraph.callbacks import GraphInterruptEvent

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
            self.output = self._read(self.output_keys)
            return True
        if exc_value is None:
            self.output = self._read(self.output_keys)
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
            loop = "AsyncPregelLoop" if isinstance(self, _AsyncLoop) else "SyncPregelLoop"
            raise AttributeError(f"'{loop}' object has no attribute '_put_checkpoint_fut'")

    def _exit_error(self, exc_value: BaseException | None, suppress: bool) -> BaseException | None:
        """The failed save to raise at exit: none when the run raises its own error."""
        return self._saver_exc if exc_value is None or suppress else None

    def pop_lifecycle_event(self) -> Any:
        return self.lifecycle.popleft() if self.lifecycle else None

    def _cache_lookup_keys(self) -> dict:
        return {
            (t.cache_key.ns, t.cache_key.key): t
            for t in self.tasks.values()
            if t.cache_key and not t.writes
        }



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


class _SyncLoop(_Loop):
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
        self._load(saved)
        targets = self._replay_targets()
        self._init_state(
            cp.get_delta_channel_history(config=self.checkpoint_config, channels=targets)
            if targets
            else None
        )
        self._executor_cm = get_executor_for_config(self.config)
        self._executor = None
        is_resuming, input_writes = self._first_writes()
        for args in self._deferred_puts:
            self._save(self.checkpointer.put, args, put=True)
        self._deferred_puts.clear()
        if input_writes is not None:
            self._apply_input(input_writes)
            self._put_checkpoint({"source": "input"})
        self._after_first(is_resuming)
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, tb: Any) -> bool:
        try:
            if self._needs_exit_save(exc_value):
                for op, args in self._exit_delta_ops():
                    self._save(getattr(self.checkpointer, op), args, put=op == "put")
                self._put_checkpoint(self.checkpoint_metadata)
                self._put_pending_writes()
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
                late, self._late = self._late, []
                for f, t in sorted(late, key=lambda ft: _finish_order(ft[0])):
                    self._commit(t, f.result()[1])
            if self._executor is not None:
                self._executor_cm.__exit__(None, None, None)

    def _save(self, fn: Any, args: tuple, *, put: bool = False) -> None:
        """A saver call that fails as LangGraph's background save does."""
        self._saved = True
        if put and self._put_checkpoint_exc is not None:
            return
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001  (raised at exit)
            self._saver_failed(exc, self._fails_checkpoints(put, args))

    def _put_checkpoint(self, metadata: dict) -> None:
        do, args = self._make_checkpoint(metadata)
        if do and args is not None:
            self._save(self.checkpointer.put, args, put=True)

    def _save_writes(self, args: tuple) -> None:
        self._save(self.checkpointer.put_writes, args)

    def _save_cache(self, entry: dict) -> None:
        self.cache.set(entry)

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

    def tick(self) -> bool:
        return self._tick_prelude()

    def after_tick(self) -> None:
        self._apply_step()
        self._put_checkpoint({"source": "loop"})
        self._after_checkpoint()

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
                self._executor = self._executor_cm.__enter__()
            ctx = contextvars.copy_context()
            fut = self._executor.submit(_next_tick, ctx.run, self._run_call, task, retry_policy)
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
            self._late.append((done, task))

    def _wait_calls(self) -> None:
        while True:
            with self._call_lock:
                futs = [f for f in self._call_futs.values() if not f.done()]
            if not futs:
                return
            concurrent.futures.wait(futs)

    def run_tasks(
        self, timeout: float | None, notify: _Notify | None = None
    ) -> Iterator[None]:
        tasks = [t for t in self.tasks.values() if not t.writes]
        # As LangGraph's runner: hand control back (stream what the tick emitted)
        # before any task runs, so a consumer that stops here runs no node; the
        # single-task path then yields only before raising, so a step that fails
        # in apply_writes streams none of its tasks' results.
        yield
        if not tasks:
            return
        if len(tasks) == 1 and timeout is None and notify is None:
            t = tasks[0]
            exc = self._run_one(t, timeout)
            self._commit(t, exc)
            self._wait_calls()
            if self._routes_to_handler(t, exc):
                handler = self._add_handler_task(t, exc)
                if handler is None:
                    return
                if handler.writes:
                    yield
                    return
                tasks = [handler]
            elif exc is not None:
                yield
                _trim_traceback(exc)
                raise exc
            else:
                return
        if self._executor is None:
            self._executor = self._executor_cm.__enter__()
        if notify is not None and getattr(self._executor, "_max_workers", 2) > 1:
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

        def on_done(fut: concurrent.futures.Future) -> None:
            with tracked_lock:
                tracked[0] -= 1
                if not fut.cancelled() and (exc := fut.result()[1]) is not None:
                    if _stops_others([exc]) and not self._routes_to_handler(futures[fut], exc):
                        tracked[1] = True
                if tracked[0] == 0 or tracked[1]:
                    settled.set()

        def track(fut: concurrent.futures.Future, t: PregelExecutableTask) -> None:
            futures[fut] = t
            with tracked_lock:
                settled.clear()
                tracked[0] += 1
            fut.add_done_callback(on_done)

        for t in tasks:
            ctx = contextvars.copy_context()
            track(self._executor.submit(ctx.run, run, t), t)
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
                        hf = self._executor.submit(ctx.run, run, handler)
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
                        self._late.append((f, futures[f]))
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



class _AsyncLoop(_Loop):
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
        self._load(saved)
        targets = self._replay_targets()
        self._init_state(
            await cp.aget_delta_channel_history(config=self.checkpoint_config, channels=targets)
            if targets
            else None
        )
        is_resuming, input_writes = self._first_writes()
        await self.flush_writes()
        for args in self._deferred_puts:
            await self._asave(self.checkpointer.aput, args, put=True)
        self._deferred_puts.clear()
        if input_writes is not None:
            self._apply_input(input_writes)
            await self.flush_writes()
            await self._aput_checkpoint({"source": "input"})
        self._after_first(is_resuming)
        return self

    async def __aexit__(self, exc_type: Any, exc_value: Any, tb: Any) -> bool:
        try:
            if self._needs_exit_save(exc_value):
                await self.flush_writes()
                for op, args in self._exit_delta_ops():
                    await self._asave(getattr(self.checkpointer, "a" + op), args, put=op == "put")
                await self._aput_checkpoint(self.checkpoint_metadata)
                await self._aput_pending_writes()
            suppress = self._exit_values(exc_value)
            if (error := self._exit_error(exc_value, suppress)) is not None:
                raise error
            return suppress
        finally:
            if self._late:
                await self._commit_late()

    async def _commit_late(self) -> None:
        """Commit the tasks cancelled when the run stopped (see ``_late``)."""
        late, self._late = self._late, []
        await asyncio.wait([f for f, _ in late])
        for f, t in late:
            self._commit(t, asyncio.CancelledError() if f.cancelled() else f.result()[1])
        await self.flush_writes()

    async def _asave(self, fn: Any, args: tuple, *, put: bool = False) -> None:
        """A saver call that fails as LangGraph's background save does."""
        if put and self._put_checkpoint_exc is not None:
            return
        try:
            await fn(*args)
        except Exception as exc:  # noqa: BLE001  (raised at exit)
            self._saver_failed(exc, self._fails_checkpoints(put, args))
            if not put and any(c == ERROR_SOURCE_NODE for c, _ in args[1]):
                self._handler_write_exc = exc

    async def _handler_writes_saved(self) -> None:
        """LangGraph's async loop awaits a failed task's error writes before it
        schedules the task's error handler: a failed save raises there."""
        await self.flush_writes()
        if (exc := self._handler_write_exc) is not None:
            self._handler_write_exc = None
            raise exc

    async def _aput_checkpoint(self, metadata: dict) -> None:
        do, args = self._make_checkpoint(metadata)
        if do and args is not None:
            await self._asave(self.checkpointer.aput, args, put=True)

    def _save_writes(self, args: tuple) -> None:
        # queued: awaited by ``flush_writes`` at the next await point of the loop
        self._pending_put.append((args[2], args))

    def _save_cache(self, entry: dict) -> None:
        self._pending_cache.append(entry)

    async def flush_writes(self) -> None:
        pending, self._pending_put = self._pending_put, []
        for _tid, args in pending:
            await self._asave(self.checkpointer.aput_writes, args)
        caches, self._pending_cache = self._pending_cache, []
        for c in caches:
            await self.cache.aset(c)

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

    async def tick(self) -> bool:
        return self._tick_prelude()

    async def after_tick(self) -> None:
        await self.flush_writes()
        self._apply_step()
        await self._aput_checkpoint({"source": "loop"})
        self._after_checkpoint()

    async def _arun_one(self, task: PregelExecutableTask) -> BaseException | None:
        try:
            await arun_with_retry(
                task,
                self.retry_policy,
                stream=self.use_astream,
                configurable={CONFIG_KEY_CALL: partial(self._acall_impl, task)},
            )
        except Exception as exc:
            return exc
        except asyncio.CancelledError as exc:
            return exc
        return None

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
                self._late.append((asyncio.current_task(), task))
            else:
                self._commit(task, exc)
            raise
        self._commit(task, None)
        return result

    async def _await_calls(self) -> None:
        while futs := [f for f in self._call_futs.values() if not f.done()]:
            await asyncio.wait(futs)

    async def run_tasks(
        self, timeout: float | None, notify: _Notify | None = None
    ) -> AsyncIterator[None]:
        tasks = [t for t in self.tasks.values() if not t.writes]
        yield  # as the sync run_tasks
        if not tasks:
            return
        if len(tasks) == 1 and timeout is None and notify is None:
            t = tasks[0]
            exc = await self._arun_one(t)
            self._commit(t, exc)
            await self._await_calls()
            await self.flush_writes()
            if self._routes_to_handler(t, exc):
                await self._handler_writes_saved()
                handler = self._add_handler_task(t, exc)
                if handler is None:
                    return
                if handler.writes:
                    yield
                    return
                tasks = [handler]
            elif exc is not None:
                yield
                _trim_traceback(exc)
                raise exc
            else:
                return
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
                self._late.append((f, futs[f]))
            if stopped:  # LangGraph's runner cancels every future it tracks, @task calls too
                self._calls_stopped = True
                for f in list(self._call_futs.values()):
                    f.cancel()
        await self._await_calls()
        await self.flush_writes()
        if errors:
            raise next((e for e in errors if not isinstance(e, GraphBubbleUp)), errors[0])
        if interrupts:
            raise GraphInterrupt(tuple(i for exc in interrupts for i in exc.args[0]))



# ---------------------------------------------------------------------------
# Pregel.stream / Pregel.astream replacements



"""The superstep loop: one run of a graph on the Rust state machine.

``_Loop`` holds what LangGraph's ``PregelLoop`` and ``PregelRunner`` hold for a
run — the loaded checkpoint, pending writes, the tasks of the current superstep —
but the channels, versions, planning and ``apply_writes`` are the native
``State``'s, and a step's tasks are built and its nodes called natively. The
Python that is left drives the step and calls the user's checkpointer/cache
exactly as LangGraph does. ``_Loop`` is composed of one mixin per concern:
loading (``_loop_load``), tasks (``_loop_tasks``), the superstep
(``_loop_step``), checkpoints and pending writes (``_loop_checkpoint``) and
stream events (``_loop_stream``). ``_SyncLoop`` (``_sync_loop``) and
``_AsyncLoop`` (``_async_loop``) do the I/O for ``stream``/``astream``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from langgraph._internal._config import (
    patch_configurable,
)
from langgraph._internal._constants import (
    CONF,
    CONFIG_KEY_CHECKPOINT_ID,
    CONFIG_KEY_CHECKPOINT_MAP,
    CONFIG_KEY_CHECKPOINT_NS,
    CONFIG_KEY_REPLAY_STATE,
    CONFIG_KEY_RUNTIME,
    CONFIG_KEY_SCRATCHPAD,
    CONFIG_KEY_STREAM,
    CONFIG_KEY_TASK_ID,
    CONFIG_KEY_THREAD_ID,
    NS_SEP,
)
from langgraph._internal._scratchpad import PregelScratchpad
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel._checkpoint import (
    put_writes_accepts_task_path,
)
from langgraph.pregel.protocol import StreamProtocol
from langgraph.runtime import Runtime
from langgraph.types import PregelExecutableTask


from langgraph_rs._spec import GraphSpec
from langgraph_rs._loop_checkpoint import _Checkpoints
from langgraph_rs._loop_load import _Loading
from langgraph_rs._loop_step import _Steps
from langgraph_rs._loop_stream import _Streaming
from langgraph_rs._loop_tasks import _Tasks


# savers whose calls do no I/O: made in place, never in the background
SAVERS_IN_PLACE = (InMemorySaver,)

# whether a saver's put_writes function takes ``task_path`` (LangGraph reads its
# signature for every run)
_TASK_PATH: dict[Any, bool] = {}


# an empty set a run shares where it has nothing to keep
_NONE: frozenset = frozenset()
_NO_CALLS: Mapping[str, Any] = MappingProxyType({})


class _Loop(_Loading, _Checkpoints, _Streaming, _Tasks, _Steps):
    """One run of a graph: checkpoint I/O, task building and streaming around
    the Rust state machine. Sync and async I/O live in the subclasses, which
    provide ``put_writes``."""

    # the run's state in slots: made at once (no dict grown to ~80 keys per
    # run); the mixins hold no state of their own
    __slots__ = (
        "_addressed", "_addressed_checkpoint_superseded", "_aioloop", "_background_saves",
        "_call_futs", "_call_lock", "_deferred_puts", "_delta_names", "_executor",
        "_exit_command_writes", "_exit_delta_writes", "_exit_first_step", "_forced",
        "_handler_map", "_handler_nodes", "_handler_write_exc", "_has_persisted_parent",
        "_initial_checkpoint_config", "_lane_limit", "_last_writes", "_late", "_lean",
        "_lean_nodes", "_loaded_latest", "_put_checkpoint_exc", "_put_writes_path",
        "_reapplied_task_ids", "_replay_checkpoint_id", "_resume_loaded_writes", "_saver_exc",
        "_step_consts", "_stored_delta_writes", "_updates_for_interrupts", "_values_at_end",
        "_values_pending", "_written_task_ids", "cache", "cache_policy", "channel_names",
        "channel_order", "channels", "checkpoint", "checkpoint_config", "checkpoint_id_saved",
        "checkpoint_metadata", "checkpoint_ns", "checkpoint_pending_writes",
        "checkpoint_previous_versions", "checkpointer", "config", "control", "durability",
        "graph", "input", "input_keys", "interrupt_after", "interrupt_before", "is_nested",
        "is_replaying", "lifecycle", "manager", "next_version", "nodes", "output",
        "output_keys", "parent_ns", "pending_cache", "pending_put", "prev_checkpoint_config",
        "retry_policy", "sha1_ids", "spec", "state", "status", "step", "stop", "store", "stream",
        "stream_keys", "streams_tasks", "tasks", "trigger_to_nodes", "updated_channels",
    )

    _is_async = False
    # a sync run's saves made in the background, in order (a task lane of one;
    # ``_background_saves``); an async run's: the last of its chained saves
    _saves: Any = None

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
        self.stream_keys = graph.stream_channels or spec.channels_asis  # (stream_channels_asis)
        self.interrupt_before = interrupt_before
        self.interrupt_after = interrupt_after
        self.manager = manager
        self.durability = durability
        self.retry_policy = graph.retry_policy
        self.cache_policy = graph.cache_policy
        self.trigger_to_nodes = spec.trigger_to_nodes
        self.channel_order = spec.channel_order
        self.channel_names = spec.channel_names
        self.step = 0
        self.stop = 0
        # set by ``invoke`` when its stream's "updates" are read for interrupts
        # only: a task's ordinary updates chunk is then not made
        self._updates_for_interrupts = False
        # set by ``invoke`` when it reads the "values" chunks only for the last
        # one: a step's chunk is then not made, only marked pending
        # (``_values_pending``), and invoke makes it once, at the end
        self._values_at_end = False
        self._values_pending = False
        # what the native task builder reads once per run (rust/py/task_build.rs)
        self._step_consts = None
        self.status = "input"
        self.tasks: dict[str, PregelExecutableTask] = {}
        self.output: Any = None
        self.updated_channels: list[str] | None = None
        # graph callback events (resume/interrupt) in order: few, so a list
        # (a deque takes 760 bytes per run)
        self.lifecycle: list | tuple = ()  # (a list once an event is queued)
        self.is_nested = CONFIG_KEY_TASK_ID in config.get(CONF, {})
        if self.stream is not None and CONFIG_KEY_STREAM in config[CONF]:
            outer = config[CONF][CONFIG_KEY_STREAM]
            inner = self.stream

            def duplex(chunk: Any) -> None:
                inner(chunk)
                outer(chunk)

            self.stream = StreamProtocol(duplex, inner.modes | outer.modes)
        # whether "tasks" events are streamed (as such or as "debug" ones)
        self.streams_tasks = self.stream is not None and bool({"tasks", "debug"} & self.stream.modes)
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
        # LangGraph's loop hands its saver calls to its executor and goes on
        # (durability "async", the default), so a saver doing I/O (PostgreSQL,
        # SQLite, Redis) works while the next step runs; so does this one, one
        # save at a time in the order made. InMemorySaver does no I/O: nothing
        # to overlap, so its calls are made in place.
        self._background_saves = (
            bool(checkpointer) and durability == "async" and type(checkpointer) not in SAVERS_IN_PLACE
        )
        if checkpointer:
            self.next_version = checkpointer.get_next_version
            put_writes = checkpointer.aput_writes if self._is_async else checkpointer.put_writes
            fn = getattr(put_writes, "__func__", put_writes)
            if (path := _TASK_PATH.get(fn)) is None:
                if len(_TASK_PATH) > 256:  # (savers made per run: don't keep them all)
                    _TASK_PATH.clear()
                path = _TASK_PATH[fn] = put_writes_accepts_task_path(put_writes)
            self._put_writes_path = path
        else:
            self.next_version = None
            self._put_writes_path = False
        # async runs: the put_writes / cache.set calls queued for ``flush_writes``
        # Containers most runs never fill start as shared empty ones (a tuple,
        # ``_NONE``, ``_NO_CALLS``) and are made at their first item, in the
        # thread that owns them: a run makes and frees fewer objects, and one in
        # flight holds fewer for the garbage collector to visit.
        self.pending_put: list | tuple = ()
        self.pending_cache: list | tuple = ()
        self._call_futs: dict[str, Any] | Mapping[str, Any] = _NO_CALLS  # (under _call_lock)
        self._call_lock = threading.RLock()
        self._written_task_ids: set[str] = set()
        self._addressed_checkpoint_superseded = False
        self._deferred_puts: list | tuple = ()
        self._handler_map = graph.node_error_handler_map
        # no callback handler anywhere: nodes can skip RunnableSeq's callback run
        self._lean = manager is not None and not manager.handlers and not manager.inheritable_handlers
        self._lean_nodes: dict[str, Any] = spec.lean_nodes
        self._delta_names = spec.delta
        # (changed only in a run with delta channels: else shared and empty)
        self._forced: set[str] | frozenset = set() if spec.delta else _NONE
        self._resume_loaded_writes: Any = ()
        self._reapplied_task_ids: set[str] | frozenset = _NONE
        self._stored_delta_writes: set | frozenset = _NONE  # (delta channels: _first_writes)
        self._exit_command_writes: list | tuple = ()
        self._exit_delta_writes: list | None = None
        self._exit_first_step: int | None = None
        self._has_persisted_parent = False
        self._loaded_latest = False
        # (future, task) of a step's tasks still running (sync) or being cancelled
        # (async) when a sibling's error ended the run: committed at exit, after
        # the exit save, as LangGraph's runner commits them when its executor closes
        # (a list made at the first, as most runs have none)
        self._late: Sequence[tuple[Any, PregelExecutableTask]] = ()
        self._handler_nodes = set(self._handler_map.values()) if self._handler_map else _NONE
        # LangGraph saves in the background: a failed save doesn't stop the run,
        # the first failure is raised at exit (unless the run raises), and a failed
        # checkpoint fails every later one (each save waits on the previous)
        self._put_checkpoint_exc: BaseException | None = None
        self._saver_exc: BaseException | None = None
        self._handler_write_exc: BaseException | None = None  # async: see _handler_writes_saved

    def _add_late(self, fut: Any, task: PregelExecutableTask) -> None:
        """Keep ``task`` to commit at exit (see ``_late``). (Under ``_call_lock``:
        a sync run's driver and its worker threads may add at once.)"""
        with self._call_lock:
            if not self._late:
                self._late = []
            self._late.append((fut, task))  # type: ignore[attr-defined]

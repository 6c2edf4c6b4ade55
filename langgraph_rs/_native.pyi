"""Type stub of ``langgraph_rs._native``, the PyO3 binding of the Rust Pregel core.

The core (``rust/core``) holds the Pregel state machine: channels with their
values and versions, ``versions_seen``, trigger checks, PUSH/PULL task planning
with LangGraph's task ids, ``apply_writes`` and checkpoint assembly. Python only
hands it the node callables' writes and the user's reducer functions.

Semantics mirror ``langgraph.pregel._algo`` and ``langgraph.channels`` of
LangGraph 1.2.22 exactly; the docstrings below name the function mirrored.
"""

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

ChannelKind = Literal[
    "last_value",  # LastValue; arg: None
    "last_value_after_finish",  # LastValueAfterFinish; arg: None
    "any_value",  # AnyValue; arg: None
    "ephemeral",  # EphemeralValue; arg: guard (bool)
    "untracked",  # UntrackedValue; arg: guard (bool)
    "topic",  # Topic; arg: accumulate (bool)
    "binop",  # BinaryOperatorAggregate; arg: (operator, initial) where initial() is
    # the value a fresh channel holds (``typ()``) or LangGraph's MISSING
    "delta",  # DeltaChannel (beta); arg: the DeltaChannel spec (reducer, typ)
    "named_barrier",  # NamedBarrierValue; arg: list[str] of names
    "named_barrier_after_finish",  # NamedBarrierValueAfterFinish; arg: list[str]
]
ManagedKind = Literal["is_last_step", "remaining_steps"]
EngineOp = Literal["apply_writes", "prepare", "checkpoint"]

class EngineError(RuntimeError):
    """An internal error of the engine: a Rust panic, caught at the binding.

    Every function and method below turns a panic into this exception (an
    ordinary ``Exception``, unlike PyO3's ``PanicException``), with the message
    ``"langgraph_rs engine panicked in <operation>: <panic message>"``. The run
    that hit it fails; a ``State`` whose operation panicked is unusable (any
    further use raises EngineError); the process and other runs are unaffected.
    Exported as ``langgraph_rs.EngineError``.
    """

class Graph:
    """Immutable topology of one compiled Pregel graph (frozen, shareable).

    channels: ``(name, kind, arg)`` for every channel of ``Pregel.channels``
        that is a ``BaseChannel`` (managed values are given separately).
    nodes: ``(name, triggers, read)`` for every ``PregelNode`` in
        ``Pregel.nodes`` order; ``read`` is ``PregelNode.channels`` (a list of
        channel/managed names -> the task input is a dict; a str -> the input
        is that channel's value).
    managed: managed-value name -> kind.
    error_keys: channel name -> the key its errors name (``BaseChannel.key``),
        for channels where that is not the name.

    Raises ValueError on an unknown kind or a trigger/read naming no channel.
    """

    def __init__(
        self,
        channels: Sequence[tuple[str, ChannelKind, Any]],
        nodes: Sequence[tuple[str, Sequence[str], Sequence[str] | str]],
        managed: Mapping[str, ManagedKind],
        error_keys: Mapping[str, str] = ...,
    ) -> None: ...
    def trigger_to_nodes(self) -> dict[str, list[str]]:
        """Channel -> sorted node names it triggers (equals ``Pregel.trigger_to_nodes``)."""
    @property
    def channel_names(self) -> list[str]: ...
    @property
    def node_names(self) -> list[str]: ...

class State:
    """Mutable Pregel state of one run: channels, versions, versions_seen.

    checkpoint: a LangGraph ``Checkpoint`` mapping (only ``channel_values``,
        ``channel_versions`` and ``versions_seen`` are read) or None for an
        empty one. Values are restored like each channel's
        ``from_checkpoint``; versions of channels unknown to the graph are kept
        and written back by ``checkpoint()``.
    next_version: ``checkpointer.get_next_version`` (called once per
        ``apply_writes`` as ``next_version(max_version_or_None, None)``), or None
        for ``_algo.increment`` (int versions) without a checkpointer.
    """

    def __init__(
        self,
        graph: Graph,
        checkpoint: Mapping[str, Any] | None,
        next_version: Callable[[Any, None], Any] | None,
    ) -> None: ...
    def copy(self) -> State: ...
    # --- reading -------------------------------------------------------
    def is_available(self, channel: str) -> bool: ...
    def get(self, channel: str) -> Any:
        """``channels[channel].get()``; raises ``langgraph.errors.EmptyChannelError``."""
    def read_output(self, keys: str | Sequence[str]) -> Any:
        """``read_channels(channels, keys)`` for a run's output: one channel's
        value (None when it is empty), or the non-empty ones of several by name."""
    def read(
        self,
        select: str | Sequence[str],
        writes: Sequence[tuple[str, Any]] | None = None,
        step: int = 0,
        stop: int = 0,
    ) -> Any:
        """``_algo.local_read`` (``writes`` given = fresh=True) / ``read_channels``.

        A str select returns that channel's value (EmptyChannelError if empty);
        a list returns a dict of the available ones, managed names computed from
        step/stop (IsLastStep: ``step == stop - 1``; RemainingSteps:
        ``stop - step``). With ``writes``, the writes to the selected channels
        are applied on copies first; the state is not changed.
        """
    # --- versions --------------------------------------------------------
    def versions(self) -> dict[str, Any]: ...
    def versions_seen(self) -> dict[str, dict[str, Any]]: ...
    def set_versions(
        self, versions: Mapping[str, Any], versions_seen: Mapping[str, Mapping[str, Any]]
    ) -> None:
        """Replace channel_versions and versions_seen (snapshot bumps of delta channels)."""
    def mark_seen(self, key: str) -> None:
        """versions_seen[key][c] = channel_versions[c] for every versioned channel
        (the ``INTERRUPT`` bookkeeping of ``_loop``)."""
    def should_interrupt(self) -> bool:
        """True if any channel version > versions_seen["__interrupt__"] (``_algo.should_interrupt``'s
        first half; node filtering stays in Python)."""
    # --- planning ------------------------------------------------------
    def prepare(
        self,
        checkpoint_id: str,
        parent_ns: str,
        step: int,
        stop: int,
        updated: Sequence[str] | None,
        sha1_ids: bool,
    ) -> list[tuple[str, str, tuple, tuple[str, ...], Any, str, Any]]:
        """``_algo.prepare_next_tasks`` without building task objects.

        Returns, in LangGraph's order (PUSH tasks for every ``Send`` in
        ``__pregel_tasks`` first, then PULL tasks of the candidate nodes), tuples
        ``(task_id, node_name, path, triggers, input, task_checkpoint_ns, packet)``:
        PULL: path ``("__pregel_pull", name)``, triggers = sorted node triggers,
        input = the node's read (dict or value, *before* its mapper; nodes whose
        str read is empty are skipped), packet None.
        PUSH: path ``("__pregel_push", idx, False)``, triggers ``("__pregel_push",)``,
        input = ``packet.arg``, packet = the ``Send``. Non-Send packets and unknown
        nodes are skipped with LangGraph's logger warning.
        task ids are ``_xxhash_str`` (xxh3-128) byte for byte, or ``_uuid5_str``
        (SHA-1) with ``sha1_ids`` (checkpoints of format version 1).
        """
    # --- writing -------------------------------------------------------
    def apply_writes(
        self,
        tasks: Iterable[tuple[str, tuple, Sequence[str], Sequence[tuple[str, Any]]]],
        versioned: bool = True,
    ) -> list[str]:
        """``_algo.apply_writes``: tasks are ``(name, path, triggers, writes)``.

        ``versioned=False`` is ``get_next_version=None`` (how a state snapshot
        applies pending writes): channels change, no version moves and no
        channel is reported updated.

        Returns the updated channels. Raises ``langgraph.errors.InvalidUpdateError``
        with LangGraph's messages; reducer exceptions propagate unchanged.
        """
    # --- checkpoint ----------------------------------------------------
    def checkpoint(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, dict[str, Any]]]:
        """``(channel_values, channel_versions, versions_seen)`` as ``create_checkpoint`` builds them
        (fresh dicts; each channel's ``checkpoint()`` value, MISSING ones left out)."""

def updates_chunk(
    output_keys: str | Sequence[str],
    name: str,
    writes: Iterable[tuple[str, Any]],
    cached: bool = False,
) -> dict[str, Any]:
    """The "updates" stream chunk of one task (``_io.map_output_updates`` for a task
    that is not hidden and whose first write is neither an error nor an interrupt)."""

def snapshot_tasks(
    state: State,
    plans: list[tuple[str, str, tuple, tuple[str, ...], Any, str, Any]],
    pending_writes: Sequence[tuple[str, str, Any]] | None,
    task_states: Mapping[str, Any],
    output_keys: str | Sequence[str],
    live: bool,
) -> tuple[Any, tuple[str, ...], tuple[Any, ...], tuple[Any, ...]]:
    """``Pregel._prepare_state_snapshot`` after the planning: ``(values, next,
    tasks, interrupts)`` of a snapshot. The pending writes are read once as
    ``read_task_statuses`` reads them; the null task's writes and (``live``)
    the finished tasks' writes are applied to ``state`` unversioned; ``tasks``
    are the ``PregelTask``s ``debug.tasks_w_writes`` makes from ``plans``
    (``State.prepare``'s), with ``task_states`` for subgraph tasks."""

def task_id(checkpoint_id: str, *parts: str, sha1_ids: bool = False) -> str:
    """``_algo._xxhash_str(unhexlify(checkpoint_id without dashes), *parts)``
    (``_uuid5_str`` with ``sha1_ids``)."""

def run_with_retry(
    task: Any, retry_policy: Sequence[Any] | None, configurable: dict[str, Any] | None = None
) -> Any:
    """``langgraph.pregel._retry.run_with_retry``: run a sync task's ``proc`` with its
    config (the engine's ``configurable`` keys and the ``Runtime`` with its
    ``ExecutionInfo`` patched in one copy), retrying per the first matching policy;
    ``ParentCommand``, interrupts, cancellation and failures handled as LangGraph does."""

def task_config(
    config: Mapping[str, Any],
    metadata: Mapping[str, Any] | None,
    tags: Sequence[str] | None,
    *,
    run_name: str,
    callbacks: Any,
    configurable: Mapping[str, Any],
) -> dict[str, Any]:
    """A task's config: ``patch_config(merge_configs(config, {"metadata": metadata,
    "tags": tags}), run_name=..., callbacks=..., configurable=...)`` in one pass, the
    same dict key for key (metadata merged as ``_internal._config._merge_metadata``)."""

def override_runtime(runtime: Any, **changes: Any) -> Any:
    """``runtime.override(**changes)`` (``dataclasses.replace`` of LangGraph's ``Runtime``)."""

def execution_info(**fields: Any) -> Any:
    """``langgraph.runtime.ExecutionInfo(**fields)``."""

def all_written_in(writes: Iterable[Sequence[Any]], names: Any) -> bool:
    """``all(w[0] in names for w in writes)``."""

def any_written_in(writes: Iterable[Sequence[Any]], names: str | Any) -> bool:
    """``any(w[0] in names for w in writes)``; a str ``names`` is one channel."""

def any_in(channels: Any, keys: str | Any) -> bool:
    """``any(k in keys for k in channels)``; a str ``keys`` is ``keys in channels``."""

def extend_pending(pending: list[tuple[str, str, Any]], task_id: str, writes: Iterable[Sequence[Any]]) -> None:
    """``pending.extend((task_id, c, v) for c, v in writes)``."""

def writer_plan(writer: Any) -> tuple[bool, bool, tuple[tuple[Any, ...], ...]] | None:
    """What :func:`channel_write` runs for ``writer``, read once per node; None unless
    it is a plain ``ChannelWrite`` (exact class, untraced, no bound kwargs)."""

def channel_write(
    plan: tuple[bool, bool, tuple[tuple[Any, ...], ...]], input: Any, config: Mapping[str, Any], recurse: bool = True
) -> Any:
    """``ChannelWrite.invoke(input, config)`` from the writer's plan: its entries as
    ``(channel, value)`` writes handed to ``config["configurable"]["__pregel_send"]``,
    StateGraph's ``_control_branch`` and a node's ``_get_updates`` on a dict run
    natively; returns ``input`` (invoked when it is a ``Runnable``, as
    ``recurse=True`` does)."""

def callback_child(run_manager: Any, tag: str | None) -> Any:
    """``run_manager.get_child(tag)``; made natively when the run has no inheritable
    handler (the child is then plain data), else langchain-core's own."""

def plain_callback_manager(config: dict, is_async: bool) -> Any | None:
    """``get_(async_)callback_manager_for_config(config)`` with LangGraph's
    ``ls_integration`` metadata, made natively when no rule of langchain-core
    or langsmith adds a handler (see ``langgraph_rs._callback_rules``); None
    otherwise (the caller then makes the real call)."""

def chain_run_manager(manager: Any, run_id: Any) -> Any | None:
    """What ``manager.on_chain_start(None, input, run_id=run_id, ...)`` returns
    when the (async) callback manager has no handler to call, made natively;
    None otherwise (the caller then makes langchain-core's call)."""

def build_tasks(loop: Any, plans: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The step's ``PregelExecutableTask``s by id, in plan order, from the plans
    ``State.prepare`` made: each node's input (mapper, input cache), metadata,
    scratchpad, runtime and config as LangGraph's ``prepare_next_tasks`` makes
    them. ``loop`` is the run's ``_Loop``, read once per step."""

class NullResume:
    """A scratchpad's ``get_null_resume`` for a step with no pending write."""

    def __call__(self, consume: bool = False) -> Any: ...

class StepConsts:
    """What the native task builder reads off a run's loop once per run."""

class LeanWrite:
    """A node that is a ``ChannelWrite`` alone (StateGraph's ``__start__``), for
    runs with no handler: ``invoke`` makes the writes natively; ``ainvoke``
    makes them and returns a done future (the writer's coroutine neither
    awaits nor yields)."""

    @staticmethod
    def of(writer: Any) -> LeanWrite | None: ...
    @property
    def writer(self) -> Any: ...
    def invoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any: ...
    def ainvoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any: ...

class LeanSeq:
    """A node's ``RunnableSeq`` run without a callback run (for runs with no
    handler): the node function is called directly in its config context, the
    writers natively; ``ainvoke`` returns a native awaitable that runs the first
    step in its config context without an asyncio task of its own."""

    def __init__(self, seq: Any) -> None: ...
    @property
    def seq(self) -> Any: ...
    @property
    def steps(self) -> tuple[Any, ...]: ...
    @property
    def name(self) -> str: ...
    @property
    def own_config(self) -> tuple[bool, ...]: ...
    @property
    def native(self) -> tuple[Any, ...]: ...
    def invoke(self, input: Any, config: Any, **kwargs: Any) -> Any: ...
    def ainvoke(self, input: Any, config: Any, **kwargs: Any) -> Awaitable[Any]: ...

class LeanAwait(Awaitable[Any]):
    """What ``LeanSeq.ainvoke`` returns: an awaitable driving the node's steps."""

class ARetry(Awaitable[Any]):
    """What :func:`arun_with_retry` returns."""

def arun_with_retry(task: Any, retry_policy: Any, configurable: dict[str, Any] | None = None) -> ARetry:
    """LangGraph's ``arun_with_retry`` for a task without a timeout policy, not
    streamed: an awaitable forwarding the attempt's awaits, retrying per policy."""

def checkpoint_id(clock_seq: int) -> str:
    """``str(uuid6(clock_seq=clock_seq))`` on LangGraph's timestamp sequence."""

# --- a run's start (rust/py/run_start.rs) ---------------------------------

def map_input(input_channels: str | Sequence[str], chunk: Any) -> list[tuple[str, Any]]:
    """``list(map_input(input_channels, chunk))``; LangGraph's generator for a
    key that is not an input channel (it logs it) or a chunk that is no dict."""

def empty_checkpoint(version: int, id: str) -> dict[str, Any]:
    """LangGraph's loop's ``empty_checkpoint()`` of format ``version`` with this id."""

def run_runtime(
    config: dict[str, Any],
    context_schema: Any,
    context: Any,
    store: Any,
    stream_writer: Callable[[Any], None],
    control: Any,
) -> Any:
    """The run's ``Runtime`` as ``Pregel.stream`` makes it: the parent's runtime
    (the config's, else ``DEFAULT_RUNTIME``) merged with the run's own."""

def stream_protocol(put: Callable[[Any], None], modes: set[str]) -> Any:
    """``StreamProtocol(put, modes)``: the loop's stream."""

def ensure_config(*configs: dict[str, Any] | None) -> dict[str, Any]:
    """LangGraph's ``ensure_config(*configs)``; LangGraph's own when there is an
    ambient config or callbacks or metadata to merge."""

def run_defaults(
    graph: Any,
    channels_asis: list[str],
    config: dict[str, Any],
    stream_mode: Any,
    print_mode: Any,
    output_keys: Any,
    interrupt_before: Any,
    interrupt_after: Any,
    durability: Any,
) -> tuple[set[str], Any, Any, Any, Any, Any, Any, str]:
    """``graph._defaults(config, ...)``: stream modes, output keys, interrupt
    nodes, saver, store, cache, durability (LangGraph's own method for a class
    that overrides it, and to raise for a config it rejects)."""

def start_empty(loop: Any) -> bool | None:
    """The loop's start from an empty checkpoint with a plain input: None when
    that is not the case (nothing done), else whether the input was applied."""

def after_first(loop: Any, is_resuming: bool) -> None:
    """``_after_first``: the run config marks resuming, the loop goes "pending",
    a resume queues its graph callback event."""

def cached_spec(graph: Any) -> Any | None:
    """The graph's spec when it was read already and still describes it, else None."""

def put_checkpoint(loop: Any, source: str) -> None:
    """``_Loop._put_checkpoint({"source": source})`` of a run without delta
    channels: a sync run's (saved or not), or a run's that saves nothing."""

class StreamChunks(Iterator[Any]):
    """The queued chunks, shaped for the caller's stream (see :func:`stream_output`)."""

    def __next__(self) -> Any: ...

def stream_output(
    stream_mode: Any,
    print_mode: Any,
    subgraphs: bool,
    getter: Callable[[], tuple[tuple[str, ...], str, Any]],
    empty_exc: type[BaseException],
    version: str,
    output_mapper: Callable[[Any], Any] | None,
    state_mapper: Callable[[Any], Any] | None,
) -> Iterator[Any]:
    """LangGraph's ``_output``: a native iterator, or LangGraph's generator when
    ``print_mode`` prints chunks."""

def commit_ok(loop: Any, task: Any) -> None:
    """``_Loop._commit(task, None)``: LangGraph's ``PregelRunner.commit`` and
    ``put_writes`` for a task that succeeded (the uncommon cases call back the loop)."""

def apply_step(loop: Any) -> None:
    """``_Loop._apply_step()`` for a run without delta channels."""

def prepare_tasks(loop: Any) -> None:
    """``_Loop._prepare_tasks()``: the core plans the step, its tasks are built."""

def tick_prelude(loop: Any) -> bool:
    """LangGraph's ``tick()`` up to running the tasks; True if they should run."""

def after_tick(loop: Any) -> None:
    """A sync run's ``after_tick()``: apply the writes, the step's checkpoint,
    ``interrupt_after``."""

def tasks_to_run(loop: Any) -> list[Any]:
    """The step's tasks that have no writes yet."""

class JobQueue:
    """Jobs for the task threads, first in first out (rust/py/job_queue.rs)."""

    def __init__(self) -> None: ...
    def put(self, job: Callable[[], None], wait_started: bool = False) -> None:
        """Queues ``job`` and wakes a waiting thread, the GIL released; with
        ``wait_started``, returns once a thread took it."""
    def take(self, timeout: float) -> Callable[[], None] | None:
        """The next job, waiting up to ``timeout`` seconds; None if none came."""
    def __len__(self) -> int: ...

class SyncSteps(Iterator[Any]):
    """A sync run's superstep loop; iterating it runs the steps and yields the
    chunks the stream hands out."""

    def __init__(
        self,
        loop: Any,
        queue: Any,
        output: Callable[[], Iterator[Any]],
        timeout: float | None,
        notify: Any,
        lifecycle: Callable[[], None],
    ) -> None: ...
    def __next__(self) -> Any: ...

class InvokeOutput:
    """What ``Pregel.invoke`` makes of its stream's chunks."""

    def __init__(self, stream_mode: Any, version: str) -> None: ...
    def __call__(self, chunk: Any) -> None: ...
    def take(self, queued: Callable[[], Iterable[Any]]) -> tuple[()]: ...
    def result(self) -> Any: ...

class LoopPut:
    """An async run's stream ``put``: onto its queue, thread-safely."""

    def __init__(self, put_nowait: Callable[[Any], None], aioloop: Any) -> None: ...
    def __call__(self, chunk: Any) -> None: ...

def _debug_panic_next(op: EngineOp | None) -> EngineOp | None:
    """Test hook, not an API: arm a one-shot Rust panic at the next ``op``.

    ``"apply_writes"`` panics inside ``State.apply_writes`` after versions_seen
    was updated, before the next version is asked for and any channel changes;
    ``"prepare"`` at the start of ``State.prepare``; ``"checkpoint"`` inside
    ``State.checkpoint`` after the channel values were read. Process-wide: the
    first call of that operation on any thread panics (and disarms the hook).
    ``None`` disarms. Returns the operation armed before. Present in every
    build; unarmed it costs one relaxed atomic load per operation.
    """

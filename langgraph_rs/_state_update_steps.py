"""The supersteps of ``bulk_update_state`` (LangGraph's ``perform_superstep``)
as generators: each yields the I/O it needs as ``(operation, *args)`` — a
saver call, loading a checkpoint's channels, running a node's writers — and is
sent the result, so the sync (``_state_update.drive``) and async
(``_state_update_async.adrive``) drivers share every other line.

The operations: ``("get_tuple", config)``, ``("load_state", checkpoint,
saved_config)``, ``("store_writes", base, writes)``
(``_store_or_fork_delta_writes``), ``("put", config, checkpoint, metadata,
new_versions)``, ``("put_writes", config, writes, task_id)`` and
``("run_writers", runnable, values, config)``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Generator, Sequence
from functools import partial
from typing import Any
from uuid import UUID, uuid5

from langchain_core.runnables import RunnableConfig, RunnableSequence
from langgraph._internal._config import (
    ensure_config,
    patch_checkpoint_map,
    patch_config,
    patch_configurable,
)
from langgraph._internal._constants import (
    CONF,
    CONFIG_KEY_CHECKPOINT_ID,
    CONFIG_KEY_CHECKPOINT_NS,
    CONFIG_KEY_READ,
    CONFIG_KEY_SEND,
    CONFIG_KEY_TASK_ID,
    CONFIG_KEY_THREAD_ID,
    INPUT,
    INTERRUPT,
    NULL_TASK_ID,
    PUSH,
)
from langgraph.constants import END
from langgraph.errors import InvalidUpdateError
from langgraph.pregel._algo import PregelTaskWrites, _scratchpad
from langgraph.pregel._checkpoint import (
    copy_checkpoint,
    delta_channels_overwritten,
    delta_channels_with_pending_writes,
    get_updated_channels_from_tasks,
)
from langgraph.pregel._io import map_input
from langgraph.pregel._task_status import read_task_statuses
from langgraph.pregel._utils import get_new_channel_versions
from langgraph.pregel.main import _update_task_id
from langgraph.types import StateUpdate

from langgraph_rs import _loop_checkpoint
from langgraph_rs._channels_view import _ChannelsView
from langgraph_rs._spec import GraphSpec
from langgraph_rs._state_plan import plan_tasks
from langgraph_rs._state_update_plan import (
    NativeRead,
    copied_checkpoint,
    new_checkpoint,
    update_checkpoint_plan,
)

#: a superstep's I/O requests ``(operation, *args)``, each sent its result
Steps = Generator[tuple, Any, RunnableConfig]


class Base:
    """What ``perform_superstep`` reads before it branches on the update: the
    saved checkpoint (None on a new thread), a copy of it, its loaded state."""

    __slots__ = (
        "graph", "spec", "checkpointer", "config", "saved", "checkpoint",
        "previous_versions", "step", "checkpoint_config", "fork_pending",
        "is_first", "state",
    )

    def parents(self) -> dict[str, Any]:
        return self.saved.metadata.get("parents", {}) if self.saved else {}

    def saved_metadata(self) -> Any:
        return self.saved.metadata if self.saved else None

    def parent_ns(self) -> str:
        return self.saved.config[CONF].get(CONFIG_KEY_CHECKPOINT_NS, "")


def update_supersteps(
    graph: Any,
    spec: GraphSpec,
    checkpointer: Any,
    config: RunnableConfig,
    supersteps: Sequence[Sequence[StateUpdate]],
) -> Steps:
    """The loop of ``bulk_update_state`` over its supersteps."""
    current = patch_configurable(
        config, {CONFIG_KEY_THREAD_ID: str(config[CONF][CONFIG_KEY_THREAD_ID])}
    )
    for i, updates in enumerate(supersteps):
        current = yield from superstep(graph, spec, checkpointer, current, updates, i == 0)
    return current


def superstep(
    graph: Any,
    spec: GraphSpec,
    checkpointer: Any,
    input_config: RunnableConfig,
    updates: Sequence[StateUpdate],
    is_first: bool = False,
) -> Steps:
    """``perform_superstep``: one new checkpoint from the latest (or the
    addressed) one, by the kind of its first update."""
    base = yield from load_base(graph, spec, checkpointer, input_config, is_first)
    values, as_node = updates[0][:2]
    if values is None and as_node == END:
        return (yield from clear_tasks(base, updates))
    if as_node == INPUT:
        return (yield from update_as_input(base, updates, values))
    if as_node == "__copy__":
        return (yield from copy_and_update(base, updates, values))
    return (yield from update_as_nodes(base, updates))


def load_base(
    graph: Any,
    spec: GraphSpec,
    checkpointer: Any,
    input_config: RunnableConfig,
    is_first: bool,
) -> Generator[tuple, Any, Base]:
    """The start of ``perform_superstep``: the saved checkpoint, its copy, the
    configs, and its channels loaded (``channels_from_checkpoint``)."""
    base = Base()
    base.graph, base.spec, base.checkpointer, base.is_first = graph, spec, checkpointer, is_first
    config = base.config = graph._own_checkpoint_config(ensure_config(graph.config, input_config))
    saved = base.saved = yield ("get_tuple", config)
    # Later supersteps, including the one after a `__copy__` (stored under the
    # base's parent), never walk through the base's writes.
    base.fork_pending = (
        delta_channels_with_pending_writes(graph.channels, saved.pending_writes if saved else None)
        if is_first
        else set()
    )
    if saved is not None:
        graph._migrate_checkpoint(saved.checkpoint)
    base.checkpoint = (
        copy_checkpoint(saved.checkpoint) if saved else _loop_checkpoint.new_empty_checkpoint()
    )
    base.previous_versions = saved.checkpoint["channel_versions"].copy() if saved else {}
    base.step = saved.metadata.get("step", -1) if saved else -1
    base.checkpoint_config = (
        patch_configurable(config, saved.config[CONF])
        if saved
        else patch_configurable(
            config, {CONFIG_KEY_CHECKPOINT_NS: config[CONF].get(CONFIG_KEY_CHECKPOINT_NS, "")}
        )
    )
    base.state = yield ("load_state", base.checkpoint, saved.config if saved is not None else None)
    return base


def save_checkpoint(
    base: Base, updated_channels: set[str], *, source: str, step: int, id_step: int
) -> Steps:
    """The new checkpoint of an update (``source`` "update" or "input"; metadata
    step ``step``, id from ``checkpoint_id(id_step)``) with its delta-channel
    snapshots, put on the saver. Returns the saver's config for it."""
    to_snapshot, metadata = update_checkpoint_plan(
        base.graph,
        base.spec,
        base.state,
        updated_channels,
        source=source,
        step=step,
        parents=base.parents(),
        saved_metadata=base.saved_metadata(),
        is_fresh_thread=base.saved is None,
        fork_channels=base.fork_pending,
    )
    # (LangGraph passes no get_next_version when nothing is snapshotted in one
    # branch: it is only called for snapshotted channels, so the same)
    checkpoint = new_checkpoint(
        base.graph,
        base.spec,
        base.state,
        id_step,
        get_next_version=base.checkpointer.get_next_version,
        channels_to_snapshot=to_snapshot,
        stored_versions=base.previous_versions,
    )
    new_versions = get_new_channel_versions(base.previous_versions, checkpoint["channel_versions"])
    return (yield ("put", base.checkpoint_config, checkpoint, metadata, new_versions))


def clear_tasks(base: Base, updates: Sequence[StateUpdate]) -> Steps:
    """``values=None, as_node=END``: the checkpoint's next step ends without
    running. Its null writes and its finished tasks' writes are applied, and
    every planned task consumes its triggers."""
    if len(updates) > 1:
        raise InvalidUpdateError("Cannot apply multiple updates when clearing state")
    updated: set[str] = set()
    saved, state = base.saved, base.state
    if saved is not None:
        pending = saved.pending_writes or []
        tasks = plan_tasks(base.graph, state, base.checkpoint, base.parent_ns(), base.step + 1)
        if null_writes := [w[1:] for w in pending if w[0] == NULL_TASK_ID]:
            updated.update(state.apply_writes([(INPUT, (), (), null_writes)]))
        for task_id, status in read_task_statuses(pending).items():
            if task_id in tasks:
                tasks[task_id].writes.extend(status.output)
        updated.update(state.apply_writes([t.as_writes() for t in tasks.values()]))
    next_config = yield from save_checkpoint(
        base, updated, source="update", step=base.step + 1, id_step=base.step
    )
    return patch_checkpoint_map(next_config, base.saved_metadata())


def update_as_input(base: Base, updates: Sequence[StateUpdate], values: Any) -> Steps:
    """``as_node="__input__"``: the values written as the graph's input."""
    if len(updates) > 1:
        raise InvalidUpdateError("Cannot apply multiple updates when updating as input")
    graph, saved = base.graph, base.saved
    input_writes = deque(map_input(graph.input_channels, values))
    if not input_writes:
        raise InvalidUpdateError(f"Received no input writes for {graph.input_channels}")
    input_task_id = str(uuid5(UUID(base.checkpoint["id"]), INPUT))
    yield ("store_writes", base, [(input_task_id, input_writes, None)])
    updated = set(base.state.apply_writes([(INPUT, (), (), list(input_writes))]))
    base.fork_pending |= delta_channels_overwritten(graph.channels, input_writes)
    next_step = base.step + 1 if saved and saved.metadata.get("step") is not None else -1
    next_config = yield from save_checkpoint(
        base, updated, source="input", step=next_step, id_step=next_step
    )
    return patch_checkpoint_map(next_config, base.saved_metadata())


def copy_and_update(base: Base, updates: Sequence[StateUpdate], values: Any) -> Steps:
    """``as_node="__copy__"``: a fork of the checkpoint under its parent, then
    (values a list of updates) those updates on the fork, each reusing the id
    of a task the fork plans for its node."""
    if len(updates) > 1:
        raise InvalidUpdateError("Cannot copy checkpoint with multiple updates")
    saved = base.saved
    if saved is None:
        raise InvalidUpdateError("Cannot copy a non-existent checkpoint")
    fork = copied_checkpoint(base.checkpoint, base.step)
    metadata = {
        "source": "fork",
        "step": base.step + 1,
        "parents": saved.metadata.get("parents", {}),
        # The copy has the same values and the same parent.
        **{k: v for k, v in saved.metadata.items() if k == "counters_since_delta_snapshot"},
    }
    next_config = yield (
        "put",
        saved.parent_config
        or patch_configurable(saved.config, {CONFIG_KEY_CHECKPOINT_ID: None}),
        fork,
        metadata,
        {},
    )
    if not (isinstance(values, list) and len(values) > 0):
        return patch_checkpoint_map(next_config, saved.metadata)
    fork_ns = next_config[CONF].get(CONFIG_KEY_CHECKPOINT_NS, "")
    tasks = plan_tasks(base.graph, base.state, fork, fork_ns, base.step + 2)
    return (
        yield from superstep(
            base.graph,
            base.spec,
            base.checkpointer,
            patch_checkpoint_map(next_config, saved.metadata),
            updates_with_task_ids(values, tasks),
        )
    )


def updates_with_task_ids(values: Sequence[Any], tasks: dict[str, Any]) -> list[StateUpdate]:
    """The updates of a ``__copy__``, grouped by node, the n-th update of a node
    taking the id of the n-th task planned for it (None past them)."""
    task_ids_by_node: dict[str, list[str]] = defaultdict(list)
    for task in tasks.values():
        task_ids_by_node[task.name].append(task.id)
    by_node: dict[str, list[StateUpdate]] = defaultdict(list)
    for item in values:
        if not isinstance(item, Sequence):
            raise InvalidUpdateError(f"Invalid update item: {item} when copying checkpoint")
        item_values, as_node = item[:2]
        group, task_ids = by_node[as_node], task_ids_by_node[as_node]
        task_id = task_ids[len(group)] if len(group) < len(task_ids) else None
        group.append(StateUpdate(values=item_values, as_node=as_node, task_id=task_id))
    return [update for group in by_node.values() for update in group]


def update_as_nodes(base: Base, updates: Sequence[StateUpdate]) -> Steps:
    """Updates as if nodes wrote them: each node's writers run on its values;
    their writes are applied together, as one step's, and saved (``PUSH``
    writes on the new checkpoint)."""
    graph, saved, checkpoint = base.graph, base.saved, base.checkpoint
    # task ids can be provided in the StateUpdate, but if not, the ids of the
    # tasks the checkpoint plans are reused (so task results show in history)
    prepared_ids: dict[str, deque[str]] = defaultdict(deque)
    if saved is not None and saved.pending_writes is not None:
        tasks = plan_tasks(graph, base.state, checkpoint, base.parent_ns(), base.step + 1)
        for task in tasks.values():
            prepared_ids[task.name].append(task.id)
    run_tasks: list[PregelTaskWrites] = []
    run_task_ids: list[str] = []
    for i, (as_node, values, provided_id) in enumerate(valid_updates(graph, checkpoint, updates)):
        writers = graph.nodes[as_node].flat_writers
        if not writers:
            raise InvalidUpdateError(f"Node {as_node} has no writers")
        task = PregelTaskWrites((INTERRUPT, i), as_node, deque(), [INTERRUPT])
        ids = prepared_ids.get(as_node, deque())
        task_id = provided_id or (ids.popleft() if ids else _update_task_id(checkpoint["id"], i))
        run_tasks.append(task)
        run_task_ids.append(task_id)
        run = RunnableSequence(*writers) if len(writers) > 1 else writers[0]
        yield ("run_writers", run, values, writer_config(base, task, task_id))
    updated = get_updated_channels_from_tasks(run_tasks)
    base.fork_pending |= delta_channels_overwritten(
        graph.channels, (w for t in run_tasks for w in t.writes)
    )
    yield ("store_writes", base, [(tid, t.writes, t) for tid, t in zip(run_task_ids, run_tasks)])
    base.state.apply_writes([(t.name, t.path, tuple(t.triggers), list(t.writes)) for t in run_tasks])
    next_config = yield from save_checkpoint(
        base, updated, source="update", step=base.step + 1, id_step=base.step + 1
    )
    for task_id, task in zip(run_task_ids, run_tasks):
        if push_writes := [w for w in task.writes if w[0] == PUSH]:
            yield ("put_writes", next_config, push_writes, task_id)
    return patch_checkpoint_map(next_config, base.saved_metadata())


def valid_updates(
    graph: Any, checkpoint: dict, updates: Sequence[StateUpdate]
) -> list[tuple[str, Any, str | None]]:
    """``(as_node, values, task_id)`` per update: a lone update's node inferred
    (``_infer_as_node``) when not given; LangGraph's errors otherwise."""
    if len(updates) == 1:
        values, as_node, task_id = updates[0]
        if as_node is None:
            as_node = graph._infer_as_node(checkpoint["versions_seen"])
        if as_node is None:
            raise InvalidUpdateError("Ambiguous update, specify as_node")
        if as_node not in graph.nodes:
            raise InvalidUpdateError(f"Node {as_node} does not exist")
        return [(as_node, values, task_id)]
    valid = []
    for values, as_node, task_id in updates:
        if as_node is None:
            raise InvalidUpdateError("as_node is required when applying multiple updates")
        if as_node not in graph.nodes:
            raise InvalidUpdateError(f"Node {as_node} does not exist")
        valid.append((as_node, values, task_id))
    return valid


def writer_config(base: Base, task: PregelTaskWrites, task_id: str) -> RunnableConfig:
    """The config an update's writers run with: their writes collected in the
    task's, and a read of the loaded state (``local_read``) at the checkpoint's
    step (stop two steps on, as LangGraph's scratchpad has it)."""
    spec, step = base.spec, base.step
    channels = _ChannelsView(base.state, spec.channel_names, spec.channel_order)
    scratchpad = _scratchpad(None, [], task_id, "", None, step, step + 2)
    return patch_config(
        base.config,
        run_name=base.graph.name + "UpdateState",
        configurable={
            # deque.extend is thread-safe
            CONFIG_KEY_SEND: task.writes.extend,
            CONFIG_KEY_TASK_ID: task_id,
            CONFIG_KEY_READ: partial(
                NativeRead(base.state).local_read, scratchpad, channels, spec.managed, task
            ),
        },
    )

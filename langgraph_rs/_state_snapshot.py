"""``get_state`` and ``get_state_history`` on the native engine: a saved
checkpoint turned into LangGraph's ``StateSnapshot``.

LangGraph's ``Pregel._prepare_state_snapshot`` (and its async twin) plans the
checkpoint's next step with ``_algo.prepare_next_tasks`` and applies pending
writes with ``_algo.apply_writes``; here the native state does both
(``State.prepare``, ``State.apply_writes(versioned=False)``), and LangGraph's
own presentation helpers (``tasks_w_writes``, ``patch_checkpoint_map``) shape
the result, so the snapshot is the one LangGraph returns, task ids included.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langgraph._internal._config import patch_checkpoint_map
from langgraph._internal._constants import (
    CONF,
    CONFIG_KEY_CHECKPOINT_NS,
    CONFIG_KEY_CHECKPOINTER,
    INPUT,
    NS_END,
    NS_SEP,
    NULL_TASK_ID,
)
from langgraph.checkpoint.base import CheckpointTuple
from langgraph.pregel._task_status import read_task_statuses
from langgraph.pregel.debug import tasks_w_writes
from langgraph.types import StateSnapshot

from langgraph_rs import _native
from langgraph_rs._engine import _spec_or_fallback, _stock
from langgraph_rs._state_load import aload_state, load_state


class PlannedTask:
    """One task of the checkpoint's next step, as far as a snapshot reads it
    (what ``tasks_w_writes`` and ``apply_writes`` take of a ``PregelTask``)."""

    __slots__ = ("id", "name", "path", "triggers", "writes")

    def __init__(self, id: str, name: str, path: tuple, triggers: tuple) -> None:
        self.id = id
        self.name = name
        self.path = path
        self.triggers = triggers
        self.writes: list[tuple[str, Any]] = []


def _empty_snapshot(config: Any) -> StateSnapshot:
    return StateSnapshot(
        values={},
        next=(),
        config=config,
        metadata=None,
        created_at=None,
        parent_config=None,
        tasks=(),
        interrupts=(),
    )


def plan_tasks(graph: Any, state: _native.State, saved: CheckpointTuple) -> dict[str, PlannedTask]:
    """``prepare_next_tasks(..., for_execution=True)`` of the saved checkpoint's
    next step, by task id: the native plans, each PULL task's input passed
    through its node's mapper as LangGraph does (once per input, its errors
    raised as LangGraph raises them)."""
    checkpoint = saved.checkpoint
    step = saved.metadata.get("step", -1) + 1
    plans = state.prepare(
        checkpoint["id"],
        saved.config[CONF].get(CONFIG_KEY_CHECKPOINT_NS, ""),
        step,
        step + 2,
        None,
        checkpoint["v"] <= 1,
    )
    nodes = graph.nodes
    mapped: set[Any] = set()
    tasks: dict[str, PlannedTask] = {}
    for task_id, name, path, triggers, value, _ns, packet in plans:
        if packet is None:
            node = nodes[name]
            if node.mapper is not None and node.input_cache_key not in mapped:
                try:
                    node.mapper(value)
                except Exception as exc:
                    exc.add_note(f"Before task with name '{name}' and path '{path[:3]}'")
                    raise
                mapped.add(node.input_cache_key)
        tasks[task_id] = PlannedTask(task_id, name, path, triggers)
    return tasks


def subgraph_configs(
    graph: Any,
    saved: CheckpointTuple,
    tasks: dict[str, PlannedTask],
    subgraph_names: Any,
    saver: Any,
    recurse: bool,
) -> Iterator[tuple[PlannedTask, dict[str, Any]]]:
    """The config of each task that runs a subgraph: a signal that its
    checkpoints exist, or (``recurse``) the config to read its state with."""
    parent_ns = saved.config[CONF].get(CONFIG_KEY_CHECKPOINT_NS, "")
    thread_id = saved.config[CONF]["thread_id"]
    for task in tasks.values():
        if task.name not in subgraph_names:
            continue
        task_ns = f"{task.name}{NS_END}{task.id}"
        if parent_ns:
            task_ns = f"{parent_ns}{NS_SEP}{task_ns}"
        if recurse:
            conf = {
                CONFIG_KEY_CHECKPOINTER: saver,
                "thread_id": thread_id,
                CONFIG_KEY_CHECKPOINT_NS: task_ns,
            }
        else:
            conf = {"thread_id": thread_id, CONFIG_KEY_CHECKPOINT_NS: task_ns}
        yield task, {CONF: conf}


def finish_snapshot(
    graph: Any,
    state: _native.State,
    saved: CheckpointTuple,
    tasks: dict[str, PlannedTask],
    task_states: dict[str, Any],
    live: bool,
) -> StateSnapshot:
    """The rest of ``_prepare_state_snapshot``: the checkpoint's null writes
    applied (and, live, the finished tasks' writes), then the snapshot."""
    pending = saved.pending_writes
    if pending:
        if null_writes := [w[1:] for w in pending if w[0] == NULL_TASK_ID]:
            state.apply_writes([(INPUT, (), (), null_writes)], False)
        if live:
            for tid, status in read_task_statuses(pending).items():
                if tid in tasks:
                    tasks[tid].writes.extend(status.output)
            if written := [(t.name, t.path, t.triggers, t.writes) for t in tasks.values() if t.writes]:
                state.apply_writes(written, False)
    output_keys = graph.stream_channels_asis
    tasks_with_writes = tasks_w_writes(
        tasks.values(), pending, task_states, output_keys, live=live
    )
    return StateSnapshot(
        state.read_output(output_keys),
        tuple(t.name for t in tasks.values() if not t.writes),
        patch_checkpoint_map(saved.config, saved.metadata),
        saved.metadata,
        saved.checkpoint["ts"],
        patch_checkpoint_map(saved.parent_config, saved.metadata),
        tasks_with_writes,
        tuple([i for task in tasks_with_writes for i in task.interrupts]),
    )


def prepare_state_snapshot(
    self: Any,
    config: Any,
    saved: CheckpointTuple | None,
    *,
    saver: Any,
    recurse: bool = False,
    live: bool = False,
) -> StateSnapshot:
    """``Pregel._prepare_state_snapshot`` on the native engine."""
    if not saved:
        return _empty_snapshot(config)
    if (spec := _spec_or_fallback(self)) is None:
        stock = _stock("_prepare_state_snapshot")
        return stock(self, config, saved, saver=saver, recurse=recurse, live=live)
    self._migrate_checkpoint(saved.checkpoint)
    state = load_state(self, spec, saved.checkpoint, saver=saver, config=saved.config)
    tasks = plan_tasks(self, state, saved)
    task_states: dict[str, Any] = {}
    if tasks:
        subgraphs = dict(self.get_subgraphs())
        for task, conf in subgraph_configs(self, saved, tasks, subgraphs, saver, recurse):
            task_states[task.id] = (
                subgraphs[task.name].get_state(conf, subgraphs=True) if recurse else conf
            )
    return finish_snapshot(self, state, saved, tasks, task_states, live)


async def aprepare_state_snapshot(
    self: Any,
    config: Any,
    saved: CheckpointTuple | None,
    *,
    saver: Any,
    recurse: bool = False,
    live: bool = False,
) -> StateSnapshot:
    """``Pregel._aprepare_state_snapshot`` on the native engine."""
    if not saved:
        return _empty_snapshot(config)
    if (spec := _spec_or_fallback(self)) is None:
        stock = _stock("_aprepare_state_snapshot")
        return await stock(self, config, saved, saver=saver, recurse=recurse, live=live)
    self._migrate_checkpoint(saved.checkpoint)
    state = await aload_state(self, spec, saved.checkpoint, saver=saver, config=saved.config)
    tasks = plan_tasks(self, state, saved)
    task_states: dict[str, Any] = {}
    if tasks:
        subgraphs = {n: g async for n, g in self.aget_subgraphs()}
        for task, conf in subgraph_configs(self, saved, tasks, subgraphs, saver, recurse):
            task_states[task.id] = (
                await subgraphs[task.name].aget_state(conf, subgraphs=True)
                if recurse
                else conf
            )
    return finish_snapshot(self, state, saved, tasks, task_states, live)

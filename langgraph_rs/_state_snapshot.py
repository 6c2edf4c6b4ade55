"""``get_state`` and ``get_state_history`` on the native engine: a saved
checkpoint turned into LangGraph's ``StateSnapshot``.

LangGraph's ``Pregel._prepare_state_snapshot`` (and its async twin) plans the
checkpoint's next step with ``_algo.prepare_next_tasks`` and applies pending
writes with ``_algo.apply_writes``; here the native state does both
(``State.prepare``, and ``snapshot_tasks`` applying the writes unversioned
and making the ``PregelTask``s ``tasks_w_writes`` makes), so the snapshot is
the one LangGraph returns, task ids included.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langgraph._internal._config import patch_checkpoint_map
from langgraph._internal._constants import (
    CONF,
    CONFIG_KEY_CHECKPOINT_NS,
    CONFIG_KEY_CHECKPOINTER,
    NS_END,
    NS_SEP,
)
from langgraph.checkpoint.base import CheckpointTuple
from langgraph.types import StateSnapshot

from langgraph_rs import _native
from langgraph_rs._engine import _spec_or_fallback, _stock
from langgraph_rs._state_load import aload_state, load_state
from langgraph_rs._state_plan import executable_plans


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


def next_step_plans(graph: Any, state: _native.State, saved: CheckpointTuple) -> list[tuple]:
    """The tasks of the saved checkpoint's next step (its step + 1)."""
    return executable_plans(
        graph,
        state,
        saved.checkpoint,
        saved.config[CONF].get(CONFIG_KEY_CHECKPOINT_NS, ""),
        saved.metadata.get("step", -1) + 1,
    )


def subgraph_configs(
    saved: CheckpointTuple, plans: list[tuple], subgraph_names: Any, saver: Any, recurse: bool
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(task id, node name, config)`` of each task that runs a subgraph: the
    config is a signal that its checkpoints exist, or (``recurse``) the config
    to read its state with."""
    parent_ns = saved.config[CONF].get(CONFIG_KEY_CHECKPOINT_NS, "")
    thread_id = saved.config[CONF]["thread_id"]
    for task_id, name, *_ in plans:
        if name not in subgraph_names:
            continue
        task_ns = f"{name}{NS_END}{task_id}"
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
        yield task_id, name, {CONF: conf}


def finish_snapshot(
    graph: Any,
    state: _native.State,
    saved: CheckpointTuple,
    plans: list[tuple],
    task_states: dict[str, Any],
    live: bool,
) -> StateSnapshot:
    """The rest of ``_prepare_state_snapshot``, natively
    (rust/py/state_snapshot.rs): the checkpoint's null writes applied (and,
    live, the finished tasks' writes), the tasks ``tasks_w_writes`` makes."""
    values, next_names, tasks, interrupts = _native.snapshot_tasks(
        state, plans, saved.pending_writes, task_states, graph.stream_channels_asis, live
    )
    return StateSnapshot(
        values,
        next_names,
        patch_checkpoint_map(saved.config, saved.metadata),
        saved.metadata,
        saved.checkpoint["ts"],
        patch_checkpoint_map(saved.parent_config, saved.metadata),
        tasks,
        interrupts,
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
    plans = next_step_plans(self, state, saved)
    task_states: dict[str, Any] = {}
    if plans:
        subgraphs = dict(self.get_subgraphs())
        for task_id, name, conf in subgraph_configs(saved, plans, subgraphs, saver, recurse):
            task_states[task_id] = (
                subgraphs[name].get_state(conf, subgraphs=True) if recurse else conf
            )
    return finish_snapshot(self, state, saved, plans, task_states, live)


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
    plans = next_step_plans(self, state, saved)
    task_states: dict[str, Any] = {}
    if plans:
        subgraphs = {n: g async for n, g in self.aget_subgraphs()}
        for task_id, name, conf in subgraph_configs(saved, plans, subgraphs, saver, recurse):
            task_states[task_id] = (
                await subgraphs[name].aget_state(conf, subgraphs=True) if recurse else conf
            )
    return finish_snapshot(self, state, saved, plans, task_states, live)

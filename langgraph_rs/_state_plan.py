"""The tasks a saved checkpoint plans, for the state APIs (``get_state``,
``update_state``): ``_algo.prepare_next_tasks(..., for_execution=True)`` of
its next step, planned by the native state.

The native plans give the task ids, names, paths and triggers. What
LangGraph's planner computes beyond them is computed here for its errors, as it
raises them: each PULL task's input through its node's mapper (once per input
cache key, with the "Before task" note) and the cache key of a node with a
cache policy; a node with nothing to run (``node`` None) plans no task, as there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph._internal._constants import CACHE_NS_WRITES
from langgraph.pregel._call import identifier

from langgraph_rs import _native
from langgraph_rs._loop_tasks import _cache_key

#: ``State.prepare``'s ``(id, name, path, triggers, input, task_ns, packet)``
Plan = tuple


def executable_plans(
    graph: Any,
    state: _native.State,
    checkpoint: Mapping[str, Any],
    parent_ns: str,
    step: int,
) -> list[Plan]:
    """The plans of the tasks ``prepare_next_tasks(checkpoint, ..., step,
    step + 2, for_execution=True)`` returns, in its order."""
    plans = state.prepare(checkpoint["id"], parent_ns, step, step + 2, None, checkpoint["v"] <= 1)
    nodes = graph.nodes
    mapped_inputs: dict[Any, Any] = {}
    out = []
    for plan in plans:
        _task_id, name, path, _triggers, value, _task_ns, packet = plan
        proc = nodes[name]
        if packet is None:
            value = _mapped_input(proc, name, path, value, mapped_inputs)
        if proc.node is None:
            continue
        if proc.cache_policy:
            _cache_key(
                proc.cache_policy,
                (CACHE_NS_WRITES, identifier(proc) or "__dynamic__", name),
                proc.cache_policy.key_func(value),
            )
        out.append(plan)
    return out


def _mapped_input(
    proc: Any, name: str, path: tuple, value: Any, mapped_inputs: dict[Any, Any]
) -> Any:
    """``_proc_input``'s mapper step (``for_execution=True``) with its input cache."""
    key = proc.input_cache_key
    if key in mapped_inputs:
        return mapped_inputs[key]
    if proc.mapper is not None:
        try:
            value = proc.mapper(value)
        except Exception as exc:
            exc.add_note(f"Before task with name '{name}' and path '{path[:3]}'")
            raise
    mapped_inputs[key] = value
    return value


class PlannedTask:
    """One task of a checkpoint's next step, as far as ``update_state`` uses a
    ``PregelExecutableTask``: its id and name (task ids to reuse) and what
    ``apply_writes`` takes (name, path, triggers, writes)."""

    __slots__ = ("id", "name", "path", "triggers", "writes")

    def __init__(self, id: str, name: str, path: tuple, triggers: tuple) -> None:
        self.id = id
        self.name = name
        self.path = path
        self.triggers = triggers
        self.writes: list[tuple[str, Any]] = []

    def as_writes(self) -> tuple[str, tuple, tuple, list[tuple[str, Any]]]:
        """The ``(name, path, triggers, writes)`` ``State.apply_writes`` takes."""
        return (self.name, self.path, self.triggers, self.writes)


def plan_tasks(
    graph: Any,
    state: _native.State,
    checkpoint: Mapping[str, Any],
    parent_ns: str,
    step: int,
) -> dict[str, PlannedTask]:
    """``prepare_next_tasks(..., for_execution=True)`` by task id."""
    return {
        task_id: PlannedTask(task_id, name, path, triggers)
        for task_id, name, path, triggers, *_ in executable_plans(
            graph, state, checkpoint, parent_ns, step
        )
    }

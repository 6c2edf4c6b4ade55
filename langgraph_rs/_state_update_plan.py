"""The pure pieces of ``update_state`` on the native engine: the read a
writer gets and the checkpoint an update saves (the tasks a checkpoint plans
are ``_state_plan``'s).

Each mirrors the LangGraph function ``Pregel.bulk_update_state`` calls
(``local_read``, ``create_checkpoint_plan_for_update_state_api``,
``create_checkpoint``), computed on a ``_native.State`` instead of LangGraph's
channel objects. No saver call and no user code runs here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langgraph.checkpoint.serde.types import _DeltaSnapshot
from langgraph.pregel import _checkpoint as _checkpoint_mod
from langgraph.pregel._checkpoint import LATEST_VERSION, _mark_bumps_seen

from langgraph_rs import _loop_checkpoint, _native
from langgraph_rs._channels_view import read_state
from langgraph_rs._spec import GraphSpec


class NativeRead:
    """The ``CONFIG_KEY_READ`` of an update's writers. LangGraph installs
    ``partial(local_read, scratchpad, channels, managed, task)``; this gives
    ``partial(NativeRead(state).local_read, scratchpad, channels, managed, task)``,
    the same shape (prebuilt code reads ``read.args[1]``)."""

    __slots__ = ("state",)

    def __init__(self, state: _native.State) -> None:
        self.state = state

    def local_read(
        self,
        scratchpad: Any,
        channels: Any,
        managed: Any,
        task: Any,
        select: str | list[str],
        fresh: bool = False,
    ) -> Any:
        """``_algo.local_read``: the channels now, or (``fresh``) with the task's
        writes so far applied to copies; managed values from the scratchpad's
        step and stop."""
        writes = list(task.writes) if fresh else None
        return read_state(self.state, select, writes, scratchpad.step, scratchpad.stop)


def update_checkpoint_plan(
    graph: Any,
    spec: GraphSpec,
    state: _native.State,
    updated_channels: set[str],
    *,
    source: str,
    step: int,
    parents: dict[str, Any],
    saved_metadata: Mapping[str, Any] | None,
    is_fresh_thread: bool,
    fork_channels: set[str],
) -> tuple[set[str], dict[str, Any]]:
    """``create_checkpoint_plan_for_update_state_api``: ``(channels_to_snapshot,
    metadata)`` of the checkpoint an update saves, the delta channels' counters
    advanced one superstep (``create_metadata_for_update_state_api``) and the
    snapshot cadence applied (``delta_channels_to_snapshot``)."""
    metadata: dict[str, Any] = {"source": source, "step": step, "parents": parents}
    versions = state.versions()
    delta = [k for k in spec.channel_order if k in spec.delta]
    if is_fresh_thread:
        # (get_delta_channels_from_all_channels)
        return {k for k in delta if state.is_available(k) and k in versions}, metadata
    prev = dict((saved_metadata or {}).get("counters_since_delta_snapshot") or {})
    counters: dict[str, tuple[int, int]] = {}
    for name in delta:
        updates, supersteps = prev.get(name, (0, 0))
        counters[name] = (updates + (name in updated_channels), supersteps + 1)
    to_snapshot = _due_for_snapshot(graph, state, delta, counters, versions) | fork_channels
    for name in to_snapshot:
        counters[name] = (0, 0)
    if non_zero := {k: v for k, v in counters.items() if v != (0, 0)}:
        metadata["counters_since_delta_snapshot"] = non_zero
    return to_snapshot, metadata


def _due_for_snapshot(
    graph: Any,
    state: _native.State,
    delta: Sequence[str],
    counters: Mapping[str, tuple[int, int]],
    versions: Mapping[str, Any],
) -> set[str]:
    """``delta_channels_to_snapshot``: the delta channels whose updates or
    supersteps since their last snapshot reach the cadence."""
    bound = _checkpoint_mod.DELTA_MAX_SUPERSTEPS_SINCE_SNAPSHOT
    due = set()
    for name in delta:
        if not state.is_available(name) or name not in versions:
            continue
        updates, supersteps = counters.get(name, (0, 0))
        if updates >= graph.channels[name].snapshot_frequency or supersteps >= bound:
            due.add(name)
    return due


def new_checkpoint(
    graph: Any,
    spec: GraphSpec,
    state: _native.State,
    step: int,
    *,
    get_next_version: Callable[[Any, None], Any] | None,
    channels_to_snapshot: set[str],
    stored_versions: Mapping[str, Any],
) -> dict[str, Any]:
    """``create_checkpoint(checkpoint, channels, step, get_next_version=...,
    channels_to_snapshot=..., stored_versions=..., trigger_to_nodes=...)`` of the
    native state: each snapshotted delta channel stored as a ``_DeltaSnapshot``,
    its version bumped when it has none or has not moved since the stored
    checkpoint, and the bumps marked seen (``_mark_bumps_seen``)."""
    values, versions, seen = state.checkpoint()
    bumped: dict[str, tuple[Any, Any]] = {}
    for name in spec.channel_order:
        if name not in channels_to_snapshot:
            continue
        if name not in versions:
            if get_next_version is None:
                continue
            versions[name] = get_next_version(None, None)
            bumped[name] = (None, versions[name])
        elif get_next_version is not None and versions[name] == stored_versions.get(name):
            old = versions[name]
            versions[name] = get_next_version(old, None)
            bumped[name] = (old, versions[name])
        values[name] = _DeltaSnapshot(state.get(name))
    return _checkpoint_dict(
        step,
        values,
        versions,
        _mark_bumps_seen(seen, bumped, graph.trigger_to_nodes or {}),
    )


def copied_checkpoint(checkpoint: Mapping[str, Any], step: int) -> dict[str, Any]:
    """``create_checkpoint(checkpoint, None, step)``: the same values, versions
    and versions_seen under a new id (what a ``__copy__`` fork saves)."""
    return _checkpoint_dict(
        step,
        checkpoint["channel_values"],
        checkpoint["channel_versions"],
        checkpoint["versions_seen"],
    )


def _checkpoint_dict(
    step: int, values: dict[str, Any], versions: dict[str, Any], seen: dict[str, Any]
) -> dict[str, Any]:
    # (the id and time looked up per call: the differential tests replace them)
    return {
        "v": LATEST_VERSION,
        "ts": _native.now_iso(),
        "id": _loop_checkpoint.checkpoint_id(step),
        "channel_values": values,
        "channel_versions": versions,
        "versions_seen": seen,
        "updated_channels": None,
    }

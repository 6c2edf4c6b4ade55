"""The ``_Loop``'s checkpoints and pending writes: assembling a checkpoint,
the ``put``/``put_writes`` arguments LangGraph's saver calls get, and the
delta-channel snapshot cadence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langgraph._internal._config import (
    patch_configurable,
)
from langgraph._internal._constants import (
    CONF,
    CONFIG_KEY_CHECKPOINT_ID,
    CONFIG_KEY_CHECKPOINT_MAP,
    CONFIG_KEY_CHECKPOINT_NS,
    ERROR,
    INTERRUPT,
    NULL_TASK_ID,
    TASKS,
)
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
)
from langgraph.pregel import _algo
from langgraph.pregel import _checkpoint as _checkpoint_mod
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from langgraph.pregel._messages import ensure_message_ids
from langgraph.pregel._checkpoint import (
    _mark_bumps_seen,
    LATEST_VERSION,
)
from langgraph.pregel._utils import get_new_channel_versions
from langgraph.types import Send

from langgraph_rs import _native


# str(uuid6(clock_seq=step)) of langgraph.checkpoint.base.id, made natively
checkpoint_id = _native.checkpoint_id


def new_empty_checkpoint() -> dict:
    """LangGraph's ``empty_checkpoint()``, made natively."""
    return _native.empty_checkpoint(LATEST_VERSION, checkpoint_id(-2))


def _cacheable(writes: Sequence[tuple[str, Any]]) -> bool:
    return not any(c in (INTERRUPT, ERROR) for c, _ in writes)


# ---------------------------------------------------------------------------
# The loop


class _Checkpoints:
    """Mixin of ``_Loop``: checkpoints and pending writes."""

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
            "ts": _native.now_iso(),
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
        writes, self._last_writes = self._last_writes, None
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

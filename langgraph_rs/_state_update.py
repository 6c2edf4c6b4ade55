"""``Pregel.bulk_update_state`` on the native engine.

LangGraph's ``bulk_update_state`` (``update_state`` calls it) plans the saved
checkpoint's next step with ``_algo.prepare_next_tasks``, applies writes with
``_algo.apply_writes``, hands writers ``_algo.local_read`` and builds the new
checkpoint with ``channels_from_checkpoint``/``create_checkpoint``. Here the
saved checkpoint is loaded into a ``_native.State``, which plans, applies and
reads; the checkpoint is assembled from it (``_state_update_plan``). Everything
else is LangGraph's own: its helpers (``_store_or_fork_delta_writes``,
``read_task_statuses``, ``patch_checkpoint_map``, ...), the node's writers, and
the same saver calls in the same order with the same arguments.

Sync and async differ only in their I/O: each superstep is a generator
(``_state_update_steps``) that yields the I/O it needs; :func:`drive` runs
them with a sync saver (:class:`SyncIO`), ``_state_update_async.adrive`` with
an async one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.pregel.main import _store_or_fork_delta_writes
from langgraph.types import StateUpdate

from langgraph_rs import _engine, _native
from langgraph_rs._spec import GraphSpec
from langgraph_rs._state_load import load_state
from langgraph_rs._state_update_steps import Base, Steps, update_supersteps


# ---------------------------------------------------------------------------
# Entry point and its sync driver


def bulk_update_state(
    self: Any, config: RunnableConfig, supersteps: Sequence[Sequence[StateUpdate]]
) -> RunnableConfig:
    """``Pregel.bulk_update_state``: apply the updates of each superstep as
    LangGraph does, one new checkpoint per superstep, planned and applied by the
    native state. Returns the config of the last checkpoint saved."""
    checkpointer = self._state_checkpointer(config)
    check_supersteps(supersteps)
    if subgraph := self._subgraph_for_namespace(config, checkpointer, for_update=True):
        pregel, subgraph_config = subgraph
        return pregel.bulk_update_state(subgraph_config, supersteps)
    spec = graph_spec(self)
    if spec is None:
        return _engine._stock("bulk_update_state")(self, config, supersteps)
    steps = update_supersteps(self, spec, checkpointer, config, supersteps)
    return drive(steps, SyncIO(self, spec, checkpointer))


def check_supersteps(supersteps: Sequence[Sequence[Any]]) -> None:
    """The checks ``bulk_update_state`` makes before anything is read."""
    if len(supersteps) == 0:
        raise ValueError("No supersteps provided")
    if any(len(u) == 0 for u in supersteps):
        raise ValueError("No updates provided")


def graph_spec(graph: Any) -> GraphSpec | None:
    """The graph's spec, or None when it runs on LangGraph (``fallback="langgraph"``
    and a feature the engine lacks; without a fallback that raises, as a run does)."""
    return _native.cached_spec(graph) or _engine._spec_or_fallback(graph)


def load_kwargs(checkpointer: Any, saved_config: RunnableConfig | None) -> dict[str, Any]:
    """How an update loads a checkpoint's channels: through its saver (delta
    histories), with the saver's versions for the writes it applies."""
    return {
        "saver": checkpointer,
        "config": saved_config,
        "next_version": checkpointer.get_next_version,
    }


def store_args(base: Base, writes: list) -> tuple:
    """The positional arguments of ``_(a)store_or_fork_delta_writes``."""
    return (
        base.checkpointer,
        base.config,
        base.saved,
        base.checkpoint_config,
        base.graph.channels,
        writes,
        base.fork_pending,
    )


def drive(steps: Steps, io: Any) -> RunnableConfig:
    """Run the supersteps, doing each I/O request with ``io``'s method of that name."""
    result = None
    while True:
        try:
            operation, *args = steps.send(result)
        except StopIteration as done:
            return done.value
        result = getattr(io, operation)(*args)


class SyncIO:
    """The I/O of ``bulk_update_state``: the saver's sync methods and the writers'
    ``invoke``."""

    def __init__(self, graph: Any, spec: GraphSpec, checkpointer: Any) -> None:
        self.graph = graph
        self.spec = spec
        self.checkpointer = checkpointer

    def get_tuple(self, config: RunnableConfig) -> Any:
        return self.checkpointer.get_tuple(config)

    def load_state(self, checkpoint: dict, saved_config: RunnableConfig | None) -> _native.State:
        """``channels_from_checkpoint(self.channels, checkpoint, saver=..., config=...)``."""
        return load_state(
            self.graph, self.spec, checkpoint, **load_kwargs(self.checkpointer, saved_config)
        )

    def store_writes(self, base: Base, writes: list) -> None:
        """``_store_or_fork_delta_writes`` of an update's writes."""
        _store_or_fork_delta_writes(*store_args(base, writes), is_first=base.is_first)

    def put(self, config: RunnableConfig, checkpoint: dict, metadata: dict, versions: dict) -> Any:
        return self.checkpointer.put(config, checkpoint, metadata, versions)

    def put_writes(self, config: RunnableConfig, writes: list, task_id: str) -> None:
        self.checkpointer.put_writes(config, writes, task_id)

    def run_writers(self, run: Any, values: Any, config: RunnableConfig) -> None:
        run.invoke(values, config)

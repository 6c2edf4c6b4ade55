"""``Pregel.abulk_update_state`` on the native engine: the supersteps of
``_state_update_steps`` driven with the saver's async methods
(``aget_tuple``, ``aget_delta_channel_history``, ``aput_writes``, ``aput``)
and the writers' ``ainvoke``, as LangGraph's ``abulk_update_state`` awaits
them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.pregel.main import _astore_or_fork_delta_writes
from langgraph.types import StateUpdate

from langgraph_rs import _engine, _native
from langgraph_rs._spec import GraphSpec
from langgraph_rs._state_load import aload_state
from langgraph_rs._state_update import (
    check_supersteps,
    graph_spec,
    load_kwargs,
    store_args,
)
from langgraph_rs._state_update_steps import Base, Steps, update_supersteps


async def abulk_update_state(
    self: Any, config: RunnableConfig, supersteps: Sequence[Sequence[StateUpdate]]
) -> RunnableConfig:
    """``Pregel.abulk_update_state``: ``bulk_update_state`` with async I/O."""
    checkpointer = self._state_checkpointer(config)
    check_supersteps(supersteps)
    if subgraph := self._subgraph_for_namespace(config, checkpointer, for_update=True):
        pregel, subgraph_config = subgraph
        return await pregel.abulk_update_state(subgraph_config, supersteps)
    spec = graph_spec(self)
    if spec is None:
        return await _engine._stock("abulk_update_state")(self, config, supersteps)
    steps = update_supersteps(self, spec, checkpointer, config, supersteps)
    return await adrive(steps, AsyncIO(self, spec, checkpointer))


async def adrive(steps: Steps, io: Any) -> RunnableConfig:
    """Run the supersteps, awaiting each I/O request with ``io``'s method of that name."""
    result = None
    while True:
        try:
            operation, *args = steps.send(result)
        except StopIteration as done:
            return done.value
        result = await getattr(io, operation)(*args)


class AsyncIO:
    """The I/O of ``abulk_update_state``: the saver's async methods and the
    writers' ``ainvoke``."""

    def __init__(self, graph: Any, spec: GraphSpec, checkpointer: Any) -> None:
        self.graph = graph
        self.spec = spec
        self.checkpointer = checkpointer

    async def get_tuple(self, config: RunnableConfig) -> Any:
        return await self.checkpointer.aget_tuple(config)

    async def load_state(
        self, checkpoint: dict, saved_config: RunnableConfig | None
    ) -> _native.State:
        """``achannels_from_checkpoint(self.channels, checkpoint, saver=..., config=...)``."""
        return await aload_state(
            self.graph, self.spec, checkpoint, **load_kwargs(self.checkpointer, saved_config)
        )

    async def store_writes(self, base: Base, writes: list) -> None:
        """``_astore_or_fork_delta_writes`` of an update's writes."""
        await _astore_or_fork_delta_writes(*store_args(base, writes), is_first=base.is_first)

    async def put(
        self, config: RunnableConfig, checkpoint: dict, metadata: dict, versions: dict
    ) -> Any:
        return await self.checkpointer.aput(config, checkpoint, metadata, versions)

    async def put_writes(self, config: RunnableConfig, writes: list, task_id: str) -> None:
        await self.checkpointer.aput_writes(config, writes, task_id)

    async def run_writers(self, run: Any, values: Any, config: RunnableConfig) -> None:
        await run.ainvoke(values, config)

"""LangGraph's ``channels`` mapping over the native state: what LangGraph's
helpers that take a run's channels (``read_channels``, ``map_command``, a
task's read) see — each entry answers ``get``/``is_available`` from the
Rust state.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from langgraph.checkpoint.base import EmptyChannelError

from langgraph_rs import _native


def read_state(
    state: _native.State,
    select: str | Sequence[str],
    fresh_writes: Sequence[tuple[str, Any]] | None,
    step: int,
    stop: int,
) -> Any:
    """What ``_algo.local_read`` returns (a task's ``CONFIG_KEY_READ``): the
    selected channels now, or with ``fresh_writes`` (a fresh read) the task's
    writes applied to copies of them; managed values from ``step``/``stop``. A
    str select of an empty channel reads None, as ``read_channel`` gives."""
    try:
        return state.read(select, fresh_writes, step, stop)
    except EmptyChannelError:
        if isinstance(select, str):
            return None
        raise


class _ChannelRef:
    __slots__ = ("_state", "_name")

    def __init__(self, state: _native.State, name: str) -> None:
        self._state = state
        self._name = name

    def get(self) -> Any:
        return self._state.get(self._name)

    def is_available(self) -> bool:
        return self._state.is_available(self._name)


class _ChannelsView(Mapping):
    """The run's channels by name, in the graph's order (what LangGraph's
    ``local_read`` partial holds as its second argument, which prebuilt code reads)."""

    __slots__ = ("_state", "_names", "_order")

    def __init__(self, state: _native.State, names: frozenset[str], order: Sequence[str]) -> None:
        self._state = state
        self._names = names
        self._order = order

    def __getitem__(self, key: str) -> _ChannelRef:
        if key not in self._names:
            raise KeyError(key)
        return _ChannelRef(self._state, key)

    def __contains__(self, key: object) -> bool:
        return key in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._names)

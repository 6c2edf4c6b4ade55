"""Reading a compiled LangGraph ``Pregel`` into the Rust engine's graph spec.

The spec is built once per graph object (and rebuilt if its channels or nodes
mapping is replaced) and cached on the graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from langgraph.channels.any_value import AnyValue
from langgraph.channels.base import BaseChannel
from langgraph.channels.binop import BinaryOperatorAggregate
from langgraph.channels.delta import DeltaChannel
from langgraph.channels.ephemeral_value import EphemeralValue
from langgraph.channels.last_value import LastValue, LastValueAfterFinish
from langgraph.channels.named_barrier_value import (
    NamedBarrierValue,
    NamedBarrierValueAfterFinish,
)
from langgraph.channels.topic import Topic
from langgraph.channels.untracked_value import UntrackedValue
from langgraph.managed.base import is_managed_value
from langgraph.managed.is_last_step import IsLastStepManager, RemainingStepsManager

from langgraph_rs import _native
from langgraph_rs._errors import UnsupportedFeatureError


def _fresh_binop_value(typ: Any, operator: Any) -> Any:
    return BinaryOperatorAggregate(typ, operator).value


def _channel_entry(name: str, ch: Any) -> tuple[str, str, Any]:
    t = type(ch)
    if t is LastValue:
        return (name, "last_value", None)
    if t is LastValueAfterFinish:
        return (name, "last_value_after_finish", None)
    if t is AnyValue:
        return (name, "any_value", None)
    if t is EphemeralValue:
        return (name, "ephemeral", bool(ch.guard))
    if t is UntrackedValue:
        return (name, "untracked", bool(ch.guard))
    if t is Topic:
        return (name, "topic", bool(ch.accumulate))
    if t is BinaryOperatorAggregate:
        # the initial value is what a fresh channel holds (``typ()`` or MISSING)
        return (name, "binop", (ch.operator, partial(_fresh_binop_value, ch.typ, ch.operator)))
    if t is DeltaChannel:
        return (name, "delta", ch)
    if t is NamedBarrierValue:
        return (name, "named_barrier", sorted(ch.names))
    if t is NamedBarrierValueAfterFinish:
        return (name, "named_barrier_after_finish", sorted(ch.names))
    raise UnsupportedFeatureError(
        f"langgraph_rs does not support the channel class {t.__module__}.{t.__qualname__} "
        f"(channel {name!r}) yet"
    )


@dataclass(eq=False)
class GraphSpec:
    graph: _native.Graph
    channels_obj: Any
    nodes_obj: Any
    n_channels: int
    n_nodes: int
    managed: dict[str, Any]
    untracked: frozenset[str]
    #: DeltaChannel names (checkpointed as writes plus snapshots) and
    #: BinaryOperatorAggregate names (may be rebuilt from delta history).
    delta: frozenset[str]
    binop: frozenset[str]
    #: both of the above, in the graph's channel order (what a checkpoint may
    #: hold no value of, to be rebuilt from the saver's delta history)
    replayable: tuple[str, ...] = ()
    trigger_to_nodes: dict[str, list[str]] = field(default_factory=dict)
    #: per node, its steps run without a callback run (for runs with no handlers)
    lean_nodes: dict[str, Any] = field(default_factory=dict)
    #: the native graph's channel names, in its order (read by every run)
    channel_order: tuple[str, ...] = ()
    channel_names: frozenset[str] = frozenset()
    #: the channels LangGraph's ``stream_channels_asis`` names when the graph
    #: has no ``stream_channels`` (read, never changed, by every run)
    channels_asis: list[str] = field(default_factory=list)
    #: the channels whose value changes only when a task writes them (no
    #: clearing on a new step, no finish): what a run read of them after its
    #: last write is what it would have read then
    stable: frozenset[str] = frozenset()


def spec_for(pregel: Any) -> GraphSpec:
    if (spec := _native.cached_spec(pregel)) is not None:  # read already, still the graph's
        return spec
    d = pregel.__dict__
    channels = pregel.channels
    nodes = pregel.nodes
    entries = []
    managed: dict[str, Any] = {}
    managed_kinds: dict[str, str] = {}
    untracked = set()
    delta = set()
    binop = set()
    stable = set()
    # LangGraph's channel errors name the channel's ``key`` (StateGraph sets it to
    # the channel name; a raw Pregel's channels keep "")
    error_keys: dict[str, str] = {}
    for name, ch in channels.items():
        if is_managed_value(ch):
            if ch is IsLastStepManager:
                managed_kinds[name] = "is_last_step"
            elif ch is RemainingStepsManager:
                managed_kinds[name] = "remaining_steps"
            else:
                raise UnsupportedFeatureError(
                    f"langgraph_rs does not support the managed value {ch!r} "
                    f"(channel {name!r}) yet"
                )
            managed[name] = ch
            continue
        entries.append(_channel_entry(name, ch))
        if ch.key != name:
            error_keys[name] = ch.key
        if type(ch) is UntrackedValue:
            untracked.add(name)
        elif type(ch) is DeltaChannel:
            delta.add(name)
        elif type(ch) is BinaryOperatorAggregate:
            binop.add(name)
        if type(ch) in (LastValue, BinaryOperatorAggregate):
            stable.add(name)
    node_entries = []
    for name, node in nodes.items():
        read = node.channels
        if isinstance(read, dict):
            raise UnsupportedFeatureError(
                f"langgraph_rs does not support dict channel mappings (node {name!r})"
            )
        node_entries.append(
            (name, list(node.triggers), read if isinstance(read, str) else list(read))
        )
    graph = _native.Graph(entries, node_entries, managed_kinds, error_keys)
    spec = GraphSpec(
        graph=graph,
        channels_obj=channels,
        nodes_obj=nodes,
        n_channels=len(channels),
        n_nodes=len(nodes),
        managed=managed,
        untracked=frozenset(untracked),
        delta=frozenset(delta),
        binop=frozenset(binop),
        replayable=tuple(k for k in channels if k in delta or k in binop),
        trigger_to_nodes=graph.trigger_to_nodes(),
        channel_order=tuple(graph.channel_names),
        channel_names=frozenset(graph.channel_names),
        channels_asis=[k for k, ch in channels.items() if isinstance(ch, BaseChannel)],
        stable=frozenset(stable),
    )
    d["_langgraph_rs_spec"] = spec
    return spec

"""A saved checkpoint's channels on the native state: what a run's start and
the state APIs (``get_state``, ``update_state``) load, as LangGraph's
``channels_from_checkpoint`` does, delta-channel histories included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph._internal._typing import MISSING
from langgraph.pregel._checkpoint import _replay, _require_saver_for_history

from langgraph_rs import _native
from langgraph_rs._spec import GraphSpec


def replay_targets(
    spec: GraphSpec, checkpoint: Mapping[str, Any], saver: Any, config: Any
) -> list[str]:
    """The delta channels (or binop channels that were ones) whose value the
    saver's history rebuilds; ``ValueError`` when there is history but no saver."""
    if not spec.replayable:
        return []
    # ``_delta_channels_to_replay``: the channels of those classes (the spec
    # names them, as ``spec_for`` takes no subclass) with a version but no value
    versions = checkpoint["channel_versions"]
    values = checkpoint["channel_values"]
    targets = [k for k in spec.replayable if k in versions and values.get(k, MISSING) is MISSING]
    _require_saver_for_history(targets, saver, config)
    return targets if saver is not None and config is not None else []


def state_from(
    graph: Any,
    spec: GraphSpec,
    checkpoint: Mapping[str, Any],
    histories: Mapping[str, Any] | None,
    next_version: Any,
) -> _native.State:
    """The native state of ``checkpoint``, delta channels rebuilt from ``histories``."""
    if histories:
        values = dict(checkpoint["channel_values"])
        for k, history in histories.items():
            ch = _replay(graph.channels[k], history)
            if ch.value is not MISSING:
                values[k] = ch.value
        checkpoint = {**checkpoint, "channel_values": values}
    return _native.State(spec.graph, checkpoint, next_version)


def load_state(
    graph: Any,
    spec: GraphSpec,
    checkpoint: Mapping[str, Any],
    *,
    saver: Any,
    config: Any,
    next_version: Any = None,
) -> _native.State:
    """``channels_from_checkpoint`` onto the native state (one history call to the saver)."""
    targets = replay_targets(spec, checkpoint, saver, config)
    histories = (
        saver.get_delta_channel_history(config=config, channels=targets) if targets else None
    )
    return state_from(graph, spec, checkpoint, histories, next_version)


async def aload_state(
    graph: Any,
    spec: GraphSpec,
    checkpoint: Mapping[str, Any],
    *,
    saver: Any,
    config: Any,
    next_version: Any = None,
) -> _native.State:
    """``achannels_from_checkpoint`` onto the native state."""
    targets = replay_targets(spec, checkpoint, saver, config)
    histories = (
        await saver.aget_delta_channel_history(config=config, channels=targets)
        if targets
        else None
    )
    return state_from(graph, spec, checkpoint, histories, next_version)

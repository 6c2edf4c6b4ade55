"""Differential testing: run one scenario on stock LangGraph and on langgraph_rs.

Each engine gets a freshly built graph and checkpointer, the same checkpoint ids
(a deterministic ``uuid6``) and the same random stream (InMemorySaver's
versions), so outputs, stream chunks, checkpoints, task ids and errors can be
compared with ``==``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import itertools
import random
import sys
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import langgraph.pregel._checkpoint as lg_checkpoint
from langgraph.pregel import _loop, _runner
from langchain_core.runnables.config import var_child_runnable_config
from langgraph.channels.named_barrier_value import NamedBarrierValue, NamedBarrierValueAfterFinish
from langgraph.channels.topic import Topic
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import PregelTask, StateSnapshot

import langgraph_rs
import langgraph_rs._loop_checkpoint as rs_loop


def _namespace() -> str:
    """The checkpoint namespace of the run asking: a subgraph's loop runs in its
    parent task's config context, whose ``checkpoint_ns`` names the subgraph
    call; the root graph's has none."""
    config = var_child_runnable_config.get() or {}
    return config.get("configurable", {}).get("checkpoint_ns", "")


def _ids() -> Callable[..., uuid.UUID]:
    """Checkpoint ids counted per namespace: parallel subgraphs each save in a
    thread of their own, so one shared counter would number them in an order set
    by thread timing. The namespace's hash sits in the time field, so ids of one
    namespace still grow."""
    counters: dict[str, itertools.count] = {}

    def uuid6(node: Any = None, clock_seq: Any = None) -> uuid.UUID:
        ns = _namespace()
        counter = counters.setdefault(ns, itertools.count(1))
        tag = zlib.crc32(ns.encode()) & 0xFFFF
        return uuid.UUID(f"1f000000-{tag:04x}-6000-8000-{next(counter):012x}")

    return uuid6


def _versions() -> Callable[..., str]:
    """``get_next_version`` of the savers with a random part in their versions
    (InMemorySaver, SqliteSaver), that part drawn per namespace
    (seeded by the namespace), for the same reason as :func:`_ids`."""
    streams: dict[str, random.Random] = {}

    def get_next_version(self: Any, current: str | int | None, channel: None) -> str:
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(current.split(".")[0])
        ns = _namespace()
        rng = streams.setdefault(ns, random.Random(zlib.crc32(ns.encode())))
        return f"{current_v + 1:032}.{rng.random():016}"

    return get_next_version


_RANDOM_VERSIONS = (InMemorySaver, SqliteSaver)

# Channels whose ``checkpoint()`` hands out the live container (a barrier's set of
# seen names, an accumulating Topic's list). Stock LangGraph serializes a
# checkpoint on a background thread (durability "async") while the next step
# goes on mutating that container, so what it saves is a race; the runs compare
# copies instead (the Rust engine's checkpoints are snapshots already).
_LIVE_CHECKPOINTS = {
    NamedBarrierValue: lambda self: set(self.seen),
    NamedBarrierValueAfterFinish: lambda self: (set(self.seen), self.finished),
    Topic: lambda self: list(self.values),
}


@contextlib.contextmanager
def deterministic() -> Iterator[None]:
    real = lg_checkpoint.uuid6, rs_loop.checkpoint_id
    live = {cls: cls.checkpoint for cls in _LIVE_CHECKPOINTS}
    versions = {cls: cls.get_next_version for cls in _RANDOM_VERSIONS}
    ids = lg_checkpoint.uuid6 = _ids()
    rs_loop.checkpoint_id = lambda step: str(ids(clock_seq=step))
    next_version = _versions()
    for cls in _RANDOM_VERSIONS:
        cls.get_next_version = next_version  # type: ignore[method-assign]
    for cls, snapshot in _LIVE_CHECKPOINTS.items():
        cls.checkpoint = snapshot  # type: ignore[method-assign]
    state = random.getstate()
    random.seed(1234)
    try:
        yield
    finally:
        lg_checkpoint.uuid6, rs_loop.checkpoint_id = real
        for cls, method in versions.items():
            cls.get_next_version = method  # type: ignore[method-assign]
        for cls, method in live.items():
            cls.checkpoint = method  # type: ignore[method-assign]
        random.setstate(state)


def _refuse(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("LangGraph's own Pregel loop ran on the langgraph_rs engine")


@contextlib.contextmanager
def engine(name: str) -> Iterator[None]:
    """``"stock"``: LangGraph's executor. ``"rs"``: langgraph_rs, strictly — LangGraph's
    loop and runner raise if anything constructs them, its planner and
    checkpoint builder if anything calls them (``no_langgraph_planner``)."""
    if name == "stock":
        langgraph_rs.uninstall()
        yield
        return
    saved = (
        _loop.SyncPregelLoop.__init__,
        _loop.AsyncPregelLoop.__init__,
        _runner.PregelRunner.__init__,
    )
    _loop.SyncPregelLoop.__init__ = _refuse  # type: ignore[method-assign]
    _loop.AsyncPregelLoop.__init__ = _refuse  # type: ignore[method-assign]
    _runner.PregelRunner.__init__ = _refuse  # type: ignore[method-assign]
    langgraph_rs.install()
    try:
        with no_langgraph_planner():
            yield
    finally:
        langgraph_rs.uninstall()
        (
            _loop.SyncPregelLoop.__init__,
            _loop.AsyncPregelLoop.__init__,
            _runner.PregelRunner.__init__,
        ) = saved


#: LangGraph's planner and checkpoint builder: on our engine none of them may
#: run, in a run or in the state APIs (graph drawing aside: ``_draw`` keeps its
#: own references, as it walks the graph with them)
PLANNER = {
    "langgraph.pregel._algo": (
        "prepare_next_tasks",
        "prepare_single_task",
        "apply_writes",
        "local_read",
    ),
    "langgraph.pregel._checkpoint": (
        "channels_from_checkpoint",
        "achannels_from_checkpoint",
        "create_checkpoint",
    ),
}
_DRAWING = "langgraph.pregel._draw"
#: the planner functions that ran on our engine (each also raised)
planner_calls: list[str] = []


def _drawing() -> bool:
    """Whether graph drawing (``get_graph``) is on the stack."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_globals.get("__name__") == _DRAWING:
            return True
        frame = frame.f_back
    return False


def _refusing(orig: Any, name: str) -> Any:
    @functools.wraps(orig)
    def refuse(*args: Any, **kwargs: Any) -> Any:
        if _drawing():  # (its prepare_next_tasks calls _algo's prepare_single_task)
            return orig(*args, **kwargs)
        planner_calls.append(name)
        raise AssertionError(f"LangGraph's planner ({name}) ran on the langgraph_rs engine")

    return refuse


@contextlib.contextmanager
def no_langgraph_planner() -> Iterator[None]:
    """LangGraph's planner and checkpoint builder raise (and are recorded in
    ``planner_calls``) wherever LangGraph's modules imported them."""
    restore: list[tuple[Any, str, Any]] = []
    for modname, names in PLANNER.items():
        mod = importlib.import_module(modname)
        for name in names:
            orig = getattr(mod, name)
            refuse = _refusing(orig, f"{modname}.{name}")
            for m in list(sys.modules.values()):
                modname_m = getattr(m, "__name__", "") or ""
                if (
                    modname_m.startswith("langgraph.")
                    and modname_m != _DRAWING
                    and getattr(m, name, None) is orig
                ):
                    restore.append((m, name, orig))
                    setattr(m, name, refuse)
    try:
        yield
    finally:
        for m, name, orig in reversed(restore):
            setattr(m, name, orig)


@dataclass
class Outcome:
    """What one engine produced for a scenario."""

    value: Any = None
    error: tuple[type, str] | None = None
    history: list[Any] = field(default_factory=list)

    def __repr__(self) -> str:  # shows up in assertion diffs
        return f"Outcome(value={self.value!r}, error={self.error!r}, history={len(self.history)} checkpoints)"


def checkpoint_row(t: Any) -> tuple:
    """One saved checkpoint tuple as comparable data."""
    cp = t.checkpoint
    return (
        t.config["configurable"].get("thread_id"),
        t.config["configurable"].get("checkpoint_ns", ""),
        t.config["configurable"]["checkpoint_id"],
        t.metadata,
        cp["channel_values"],
        cp["channel_versions"],
        cp["versions_seen"],
        cp.get("updated_channels"),
        sorted(((tid, ch, repr(v)) for tid, ch, v in t.pending_writes or ())),
        (t.parent_config or {}).get("configurable", {}).get("checkpoint_id"),
    )


def _where(config: dict | None) -> dict | None:
    if config is None:
        return None
    return {"configurable": {"thread_id": config["configurable"]["thread_id"]}}


def history(saver: Any, config: dict | None) -> list[Any]:
    """Every checkpoint of a thread (all namespaces; every thread when ``config``
    is None), as comparable data."""
    if saver is None:
        return []
    return [checkpoint_row(t) for t in saver.list(_where(config))]


async def ahistory(saver: Any, config: dict | None) -> list[Any]:
    """``history`` through the saver's async API (for async-only savers)."""
    if saver is None:
        return []
    return [checkpoint_row(t) async for t in saver.alist(_where(config))]


def normalize(value: Any) -> Any:
    """Drop what is wall-clock time (snapshot ``created_at``, debug timestamps);
    a checkpointer (a subgraph task's state config carries the run's) compares
    by its type, each engine having its own."""
    if isinstance(value, BaseCheckpointSaver):
        return ("checkpointer", type(value).__qualname__)
    if isinstance(value, StateSnapshot):
        return value._replace(
            created_at=None,
            values=normalize(value.values),
            config=normalize(value.config),
            parent_config=normalize(value.parent_config),
            tasks=tuple(normalize(t) for t in value.tasks),
        )
    if isinstance(value, PregelTask):
        return value._replace(state=normalize(value.state))
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items() if k not in ("timestamp", "created_at", "ts")}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(normalize(v) for v in value)
    return value


def _run(name: str, build: Callable[[], tuple[Any, Any]], scenario: Callable[[Any], Any], config: dict) -> Outcome:
    with deterministic(), engine(name):
        graph, saver = build()
        outcome = Outcome()
        try:
            value = scenario(graph)
            if asyncio.iscoroutine(value):
                value = asyncio.run(value)
            outcome.value = normalize(value)
        except Exception as exc:  # noqa: BLE001  (compared, not swallowed)
            outcome.error = (type(exc), str(exc))
        outcome.history = history(saver, config)
        return outcome


def run_both(
    build: Callable[[], tuple[Any, Any]],
    scenario: Callable[[Any], Any],
    config: dict | None = None,
) -> tuple[Outcome, Outcome]:
    """Run ``scenario(graph)`` on both engines; ``build()`` returns (graph, saver)."""
    config = config or {"configurable": {"thread_id": "1"}}
    return _run("stock", build, scenario, config), _run("rs", build, scenario, config)


def assert_same(
    build: Callable[[], tuple[Any, Any]],
    scenario: Callable[[Any], Any],
    config: dict | None = None,
) -> Outcome:
    planner_calls.clear()
    stock, rs = run_both(build, scenario, config)
    assert planner_calls == []
    assert rs.error == stock.error
    assert rs.value == stock.value
    assert rs.history == stock.history
    return rs

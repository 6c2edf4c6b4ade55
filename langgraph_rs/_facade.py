"""install()/uninstall()/compile(): how graphs get onto the Rust engine."""

from __future__ import annotations

import threading
import warnings
from typing import Any

from langgraph.pregel import Pregel

from langgraph_rs._errors import UnsupportedFeatureError


_lock = threading.Lock()
_installed: dict[str, Any] | None = None
_FALLBACK_NAMES = (None, "langgraph")
_rust_classes: dict[type, type] = {}


def _engine_methods() -> dict[str, Any]:
    """The ``Pregel`` methods the engine replaces: running a graph, and the
    state APIs' planning and writes (``get_state``/``get_state_history`` build
    their snapshots through ``_prepare_state_snapshot``, ``update_state`` calls
    ``bulk_update_state``)."""
    from langgraph_rs import (
        _engine,
        _engine_async,
        _state_snapshot,
        _state_update,
        _state_update_async,
    )

    return {
        "stream": _engine.stream,
        "astream": _engine_async.astream,
        "invoke": _engine.invoke,
        "ainvoke": _engine_async.ainvoke,
        "_prepare_state_snapshot": _state_snapshot.prepare_state_snapshot,
        "_aprepare_state_snapshot": _state_snapshot.aprepare_state_snapshot,
        "bulk_update_state": _state_update.bulk_update_state,
        "abulk_update_state": _state_update_async.abulk_update_state,
    }


def _check_fallback(fallback: str | None) -> None:
    if fallback not in _FALLBACK_NAMES:
        raise ValueError(
            f"fallback must be None or 'langgraph', got {fallback!r}"
        )


def install(*, fallback: str | None = None) -> None:
    """Run every LangGraph graph of this process on the Rust engine.

    Reaches graphs built by ``StateGraph.compile()``, the functional API and raw
    ``Pregel``, including subgraphs, whenever they were built. ``fallback="langgraph"``
    runs graphs using a feature the engine lacks on LangGraph's executor, with a
    warning; without it such graphs raise ``UnsupportedFeatureError``.
    """
    global _installed
    _check_fallback(fallback)
    from langgraph_rs import _engine

    methods = _engine_methods()
    with _lock:
        if _installed is None:
            _installed = {name: getattr(Pregel, name) for name in methods}
        _engine.set_stock_methods(_installed)
        _engine.set_global_fallback(fallback)
        for name, method in methods.items():
            setattr(Pregel, name, method)


def uninstall() -> None:
    """Undo ``install()``: graphs run on LangGraph's own executor again."""
    global _installed
    from langgraph_rs import _engine

    with _lock:
        if _installed is not None:
            for name, method in _installed.items():
                setattr(Pregel, name, method)
            _installed = None
        _engine.set_stock_methods(None)
        _engine.set_global_fallback(None)


def is_installed() -> bool:
    """Whether ``install()`` is in effect."""
    return _installed is not None


def _rust_class(cls: type) -> type:
    methods = _engine_methods()
    with _lock:
        sub = _rust_classes.get(cls)
        if sub is None:
            sub = type(
                cls.__name__,
                (cls,),
                {**methods, "__module__": cls.__module__, "__qualname__": cls.__qualname__},
            )
            _rust_classes[cls] = sub
        return sub


def compile(builder: Any, *, fallback: str | None = None, **kwargs: Any) -> Pregel:
    """``builder.compile(**kwargs)`` running on the Rust engine.

    Takes the same keyword arguments as ``StateGraph.compile`` (checkpointer,
    cache, store, interrupt_before, interrupt_after, debug, name, ...). A compiled
    ``Pregel`` may be passed instead of a builder. The result is still an instance
    of the class LangGraph returns (``isinstance`` checks keep working).
    """
    _check_fallback(fallback)
    if isinstance(builder, Pregel):
        if kwargs:
            raise TypeError(
                "compile() got keyword arguments for an already compiled graph"
            )
        graph = builder.copy()
    else:
        graph = builder.compile(**kwargs)
    graph.__class__ = _rust_class(type(graph))
    if fallback is not None:
        warnings.warn(
            "langgraph_rs.compile(fallback='langgraph'): graphs using features the "
            "Rust engine lacks will run on LangGraph's executor",
            stacklevel=2,
        )
        graph._langgraph_rs_fallback = fallback  # type: ignore[attr-defined]
    return graph

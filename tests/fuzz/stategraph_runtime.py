"""Helpers the generated StateGraph programs call while they run (kept small:
a reproducer should read as plain LangGraph code)."""

from __future__ import annotations

from typing import Any

from langgraph.types import Command, GraphOutput, PregelTask, StateSnapshot


def clean(value: Any) -> Any:
    """What a program records: exceptions as (type, message), since exception
    objects compare by identity; everything else as it is."""
    if isinstance(value, BaseException):
        return ("exception", type(value).__qualname__, str(value))
    if isinstance(value, StateSnapshot):
        return value._replace(
            values=clean(value.values), tasks=tuple(clean(t) for t in value.tasks), interrupts=clean(value.interrupts)
        )
    if isinstance(value, PregelTask):
        return value._replace(error=clean(value.error), state=clean(value.state), result=clean(value.result))
    if isinstance(value, GraphOutput):
        return ("GraphOutput", clean(value.value), clean(value.interrupts))
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(clean(v) for v in value)
    return value


def failure(exc: BaseException) -> tuple:
    return ("raised", type(exc).__qualname__, str(exc))


def config(thread: str, limit: int | None, concurrency: int | None, base: dict | None = None) -> dict:
    cfg: dict[str, Any] = dict(base) if base else {"configurable": {"thread_id": thread}}
    if limit is not None:
        cfg["recursion_limit"] = limit
    if concurrency is not None:
        cfg["max_concurrency"] = concurrency
    return cfg


def _answer(pending: tuple) -> Command | None:
    if not pending:
        return None
    if len(pending) == 1:
        return Command(resume="yes")
    return Command(resume={i.id: f"yes:{i.value}" for i in pending})


def resume_input(graph: Any, cfg: dict) -> Command | None:
    """Answer every pending interrupt (None input when there is none)."""
    return _answer(graph.get_state(cfg).interrupts)


async def aresume_input(graph: Any, cfg: dict) -> Command | None:
    return _answer((await graph.aget_state(cfg)).interrupts)


def past(history: list, back: int) -> Any:
    """The ``back``-th newest checkpoint of a history (the oldest if it is shorter)."""
    if not history:
        raise LookupError("empty history")
    return history[min(back, len(history) - 1)]

"""Helpers for the hostile-input tests: record what a run streamed before it
failed, and how it failed, as comparable data (so a scenario can go on using
the graph after an error, and both engines' records are compared whole)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from tests.diff import Outcome, normalize, run_both


def failure(exc: BaseException) -> tuple[str, type, str]:
    return ("raised", type(exc), str(exc))


def plain(value: Any) -> Any:
    """``normalize``, with exceptions (which compare by identity) as their type and
    message, which is what a user observes of them."""
    value = normalize(value)
    if isinstance(value, BaseException):
        return ("exception", type(value), str(value))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        items = [plain(v) for v in value]
        return value._make(items) if hasattr(value, "_fields") else tuple(items)
    return value


def attempt(fn: Callable[[], Any]) -> Any:
    """``fn()``'s result, or how it failed (KeyboardInterrupt included)."""
    try:
        return ("ok", plain(fn()))
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001  (compared, not swallowed)
        return failure(exc)


async def aattempt(coro: Any) -> Any:
    try:
        return ("ok", plain(await coro))
    except (Exception, asyncio.CancelledError) as exc:  # noqa: BLE001
        return failure(exc)


def chunks(stream: Callable[[], Iterable[Any]]) -> list[Any]:
    """Every chunk ``stream()`` yields, then how it ended."""
    out: list[Any] = []
    try:
        for chunk in stream():
            out.append(plain(chunk))
    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001
        out.append(failure(exc))
    else:
        out.append("end")
    return out


async def achunks(stream: Callable[[], AsyncIterator[Any]]) -> list[Any]:
    out: list[Any] = []
    try:
        async for chunk in stream():
            out.append(plain(chunk))
    except Exception as exc:  # noqa: BLE001
        out.append(failure(exc))
    else:
        out.append("end")
    return out


def _first_difference(a: Any, b: Any, path: str = "") -> str | None:
    if type(a) is type(b) and isinstance(a, (list, tuple)) and not hasattr(a, "_fields"):
        for i, (x, y) in enumerate(zip(a, b)):
            if (where := _first_difference(x, y, f"{path}[{i}]")) is not None:
                return where
        if len(a) != len(b):
            return f"{path}: lengths {len(a)} vs {len(b)}; tails {a[len(b):]!r} vs {b[len(a):]!r}"
        return None
    return None if a == b else f"{path}:\n  stock {a!r}\n  rs    {b!r}"


def same(build: Callable[[], tuple[Any, Any]], scenario: Callable[[Any], Any], config: dict | None = None) -> Outcome:
    """``assert_same``, saying where the two engines first differ."""
    stock, rs = run_both(build, scenario, config)
    for what in ("error", "value", "history"):
        where = _first_difference(getattr(stock, what), getattr(rs, what))
        assert where is None, f"{what} differs at {where}"
    return rs

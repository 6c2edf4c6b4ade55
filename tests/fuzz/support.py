"""Helpers the generated programs import (kept tiny: a reproducer stays readable).

``GAP`` spaces out tasks that run in the same superstep so that the order in
which they finish -- and so the order of stream chunks -- is the same on every
run and on both engines. ``LANGGRAPH_RS_FUZZ_GAP`` (seconds) widens it on a
loaded machine.
"""

from __future__ import annotations

import asyncio
import os
import time

GAP = float(os.environ.get("LANGGRAPH_RS_FUZZ_GAP", "0.01"))


def pause(units: int) -> None:
    if units:
        time.sleep(units * GAP)


async def apause(units: int) -> None:
    if units:
        await asyncio.sleep(units * GAP)


def half_pause() -> None:
    """What a task sleeps before it fails for good: half a unit, so a failure
    never ties with a sibling's finish and never lands before its siblings have
    started (when LangGraph's runner stops waiting for them depends on that)."""
    time.sleep(GAP / 2)


async def ahalf_pause() -> None:
    await asyncio.sleep(GAP / 2)


class Flaky(Exception):
    """What a generated node raises on the attempts it is told to fail."""


class Failures:
    """Counts the attempts of each (node, input): ``fail(name, x, k)`` raises
    :class:`Flaky` on the first ``k`` calls with those arguments. A program makes
    its own, so each engine's run starts from zero."""

    def __init__(self) -> None:
        self.seen: dict = {}

    def __call__(self, name: str, x: object, k: int) -> None:
        n = self.seen.get((name, x), 0)
        if n < k:
            self.seen[(name, x)] = n + 1
            raise Flaky(f"{name}({x}) attempt {n + 1}")

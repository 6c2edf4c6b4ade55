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

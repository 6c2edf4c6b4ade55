"""Tasks of one superstep are committed -- and their ``updates`` chunks streamed --
in the order they finish, as LangGraph's runner does, also when several finish
while the driver is busy (a map-reduce over ``Send`` once yielded its chunks in
a different order on every run)."""

from __future__ import annotations

import asyncio
import operator
import time
from typing import Annotated

import pytest
from langgraph.graph import START, StateGraph
from langgraph.types import Send
from typing_extensions import TypedDict

from tests.diff import engine

N = 5  # within the default thread pool (min(32, cores + 4) workers)
STAGGER = 0.03  # item i finishes (N - i) * STAGGER after the step starts


class State(TypedDict):
    item: int
    done: Annotated[list, operator.add]


def fan_out(state: State) -> list[Send]:
    return [Send("work", {"item": i, "done": []}) for i in range(N)]


def work(state: State) -> dict:
    time.sleep((N - state["item"]) * STAGGER)
    return {"done": [state["item"]]}


async def awork(state: State) -> dict:
    await asyncio.sleep((N - state["item"]) * STAGGER)
    return {"done": [state["item"]]}


def graph(node):
    g = StateGraph(State)
    g.add_node("work", node)
    g.add_conditional_edges(START, fan_out, ["work"])
    return g.compile()


def order_sync() -> list[int]:
    out = []
    for chunk in graph(work).stream({"item": -1, "done": []}, stream_mode="updates"):
        out.append(chunk["work"]["done"][0])
        if len(out) == 1:
            time.sleep(N * STAGGER + 0.1)  # the other tasks all finish meanwhile
    return out


async def order_async() -> list[int]:
    out = []
    async for chunk in graph(awork).astream({"item": -1, "done": []}, stream_mode="updates"):
        out.append(chunk["work"]["done"][0])
        if len(out) == 1:
            time.sleep(N * STAGGER + 0.1)  # blocks the event loop: all finish meanwhile
    return out


@pytest.mark.parametrize("name", ["stock", "rs"])
def test_updates_in_completion_order_sync(name: str) -> None:
    with engine(name):
        assert order_sync() == list(reversed(range(N)))


@pytest.mark.parametrize("name", ["stock", "rs"])
def test_updates_in_completion_order_async(name: str) -> None:
    with engine(name):
        assert asyncio.run(order_async()) == list(reversed(range(N)))

"""A node cache whose ``set`` fails mid-run, on both engines: LangGraph stores
cached writes in the background, so the run goes on and the error is raised at
exit (unless the run raises its own). What ran, what streamed, the checkpoints
and the cache hits afterwards must be LangGraph's."""

from __future__ import annotations

import operator
from typing import Annotated, Any

import pytest
from langgraph.cache.memory import InMemoryCache
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import CachePolicy
from typing_extensions import TypedDict

from tests.hostile import aattempt, achunks, attempt, chunks, same

CFG = {"configurable": {"thread_id": "1"}}
MODES = ["values", "updates"]


class State(TypedDict):
    n: int
    log: Annotated[list, operator.add]


class FlakyCache(InMemoryCache):
    """An InMemoryCache whose ``fail``-th ``set``/``aset`` raises ``OSError``, once."""

    def __init__(self, fail: int) -> None:
        super().__init__()
        self.fail, self.sets = fail, 0

    def _count(self) -> None:
        self.sets += 1
        if self.sets == self.fail:
            raise OSError(f"cache set #{self.fail}: full")

    def set(self, keys: Any) -> None:
        self._count()
        super().set(keys)

    async def aset(self, keys: Any) -> None:
        self._count()
        await super().aset(keys)


ran: list[str] = []


def chain(fail: int, node_error: bool) -> Any:
    def node(name: str) -> Any:
        def run(s: State) -> dict:
            ran.append(name)
            if name == "c" and node_error:
                raise ValueError("c failed")
            return {"n": s["n"] + 1, "log": [name]}

        return run

    def build() -> tuple[Any, Any]:
        g = StateGraph(State)
        for name in "abc":
            g.add_node(name, node(name), cache_policy=CachePolicy())
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", "c")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver, cache=FlakyCache(fail)), saver

    return build


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("node_error", [False, True], ids=["done", "node_error"])
@pytest.mark.parametrize("fail", [1, 2])
def test_cache_set_fails_mid_run(fail: int, node_error: bool, is_async: bool) -> None:
    inp = {"n": 0, "log": []}

    def scenario(g: Any) -> list:
        ran.clear()
        out = [chunks(lambda: g.stream(inp, CFG, stream_mode=MODES)), list(ran)]
        out += [attempt(lambda: g.invoke(inp, {"configurable": {"thread_id": "2"}})), list(ran)]
        return out + [g.cache.sets]

    async def ascenario(g: Any) -> list:
        ran.clear()
        out = [await achunks(lambda: g.astream(inp, CFG, stream_mode=MODES)), list(ran)]
        out += [await aattempt(g.ainvoke(inp, {"configurable": {"thread_id": "2"}})), list(ran)]
        return out + [g.cache.sets]

    out = same(chain(fail, node_error), ascenario if is_async else scenario)
    first = out.value[0]
    if node_error:
        assert first[-1] == ("raised", ValueError, "c failed")
    else:
        assert first[-1] == ("raised", OSError, f"cache set #{fail}: full")
    assert out.value[-1] >= fail  # the failing set really happened

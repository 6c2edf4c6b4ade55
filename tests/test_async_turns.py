"""An async run ends its callback run (``on_chain_end``) in the same turns of
the event loop as langchain-core's shielded call, which the engine skips when
no handler listens: runs beside it interleave the same way."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackHandler
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

import langgraph_rs
from langgraph_rs import _engine_async, _run_setup


class S(TypedDict):
    x: int


def _graph() -> Any:
    async def bump(s: S) -> dict:
        return {"x": s["x"] + 1}

    g = StateGraph(S)
    g.add_node("a", bump)
    g.add_node("b", bump)
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_edge("b", END)
    return langgraph_rs.compile(g)


async def _schedule(graph: Any, runs: int, config: Any = None) -> list:
    """What a ticker (one entry per turn of the loop) and concurrent runs log."""
    log: list = []
    done = [False]

    async def ticker() -> None:
        i = 0
        while not done[0]:
            log.append(i)
            i += 1
            await asyncio.sleep(0)

    async def one(k: int) -> None:
        log.append(("start", k))
        out = await graph.ainvoke({"x": k}, config)
        log.append(("end", k, out["x"]))

    t = asyncio.ensure_future(ticker())
    await asyncio.gather(*(one(k) for k in range(runs)))
    done[0] = True
    await t
    return log


def _plain(run_manager: Any, output: Any) -> Any:
    return run_manager.on_chain_end(output)


@pytest.mark.parametrize("runs", [1, 3])
def test_runs_end_in_the_turns_of_the_shielded_call(runs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    graph = _graph()
    ours = asyncio.run(_schedule(graph, runs))
    monkeypatch.setattr(_engine_async, "achain_end", _plain)
    shielded = asyncio.run(_schedule(graph, runs))
    assert ours == shielded
    assert [e for e in ours if isinstance(e, tuple) and e[0] == "end"] == [
        ("end", k, k + 2) for k in range(runs)
    ]


def test_a_handler_gets_on_chain_end() -> None:
    ended: list = []

    class Handler(AsyncCallbackHandler):
        async def on_chain_end(self, outputs: Any, *, parent_run_id: Any = None, **kw: Any) -> None:
            if parent_run_id is None:
                ended.append(outputs)

    out = asyncio.run(_graph().ainvoke({"x": 1}, {"callbacks": [Handler()]}))
    assert out == {"x": 3} and ended == [{"x": 3}]


def test_a_task_factory_gets_the_real_call() -> None:
    """Eager tasks (a task factory) finish an empty call without a turn: the
    real call is made then."""

    async def main() -> tuple[bool, bool]:
        loop = asyncio.get_running_loop()
        from langchain_core.callbacks.manager import AsyncCallbackManager

        rm = await AsyncCallbackManager(handlers=[]).on_chain_start(None, {})
        lean = _run_setup.achain_end(rm, 1)
        loop.set_task_factory(lambda lp, coro, **kw: asyncio.Task(coro, loop=lp, **kw))
        try:
            real = _run_setup.achain_end(rm, 1)
            is_coro = inspect.iscoroutine(real)
            await real
        finally:
            loop.set_task_factory(None)
        await lean
        return isinstance(lean, asyncio.Future), is_coro

    assert asyncio.run(main()) == (True, True)

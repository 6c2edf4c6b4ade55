"""Functional API, raw Pregel, messages streaming and checkpointers, on both engines."""

from __future__ import annotations

import operator
import sqlite3
from typing import Annotated, Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.channels import BinaryOperatorAggregate, EphemeralValue, LastValue, Topic
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.func import entrypoint, task
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.pregel import NodeBuilder, Pregel
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

from tests.diff import assert_same, deterministic, engine, history
from tests.fuzz.support import pause

CFG = {"configurable": {"thread_id": "1"}}


def functional_graph(saver: Any) -> Any:
    @task
    def double(x: int) -> int:
        # the calls run in parallel: spaced out, they finish (and stream) in a
        # fixed order on both engines
        pause(x)
        return x * 2

    @task
    def ask(x: int) -> str:
        return interrupt(f"approve {x}?")

    @entrypoint(checkpointer=saver)
    def workflow(n: int, *, previous: Any = None) -> Any:
        doubled = [f.result() for f in [double(i) for i in range(n)]]
        answer = ask(sum(doubled)).result()
        return entrypoint.final(value={"doubled": doubled, "answer": answer, "previous": previous}, save=len(doubled))

    return workflow


def test_functional_api_tasks_interrupt_final_previous() -> None:
    def build():
        saver = InMemorySaver()
        return functional_graph(saver), saver

    def scenario(g: Any) -> list:
        out = [list(g.stream(3, CFG, stream_mode=["updates", "values"]))]
        out.append(g.invoke(Command(resume="yes"), CFG))
        out.append(list(g.stream(2, CFG)))
        return out

    assert_same(build, scenario)


def test_functional_api_async() -> None:
    def build():
        saver = InMemorySaver()

        @task
        async def slow_add(a: int, b: int) -> int:
            return a + b

        @entrypoint(checkpointer=saver)
        async def flow(n: int) -> int:
            parts = await __import__("asyncio").gather(*[slow_add(i, i) for i in range(n)])
            return sum(parts)

        return flow, saver

    async def scenario(g: Any) -> list:
        return [c async for c in g.astream(4, CFG, stream_mode="updates")]

    assert_same(build, scenario)


def raw_pregel() -> Any:
    """Pregel built by hand from NodeBuilder, with Topic, EphemeralValue and
    BinaryOperatorAggregate channels."""
    one = NodeBuilder().subscribe_only("input").do(lambda x: x + 1).write_to("inbox", "total")
    two = NodeBuilder().subscribe_only("inbox").do(lambda xs: sum(xs)).write_to("output")
    return Pregel(
        nodes={"one": one, "two": two},
        channels={
            "input": EphemeralValue(int),
            "inbox": Topic(int),
            "total": BinaryOperatorAggregate(int, operator.add),
            "output": LastValue(int),
        },
        input_channels="input",
        output_channels=["output", "total"],
    )


def test_raw_pregel_channels() -> None:
    assert_same(lambda: (raw_pregel(), None), lambda g: [g.invoke(4), list(g.stream(1, stream_mode="updates"))])


def test_messages_stream_mode_with_fake_chat_model() -> None:
    def build():
        model = GenericFakeChatModel(messages=iter([AIMessage(content="hello there friend")]))

        def agent(s: MessagesState) -> dict:
            return {"messages": [model.invoke(s["messages"])]}

        g = StateGraph(MessagesState)
        g.add_node("agent", agent)
        g.add_edge(START, "agent")
        return g.compile(), None

    def scenario(g: Any) -> list:
        out = []
        for chunk, meta in g.stream({"messages": [("user", "hi")]}, stream_mode="messages"):
            out.append(
                (
                    chunk.content,
                    {k: meta[k] for k in ("langgraph_node", "langgraph_step", "langgraph_triggers", "langgraph_path")},
                    sorted(meta),
                )
            )
        return out

    out = assert_same(build, scenario)
    assert "".join(c for c, _, _ in out.value) == "hello there friend"


class S(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def resumable(saver: Any) -> Any:
    def first(s: S) -> dict:
        return {"n": s["n"] + 1, "log": ["first"]}

    def review(s: S) -> dict:
        return {"log": [interrupt(f"ok with {s['n']}?")]}

    g = StateGraph(S)
    g.add_node(first)
    g.add_node(review)
    g.add_edge(START, "first")
    g.add_edge("first", "review")
    return g.compile(checkpointer=saver)


def test_sqlite_saver() -> None:
    def build():
        saver = SqliteSaver(sqlite3.connect(":memory:", check_same_thread=False))
        return resumable(saver), saver

    assert_same(build, lambda g: [g.invoke({"n": 1, "log": []}, CFG), g.invoke(Command(resume="fine"), CFG)])


def test_async_sqlite_saver() -> None:
    async def scenario(_: Any) -> list:
        async with AsyncSqliteSaver.from_conn_string(":memory:") as saver:
            g = resumable(saver)
            out = [await g.ainvoke({"n": 1, "log": []}, CFG), await g.ainvoke(Command(resume="fine"), CFG)]
            out.append([(t.metadata, t.checkpoint["channel_values"]) async for t in saver.alist(CFG)])
            return out

    assert_same(lambda: (None, None), scenario)


@pytest.mark.parametrize("first,second", [("stock", "rs"), ("rs", "stock")])
def test_cross_resume(first: str, second: str) -> None:
    """A run interrupted on one engine resumes on the other with the same result
    and the same checkpoint history as a run on stock LangGraph alone."""

    def run(e1: str, e2: str) -> tuple:
        with deterministic():
            saver = InMemorySaver()
            g = resumable(saver)
            with engine(e1):
                a = g.invoke({"n": 1, "log": []}, CFG)
            with engine(e2):
                b = g.invoke(Command(resume="fine"), CFG)
            return a, b, history(saver, CFG)

    assert run(first, second) == run("stock", "stock")

"""Hostile inputs and options: wrong input types, ``None`` or a resume on a fresh
thread, a missing ``thread_id``, bad ``stream_mode`` / ``recursion_limit``,
``update_state`` naming no node, a consumer that stops reading a stream early.
Each is run on both engines; LangGraph's own outcome (error type and message,
or result) and the checkpoint history must come out the same."""

from __future__ import annotations

import operator
from typing import Annotated, Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.managed import RemainingSteps
from langgraph.types import Command, interrupt
from pydantic import BaseModel
from typing_extensions import TypedDict

import langgraph_rs
from tests.diff import engine
from tests.hostile import aattempt, achunks, attempt, chunks, same

CFG = {"configurable": {"thread_id": "1"}}
OTHER = {"configurable": {"thread_id": "other"}}


class State(TypedDict):
    n: int
    log: Annotated[list, operator.add]


class Model(BaseModel):
    n: int = 0


class Counted(TypedDict):
    n: int
    left: RemainingSteps


def chain(*, saver: bool = True, schema: Any = State, ask: bool = False) -> Any:
    """START -> one -> two (which interrupts when ``ask``)."""

    def one(s: Any) -> dict:
        return {"n": (s["n"] if isinstance(s, dict) else s.n) + 1, "log": ["one"]}

    def two(s: Any) -> dict:
        return {"log": [interrupt("go?") if ask else "two"]}

    def build():
        g = StateGraph(schema)
        g.add_node("one", one)
        g.add_node("two", two)
        g.add_edge(START, "one")
        g.add_edge("one", "two")
        cp = InMemorySaver() if saver else None
        return g.compile(checkpointer=cp), cp

    return build


INPUTS = {
    "string": "hello",
    "int": 3,
    "list": [1, 2],
    "list_of_pairs": [("n", 1)],
    "unknown_keys": {"nope": 1},
    "wrong_value_type": {"n": "x", "log": 5},
    "empty_dict": {},
    "model": Model(n=4),
    "command_update_only": Command(update={"n": 2}),
}


@pytest.mark.parametrize("kind", sorted(INPUTS))
def test_input_of_the_wrong_type(kind: str) -> None:
    same(
        chain(),
        lambda g: [
            chunks(lambda: g.stream(INPUTS[kind], CFG, stream_mode=["values", "updates", "checkpoints"])),
            attempt(lambda: g.get_state(CFG)),
            attempt(lambda: g.invoke({"n": 1, "log": []}, OTHER)),
        ],
    )


@pytest.mark.parametrize("kind", ["string", "unknown_keys", "model"])
def test_input_of_the_wrong_type_pydantic_state(kind: str) -> None:
    same(chain(schema=Model, saver=False), lambda g: [attempt(lambda: g.invoke(INPUTS[kind]))])


@pytest.mark.parametrize("kind", ["string", "empty_dict", "list"])
def test_input_of_the_wrong_type_async(kind: str) -> None:
    async def scenario(g: Any) -> list:
        return [
            await achunks(lambda: g.astream(INPUTS[kind], CFG, stream_mode=["values", "updates"])),
            await aattempt(g.ainvoke({"n": 1, "log": []}, OTHER)),
        ]

    same(chain(), scenario)


@pytest.mark.parametrize("saver", [True, False])
def test_none_input_on_a_fresh_thread(saver: bool) -> None:
    same(
        chain(saver=saver),
        lambda g: [
            chunks(lambda: g.stream(None, CFG, stream_mode=["values", "updates", "debug"])),
            attempt(lambda: g.invoke(None, CFG)),
            attempt(lambda: g.invoke({"n": 1, "log": []}, CFG)),
        ],
    )


@pytest.mark.parametrize(
    "config",
    [None, {}, {"configurable": {}}, {"configurable": {"checkpoint_ns": ""}}, {"configurable": {"thread_id": None}}],
)
def test_missing_thread_id_with_a_checkpointer(config: Any) -> None:
    same(
        chain(),
        lambda g: [
            attempt(lambda: g.invoke({"n": 1, "log": []}, config)),
            chunks(lambda: g.stream({"n": 1, "log": []}, config)),
            attempt(lambda: g.invoke({"n": 1, "log": []}, OTHER)),
        ],
    )


def test_missing_thread_id_async() -> None:
    async def scenario(g: Any) -> list:
        return [await aattempt(g.ainvoke({"n": 1, "log": []})), await achunks(lambda: g.astream({"n": 1, "log": []}))]

    same(chain(), scenario)


@pytest.mark.parametrize("ask", [True, False])
@pytest.mark.parametrize("saver", [True, False])
def test_resume_on_an_unknown_thread(ask: bool, saver: bool) -> None:
    same(
        chain(ask=ask, saver=saver),
        lambda g: [
            chunks(lambda: g.stream(Command(resume="yes"), CFG, stream_mode=["values", "updates", "checkpoints"])),
            attempt(lambda: g.invoke(Command(resume={"some-id": "yes"}), CFG)),
            attempt(lambda: g.invoke({"n": 1, "log": []}, CFG)),
            attempt(lambda: g.invoke(Command(resume="yes"), CFG)),
        ],
    )


def test_resume_on_an_unknown_thread_async() -> None:
    async def scenario(g: Any) -> list:
        return [
            await achunks(lambda: g.astream(Command(resume="yes"), CFG, stream_mode=["values", "updates"])),
            await aattempt(g.ainvoke({"n": 1, "log": []}, CFG)),
            await aattempt(g.ainvoke(Command(resume="ok"), CFG)),
        ]

    same(chain(ask=True), scenario)


BAD_MODES = ["nope", ["values", "nope"], 3, None, [], ["values", "values"], ("updates",)]


@pytest.mark.parametrize("mode", BAD_MODES, ids=repr)
def test_bad_stream_mode(mode: Any) -> None:
    same(
        chain(),
        lambda g: [
            chunks(lambda: g.stream({"n": 1, "log": []}, CFG, stream_mode=mode)),
            attempt(lambda: g.invoke({"n": 1, "log": []}, OTHER, stream_mode=mode)),
        ],
    )


@pytest.mark.parametrize("mode", ["nope", ["values", "nope"]], ids=repr)
def test_bad_stream_mode_async(mode: Any) -> None:
    async def scenario(g: Any) -> list:
        return [await achunks(lambda: g.astream({"n": 1, "log": []}, CFG, stream_mode=mode))]

    same(chain(), scenario)


@pytest.mark.parametrize("as_node", ["ghost", "__start__", "__end__", "", None, "one"])
def test_update_state_as_node(as_node: Any) -> None:
    same(
        chain(),
        lambda g: [
            attempt(lambda: g.invoke({"n": 1, "log": []}, CFG)),
            attempt(lambda: g.update_state(CFG, {"n": 9}, as_node=as_node)),
            attempt(lambda: g.get_state(CFG)),
            chunks(lambda: g.stream(None, CFG, stream_mode=["values", "updates"])),
        ],
    )


def test_update_state_as_unknown_node_on_a_fresh_thread() -> None:
    same(
        chain(),
        lambda g: [
            attempt(lambda: g.update_state(CFG, {"n": 9}, as_node="ghost")),
            attempt(lambda: g.update_state(CFG, {"n": 9})),
            chunks(lambda: g.stream(None, CFG, stream_mode=["values", "updates"])),
        ],
    )


@pytest.mark.parametrize("limit", [0, -1, 1, 2, "3", "x", 2.5, None, True])
def test_invalid_recursion_limit(limit: Any) -> None:
    cfg = {**CFG, "recursion_limit": limit}
    same(
        chain(),
        lambda g: [
            chunks(lambda: g.stream({"n": 1, "log": []}, cfg, stream_mode=["values", "updates", "checkpoints"])),
            attempt(lambda: g.invoke({"n": 1, "log": []}, {**OTHER, "recursion_limit": limit})),
        ],
    )


@pytest.mark.parametrize("limit", [0, -1, "x"])
def test_invalid_recursion_limit_async(limit: Any) -> None:
    async def scenario(g: Any) -> list:
        return [await achunks(lambda: g.astream({"n": 1, "log": []}, {**CFG, "recursion_limit": limit}))]

    same(chain(), scenario)


def first_chunks(stream: Any, n: int) -> list:
    out = []
    for chunk in stream:
        out.append(chunk)
        if len(out) == n:
            break
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_consumer_stops_reading_early(n: int) -> None:
    """Closing a stream after ``n`` chunks runs no further node and leaves the
    thread where LangGraph leaves it; the thread then resumes."""
    ran: list[str] = []

    def build():
        g = StateGraph(State)
        for name in ("a", "b", "c"):
            g.add_node(name, lambda s, name=name: ran.append(name) or {"log": [name]})
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", "c")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    def scenario(g: Any) -> list:
        ran.clear()
        out = [first_chunks(g.stream({"n": 0, "log": []}, CFG, stream_mode=["values", "updates"]), n), list(ran)]
        out.append(attempt(lambda: g.get_state(CFG)))
        out.append(attempt(lambda: g.invoke(None, CFG)))
        return out + [list(ran)]

    same(build, scenario)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_consumer_stops_reading_early_async(n: int) -> None:
    ran: list[str] = []

    def build():
        g = StateGraph(State)
        for name in ("a", "b"):

            async def node(s: State, name: str = name) -> dict:
                ran.append(name)
                return {"log": [name]}

            g.add_node(name, node)
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    async def scenario(g: Any) -> list:
        ran.clear()
        out = []
        stream = g.astream({"n": 0, "log": []}, CFG, stream_mode=["values", "updates"])
        async for chunk in stream:
            out.append(chunk)
            if len(out) == n:
                break
        await stream.aclose()
        return [out, list(ran), await aattempt(g.aget_state(CFG)), await aattempt(g.ainvoke(None, CFG)), list(ran)]

    same(build, scenario)


def test_float_recursion_limit_with_managed_values_is_refused() -> None:
    """LangGraph hands such a graph a float ``RemainingSteps`` (3.5 - step); the
    engine, which counts steps in integers, refuses it by name instead of
    handing over an int."""
    g = StateGraph(Counted)
    g.add_node("one", lambda s: {"n": s["left"]})
    g.add_edge(START, "one")
    with engine("stock"):
        assert g.compile().invoke({"n": 0}, {"recursion_limit": 2.5}) == {"n": 1.5}
        expected = g.compile().invoke({"n": 0}, {"recursion_limit": 3})
    with engine("rs"):
        app = g.compile()
        assert app.invoke({"n": 0}, {"recursion_limit": 3}) == expected
        with pytest.raises(langgraph_rs.UnsupportedFeatureError, match="recursion_limit"):
            app.invoke({"n": 0}, {"recursion_limit": 2.5})

"""``invoke``/``ainvoke`` return the run's last "values" chunk, which the engine
makes once, at the end, when nothing else reads the chunks and the output
channels change only when written. These runs check that what they return is
stock LangGraph's where the last chunk is not the last step's, where an
interrupt's chunk comes after it, where an output channel is cleared without a
write, and where a parent streams the subgraph's chunks; and that a caller
streaming ["updates", "values"] itself gets every chunk back."""

from __future__ import annotations

import operator
from typing import Annotated, Any

import pytest
from langgraph.channels.ephemeral_value import EphemeralValue
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

from tests.diff import assert_same

CFG = {"configurable": {"thread_id": "1"}}


class S(TypedDict):
    n: int
    log: Annotated[list, operator.add]


def _call(g: Any, inp: Any, asynch: bool, **kw: Any) -> Any:
    return g.ainvoke(inp, CFG, **kw) if asynch else g.invoke(inp, CFG, **kw)


def _saved(g: Any) -> tuple[Any, InMemorySaver]:
    saver = InMemorySaver()
    return g.compile(checkpointer=saver), saver


@pytest.mark.parametrize("asynch", [False, True])
def test_last_step_writes_no_output_and_mutates_in_place(asynch: bool) -> None:
    """The last chunk is the second step's; the last node changes its list in
    place, which that chunk shows as well. (No saver: stock LangGraph saves in
    the background, so whether a checkpoint shows the change is timing.)"""

    def build():
        g = StateGraph(S)
        g.add_node("a", lambda s: {"n": s["n"] + 1, "log": ["a"]})
        g.add_node("b", lambda s: s["log"].append("b (in place)") or {})
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", END)
        return g.compile(), None

    out = assert_same(build, lambda g: _call(g, {"n": 1, "log": []}, asynch))
    assert out.value == {"n": 2, "log": ["a", "b (in place)"]}


@pytest.mark.parametrize("asynch", [False, True])
def test_interrupt_after_a_sibling_wrote(asynch: bool) -> None:
    """One task writes, its sibling interrupts: the interrupt's chunk (the
    state with ``__interrupt__``) comes after the step's; then a resume."""

    def build():
        def ask(s: S) -> dict:
            return {"log": [f"answer {interrupt('which?')}"]}

        g = StateGraph(S)
        g.add_node("write", lambda s: {"n": s["n"] + 10, "log": ["write"]})
        g.add_node("ask", ask)
        g.add_edge(START, "write")
        g.add_edge(START, "ask")
        return _saved(g)

    async def both_async(g: Any) -> list:
        return [await _call(g, {"n": 0, "log": []}, True), await _call(g, Command(resume="x"), True)]

    def both(g: Any) -> Any:
        if asynch:
            return both_async(g)
        return [_call(g, {"n": 0, "log": []}, False), _call(g, Command(resume="x"), False)]

    out = assert_same(build, both)
    assert "__interrupt__" in out.value[0]
    assert out.value[1]["log"] == ["answer x", "write"]  # (in task order)


@pytest.mark.parametrize("asynch", [False, True])
def test_output_channel_cleared_without_a_write(asynch: bool) -> None:
    """An ephemeral output key is cleared by the step after its write, a step
    that writes no output key: the run returns the chunk made when it was
    written, which still shows it."""

    class E(TypedDict):
        n: int
        flash: Annotated[int, EphemeralValue(int)]

    def build():
        g = StateGraph(E)
        g.add_node("a", lambda s: {"n": s["n"] + 1, "flash": 7})
        g.add_node("b", lambda s: {})
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", END)
        return _saved(g)

    assert assert_same(build, lambda g: _call(g, {"n": 0}, asynch)).value == {"n": 1, "flash": 7}


@pytest.mark.parametrize("asynch", [False, True])
def test_one_output_key(asynch: bool) -> None:
    def build():
        g = StateGraph(S)
        g.add_node("a", lambda s: {"n": s["n"] + 1})
        g.add_node("b", lambda s: {"log": ["b"]})
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        return _saved(g)

    out = assert_same(build, lambda g: _call(g, {"n": 1, "log": []}, asynch, output_keys="n"))
    assert out.value == 2


@pytest.mark.parametrize("asynch", [False, True])
@pytest.mark.parametrize(
    ("stream_mode", "version"),
    [(["updates", "values"], "v1"), (["values", "updates"], "v1"), (["updates", "values"], "v2")],
)
def test_a_callers_updates_and_values_are_all_returned(
    asynch: bool, stream_mode: list, version: str
) -> None:
    """Found by the fuzzer (seed 77): invoke streams ["updates", "values"] for a
    plain "values" call only to find interrupts, and keeps the last chunk; a
    caller asking for that list itself gets every chunk of both modes."""

    def build():
        g = StateGraph(S)
        g.add_node("a", lambda s: {"n": s["n"] + 1, "log": ["a"]})
        g.add_node("b", lambda s: {"log": ["b"]})
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        return _saved(g)

    out = assert_same(
        build,
        lambda g: _call(g, {"n": 1, "log": []}, asynch, stream_mode=stream_mode, version=version),
    )
    assert len(out.value) == 5  # the input's values, then each node's updates and values


def test_no_output_written() -> None:
    """A run whose input and nodes write no output key: LangGraph's invoke
    returns None (no "values" chunk was made)."""

    class In(TypedDict):
        q: str

    class Out(TypedDict):
        answer: str

    class All(In, Out):
        pass

    def build():
        g = StateGraph(All, input_schema=In, output_schema=Out)
        g.add_node("a", lambda s: {"q": s["q"] + "?"})
        g.add_edge(START, "a")
        return _saved(g)

    assert_same(build, lambda g: _call(g, {"q": "x"}, False))


def test_parent_streams_the_subgraph_values() -> None:
    """A subgraph invoked in a node while its parent streams subgraphs: its
    "values" chunks go to the parent's stream as they are made."""

    def build():
        sub = StateGraph(S)
        sub.add_node("x", lambda s: {"n": s["n"] + 1, "log": ["x"]})
        sub.add_node("y", lambda s: {"log": ["y"]})
        sub.add_edge(START, "x")
        sub.add_edge("x", "y")
        inner = sub.compile()

        g = StateGraph(S)
        g.add_node("call", lambda s: {"n": inner.invoke(s)["n"] * 10})
        g.add_edge(START, "call")
        return _saved(g)

    assert_same(
        build, lambda g: list(g.stream({"n": 1, "log": []}, CFG, stream_mode="values", subgraphs=True))
    )

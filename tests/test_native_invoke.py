"""``Pregel.invoke`` on the engine (chunks collected natively, no stream
generator between) and the native superstep loop, against stock LangGraph."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.pregel import Pregel
from langgraph.types import Command, RetryPolicy, Send, interrupt
from typing_extensions import TypedDict

import langgraph_rs
from langgraph_rs import _native
from tests.diff import assert_same, engine
from tests.fuzz.support import pause

CFG = {"configurable": {"thread_id": "1"}}


class S(TypedDict):
    x: int
    log: Annotated[list, operator.add]


def _chain(saver: Any = None, *, ask: bool = False, fail: bool = False) -> Any:
    def a(s: S) -> dict:
        return {"x": s["x"] + 1, "log": ["a"]}

    def b(s: S) -> dict:
        if ask:
            answer = interrupt({"x": s["x"]})
            return {"x": s["x"] + answer, "log": ["b"]}
        if fail:
            raise ValueError(f"b failed at {s['x']}")
        return {"x": s["x"] * 2, "log": ["b"]}

    def fan(s: S) -> list:
        return [Send("c", {"x": i, "log": []}) for i in range(3)]

    def c(s: S) -> dict:
        pause(s["x"])  # the parallel sends finish (and stream) in a fixed order
        return {"log": [f"c{s['x']}"]}

    g = StateGraph(S)
    g.add_node("a", a)
    g.add_node("b", b)
    g.add_node("c", c)
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_conditional_edges("b", fan, ["c"])
    return g.compile(checkpointer=saver)


def _build(**kw: Any) -> Any:
    def build() -> tuple[Any, Any]:
        saver = InMemorySaver()
        return _chain(saver, **kw), saver

    return build


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize(
    "stream_mode", ["values", "updates", ["values", "updates"], "debug", "checkpoints"]
)
def test_invoke_modes(version: str, stream_mode: Any) -> None:
    assert_same(
        _build(),
        lambda g: g.invoke({"x": 1, "log": []}, CFG, stream_mode=stream_mode, version=version),
        CFG,
    )


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_invoke_interrupt_and_resume(version: str) -> None:
    def scenario(g: Any) -> Any:
        first = g.invoke({"x": 1, "log": []}, CFG, version=version)
        second = g.invoke(Command(resume=10), CFG, version=version)
        return first, second

    assert_same(_build(ask=True), scenario, CFG)


def test_invoke_error_keeps_checkpoints() -> None:
    out = assert_same(_build(fail=True), lambda g: g.invoke({"x": 1, "log": []}, CFG), CFG)
    assert out.error == (ValueError, "b failed at 2")
    assert out.history  # what ran before the failure stays saved


def test_invoke_output_keys_and_subgraphs_kwarg() -> None:
    assert_same(
        _build(),
        lambda g: (
            g.invoke({"x": 1, "log": []}, CFG, output_keys="x"),
            g.invoke({"x": 2, "log": []}, {"configurable": {"thread_id": "2"}}, subgraphs=True),
        ),
        CFG,
    )


def test_invoke_without_checkpointer_and_recursion_limit() -> None:
    def build() -> tuple[Any, Any]:
        return _chain(), None

    assert_same(build, lambda g: g.invoke({"x": 1, "log": []}), CFG)
    assert_same(build, lambda g: g.invoke({"x": 1, "log": []}, {"recursion_limit": 2}), CFG)


def test_retry_in_the_native_step() -> None:
    calls: list[int] = []

    def build() -> tuple[Any, Any]:
        calls.clear()

        def flaky(s: S) -> dict:
            calls.append(s["x"])
            if len(calls) < 3:
                raise ConnectionError("flaky")
            return {"x": s["x"] + 1, "log": ["flaky"]}

        g = StateGraph(S)
        g.add_node("flaky", flaky, retry_policy=RetryPolicy(initial_interval=0, jitter=False))
        g.add_edge(START, "flaky")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    out = assert_same(build, lambda g: g.invoke({"x": 1, "log": []}, CFG), CFG)
    assert out.value == {"x": 2, "log": ["flaky"]}


def test_stream_stops_where_the_consumer_stops() -> None:
    """A consumer that stops after the first task's update: the step's writes are
    not applied, as on LangGraph (its runner hands out chunks before applying)."""

    def scenario(g: Any) -> Any:
        chunks = []
        for chunk in g.stream({"x": 1, "log": []}, CFG, stream_mode="updates"):
            chunks.append(chunk)
            break
        return chunks, g.get_state(CFG).values

    assert_same(_build(), scenario, CFG)


def test_invoke_is_swapped_and_restored() -> None:
    stock, astock = Pregel.invoke, Pregel.ainvoke
    with engine("rs"):
        assert Pregel.invoke is not stock
        assert Pregel.ainvoke is not astock
    assert Pregel.invoke is stock
    assert Pregel.ainvoke is astock


def test_a_subclass_with_its_own_astream_is_used_by_ainvoke() -> None:
    seen: list[Any] = []
    graph = _chain()

    class Mine(type(graph)):  # type: ignore[misc]
        async def astream(self, *args: Any, **kwargs: Any) -> Any:
            seen.append(sorted(kwargs))
            yield ("values", {"x": 42, "log": []})

    graph.__class__ = Mine
    with engine("rs"):
        assert asyncio.run(graph.ainvoke({"x": 1, "log": []})) == {"x": 42, "log": []}
    # LangGraph's own keyword arguments only
    assert seen == [sorted([
        "context", "stream_mode", "print_mode", "output_keys", "interrupt_before",
        "interrupt_after", "durability", "control", "version",
    ])]


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("stream_mode", ["values", "updates", ["values", "debug"]])
def test_ainvoke_modes(version: str, stream_mode: Any) -> None:
    assert_same(
        _build(),
        lambda g: g.ainvoke({"x": 1, "log": []}, CFG, stream_mode=stream_mode, version=version),
    )


def test_nested_ainvoke_interrupt_and_parent_stream() -> None:
    async def scenario(g: Any) -> Any:
        streamed = [c async for c in g.astream({"x": 1, "log": []}, CFG, stream_mode="updates", subgraphs=True)]
        return streamed, await g.ainvoke(None, CFG)

    assert_same(lambda: _nested(ask=True, asynchronous=True), scenario)


def test_a_subclass_with_its_own_stream_is_used_by_invoke() -> None:
    seen: list[Any] = []
    graph = _chain()

    class Mine(type(graph)):  # type: ignore[misc]
        def stream(self, *args: Any, **kwargs: Any) -> Any:
            seen.append(kwargs.get("stream_mode"))
            yield ("values", {"x": 42, "log": []})

    graph.__class__ = Mine
    with engine("rs"):
        assert graph.invoke({"x": 1, "log": []}) == {"x": 42, "log": []}
    assert seen == [["updates", "values"]]


def test_compiled_graph_invoke_runs_natively() -> None:
    g = langgraph_rs.compile(_chain().builder)
    assert type(g).invoke is not Pregel.invoke
    assert g.invoke({"x": 1, "log": []}) == {"x": 4, "log": ["a", "b", "c0", "c1", "c2"]}


@pytest.mark.parametrize(
    "chunks,mode,version,expected",
    [
        ([("values", {"x": 1}), ("updates", {"a": 1}), ("values", {"x": 2})], "values", "v1", {"x": 2}),
        ([(("ns",), "values", {"x": 3})], "values", "v1", {"x": 3}),
        ([("updates", {"__interrupt__": ("i",)}), ("values", {"x": 1})], "values", "v1",
         {"x": 1, "__interrupt__": ["i"]}),
        ([("updates", {"__interrupt__": ("i",)}), ("values", 5)], "values", "v1", {"__interrupt__": ["i"]}),
        ([("updates", {"__interrupt__": None}), ("values", 5)], "values", "v1", 5),
        ([1, 2, 3], "updates", "v1", [1, 2, 3]),
        ([{"type": "values", "data": {"x": 1}, "interrupts": ("i",)}], "values", "v2", None),
    ],
)
def test_invoke_output_collects_as_langgraph(chunks: list, mode: str, version: str, expected: Any) -> None:
    out = _native.InvokeOutput(mode, version)
    for chunk in chunks:
        out(chunk)
    result = out.result()
    if version == "v2":
        assert (result.value, result.interrupts) == ({"x": 1}, ("i",))
    else:
        assert result == expected


def _nested(ask: bool = False, asynchronous: bool = False) -> tuple[Any, Any]:
    """A parent whose node invokes (or ainvokes) a subgraph (the chain above)."""
    sub = _chain(ask=ask)

    def call(s: S) -> dict:
        out = sub.invoke({"x": s["x"], "log": []})
        return {"x": out["x"], "log": out["log"]}

    async def acall(s: S) -> dict:
        out = await sub.ainvoke({"x": s["x"], "log": []})
        return {"x": out["x"], "log": out["log"]}

    g = StateGraph(S)
    g.add_node("call", acall if asynchronous else call)
    g.add_edge(START, "call")
    saver = InMemorySaver()
    return g.compile(checkpointer=saver), saver


def test_nested_invoke_updates_reach_a_parent_stream() -> None:
    # invoke reads its updates only for interrupts, unless a parent streams them
    out = assert_same(
        _nested, lambda g: list(g.stream({"x": 1, "log": []}, CFG, stream_mode="updates", subgraphs=True))
    )
    namespaces = {ns for ns, _ in out.value}
    assert len(namespaces) > 1, out.value  # the subgraph's own updates came through


def test_nested_invoke_interrupt_reaches_the_parent() -> None:
    out = assert_same(lambda: _nested(ask=True), lambda g: g.invoke({"x": 1, "log": []}, CFG))
    assert "__interrupt__" in out.value


def test_invoke_prints_its_updates(capsys: pytest.CaptureFixture[str]) -> None:
    printed = {}
    for name in ("stock", "rs"):
        with engine(name):
            _chain().invoke({"x": 1, "log": []}, print_mode="updates")
        printed[name] = capsys.readouterr().out
    assert printed["rs"] == printed["stock"]
    assert "[updates]" in printed["rs"]

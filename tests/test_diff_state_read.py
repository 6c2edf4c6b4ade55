"""``get_state`` / ``aget_state`` (with subgraphs) and ``get_state_history`` on
both engines: the same snapshots, task ids, interrupts and errors, and on ours
without LangGraph's planner (``_algo.prepare_next_tasks``/``apply_writes``)."""

from __future__ import annotations

import operator
from typing import Annotated, Any

import pytest
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.func import entrypoint, task
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send, interrupt
from pydantic import BaseModel, field_validator
from typing_extensions import TypedDict

from tests.diff import PLANNER, assert_same, no_langgraph_planner, planner_calls
from tests.fuzz.support import pause

CFG = {"configurable": {"thread_id": "1"}}


class State(TypedDict):
    log: Annotated[list, operator.add]
    note: str


def snapshots(g: Any, config: dict = CFG, subgraphs: bool = False) -> list:
    """The live state and the whole history (on ours, the harness refuses
    LangGraph's planner: ``tests.diff.no_langgraph_planner``)."""
    return [g.get_state(config, subgraphs=subgraphs), list(g.get_state_history(config))]


async def asnapshots(g: Any, config: dict = CFG, subgraphs: bool = False) -> list:
    return [
        await g.aget_state(config, subgraphs=subgraphs),
        [s async for s in g.aget_state_history(config)],
    ]


def fan_out_with_interrupt(saver: Any) -> Any:
    """Three parallel nodes: one finishes, one asks (interrupt), one fails once
    the answer came; then a join."""

    def start(s: State) -> dict:
        return {"log": ["start"]}

    def fast(s: State) -> dict:
        return {"log": ["fast"]}

    def ask(s: State) -> dict:
        return {"log": [f"answer:{interrupt('question?')}"], "note": "asked"}

    def slow(s: State) -> dict:
        pause(1)
        return {"log": ["slow"]}

    g = StateGraph(State)
    g.add_node("start", start)
    for name, fn in (("fast", fast), ("ask", ask), ("slow", slow)):
        g.add_node(name, fn)
        g.add_edge("start", name)
    g.add_node("join", lambda s: {"log": ["join"]})
    g.add_edge(["fast", "ask", "slow"], "join")
    g.add_edge(START, "start")
    g.add_edge("join", END)
    return g.compile(checkpointer=saver)


def test_interrupted_parallel_step_live_and_history() -> None:
    def build():
        saver = InMemorySaver()
        return fan_out_with_interrupt(saver), saver

    def scenario(g: Any) -> list:
        out = [g.invoke({"log": [], "note": ""}, CFG)]
        out += snapshots(g)
        out.append(g.invoke(Command(resume="yes"), CFG))
        out += snapshots(g)
        return out

    outcome = assert_same(build, scenario)
    live = outcome.value[1]
    # live: the finished siblings' writes are in the values, only `ask` is next
    assert live.next == ("ask",)
    assert sorted(live.values["log"]) == ["fast", "slow", "start"]
    assert [i.value for i in live.interrupts] == ["question?"]


def test_interrupt_before_and_after_and_a_checkpoint_id() -> None:
    def build():
        saver = InMemorySaver()
        g = StateGraph(State)
        g.add_node("a", lambda s: {"log": ["a"]})
        g.add_node("b", lambda s: {"log": ["b"], "note": "b"})
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        return g.compile(checkpointer=saver, interrupt_before=["b"], interrupt_after=["a"]), saver

    def scenario(g: Any) -> list:
        out = [g.invoke({"log": ["in"], "note": ""}, CFG)]
        out += snapshots(g)
        out.append(g.invoke(None, CFG))
        out.append(g.invoke(None, CFG))
        states = snapshots(g)
        out += states
        # an older checkpoint addressed by id: a record of its step, not live
        older = states[1][2].config
        out += snapshots(g, older)
        return out

    assert_same(build, scenario)


def test_failed_task_reports_its_error() -> None:
    def build():
        saver = InMemorySaver()
        g = StateGraph(State)
        g.add_node("ok", lambda s: {"log": ["ok"]})

        def boom(s: State) -> dict:
            pause(1)
            raise ValueError("boom")

        g.add_node("boom", boom)
        g.add_edge(START, "ok")
        g.add_edge(START, "boom")
        return g.compile(checkpointer=saver), saver

    def scenario(g: Any) -> list:
        try:
            g.invoke({"log": [], "note": ""}, CFG)
        except ValueError:
            pass
        state, hist = snapshots(g)
        return [state, hist, [repr(t.error) for t in state.tasks]]

    outcome = assert_same(build, scenario)
    assert "boom" in " ".join(outcome.value[2])


def test_sends_deferred_node_and_after_finish_channels() -> None:
    """PUSH tasks of pending Sends, and a deferred join: the live snapshot
    applies finished writes without versions, so ``finish()`` runs as in LangGraph."""

    class S(TypedDict):
        items: Annotated[list, operator.add]

    def build():
        saver = InMemorySaver()
        g = StateGraph(S)
        g.add_node("fan", lambda s: {"items": ["fan"]})
        g.add_node("work", lambda x: {"items": [x]} if x != "ask" else {"items": [interrupt("w")]})
        g.add_node("done", lambda s: {"items": ["done"]}, defer=True)
        g.add_edge(START, "fan")
        g.add_conditional_edges("fan", lambda s: [Send("work", v) for v in ("x", "ask", "y")])
        g.add_edge("fan", "done")
        g.add_edge("work", "done")
        return g.compile(checkpointer=saver), saver

    def scenario(g: Any) -> list:
        out = [g.invoke({"items": []}, CFG)]
        out += snapshots(g)
        out.append(g.invoke(Command(resume="answered"), CFG))
        out += snapshots(g)
        return out

    assert_same(build, scenario)


def subgraph_parent(saver: Any) -> Any:
    class Sub(TypedDict):
        log: Annotated[list, operator.add]

    sub = StateGraph(Sub)
    sub.add_node("s1", lambda s: {"log": ["s1"]})
    sub.add_node("s2", lambda s: {"log": [f"s2:{interrupt('sub?')}"]})
    sub.add_edge(START, "s1")
    sub.add_edge("s1", "s2")
    inner = sub.compile()

    g = StateGraph(State)
    g.add_node("before", lambda s: {"log": ["before"]})
    g.add_node("child", inner)
    g.add_edge(START, "before")
    g.add_edge("before", "child")
    return g.compile(checkpointer=saver)


def test_subgraph_states_nested_and_by_namespace() -> None:
    def build():
        saver = InMemorySaver()
        return subgraph_parent(saver), saver

    def scenario(g: Any) -> list:
        out = [g.invoke({"log": [], "note": ""}, CFG)]
        shallow, _ = snapshots(g)
        nested, hist = snapshots(g, subgraphs=True)
        out += [shallow, nested, hist]
        # the subgraph's own state, addressed by its task's namespace
        out += snapshots(g, shallow.tasks[0].state)
        out.append(g.invoke(Command(resume="ok"), CFG))
        out += snapshots(g, subgraphs=True)
        return out

    outcome = assert_same(build, scenario)
    nested = outcome.value[2]
    assert nested.tasks[0].state.next == ("s2",)


def test_async_snapshots_with_subgraphs() -> None:
    def build():
        saver = InMemorySaver()
        return subgraph_parent(saver), saver

    async def scenario(g: Any) -> list:
        out = [await g.ainvoke({"log": [], "note": ""}, CFG)]
        out += await asnapshots(g)
        out += await asnapshots(g, subgraphs=True)
        return out

    assert_same(build, scenario)


def test_async_parallel_interrupt() -> None:
    def build():
        saver = InMemorySaver()
        return fan_out_with_interrupt(saver), saver

    async def scenario(g: Any) -> list:
        out = [await g.ainvoke({"log": [], "note": ""}, CFG)]
        out += await asnapshots(g)
        return out

    assert_same(build, scenario)


def append(current: list, writes: list) -> list:
    return [*current, *(item for write in writes for item in write)]


class D(TypedDict):
    log: Annotated[list, DeltaChannel(append)]


def test_delta_channel_replayed_from_history() -> None:
    def build():
        saver = InMemorySaver()
        g = StateGraph(D)
        for name in "abcd":
            g.add_node(name, lambda s, name=name: {"log": [name]})
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", "c")
        g.add_edge("c", "d")
        return g.compile(checkpointer=saver, interrupt_before=["d"]), saver

    def scenario(g: Any) -> list:
        return [g.invoke({"log": ["in"]}, CFG), *snapshots(g)]

    outcome = assert_same(build, scenario)
    assert outcome.value[1].values["log"] == ["in", "a", "b", "c"]


def test_functional_api_state() -> None:
    def build():
        saver = InMemorySaver()

        @task
        def double(x: int) -> int:
            return 2 * x

        @entrypoint(checkpointer=saver)
        def flow(n: int) -> dict:
            d = double(n).result()
            return {"d": d, "answer": interrupt("ok?")}

        return flow, saver

    def scenario(g: Any) -> list:
        out = [g.invoke(3, CFG)]
        out += snapshots(g)
        out.append(g.invoke(Command(resume="yes"), CFG))
        out += snapshots(g)
        return out

    assert_same(build, scenario)


_limit = {"n": 100}


class Strict(BaseModel):
    n: int = 0

    @field_validator("n")
    @classmethod
    def small(cls, v: int) -> int:
        if v > _limit["n"]:
            raise ValueError("n too large")
        return v


def test_node_input_failing_its_schema_raises_from_get_state() -> None:
    """A PULL task's input goes through its node's mapper (pydantic
    validation) when the snapshot is planned, so both engines raise, with
    LangGraph's note naming the task."""

    def build():
        saver = InMemorySaver()
        g = StateGraph(Strict)
        g.add_node("a", lambda s: {"n": 9})
        g.add_node("b", lambda s: {"n": 0})
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        return g.compile(checkpointer=saver, interrupt_before=["b"]), saver

    def scenario(g: Any) -> list:
        out: list = [g.invoke({"n": 1}, CFG)]
        _limit["n"] = 5  # b's input, planned again by get_state, now fails
        try:
            g.get_state(CFG)
        except Exception as exc:  # noqa: BLE001  (compared)
            out.append((type(exc).__name__, getattr(exc, "__notes__", None)))
        finally:
            _limit["n"] = 100
        return out

    outcome = assert_same(build, scenario)
    assert outcome.value[-1] == (
        "ValidationError",
        ["Before task with name 'b' and path '('__pregel_pull', 'b')'"],
    )


def test_empty_thread() -> None:
    def build():
        saver = InMemorySaver()
        return fan_out_with_interrupt(saver), saver

    def scenario(g: Any) -> list:
        return snapshots(g, {"configurable": {"thread_id": "never-ran"}})

    outcome = assert_same(build, scenario)
    assert outcome.value[0].values == {} and outcome.value[1] == []


@pytest.mark.parametrize("module,fn", [(m, f) for m, fs in PLANNER.items() for f in fs])
def test_no_langgraph_planner_refuses(module: str, fn: str) -> None:
    """The guard the tests rely on refuses each of LangGraph's planner
    functions, in its module and where LangGraph's main module imported it,
    and leaves graph drawing its own."""
    import importlib

    from langgraph.pregel import _draw, main

    drawing = getattr(_draw, fn, None)
    with no_langgraph_planner():
        targets = [getattr(importlib.import_module(module), fn)]
        if hasattr(main, fn):
            targets.append(getattr(main, fn))
        for target in targets:
            with pytest.raises(AssertionError, match="planner"):
                target()
        assert getattr(_draw, fn, None) is drawing
    assert planner_calls[-len(targets):] == [f"{module}.{fn}"] * len(targets)
    planner_calls.clear()


def test_plain_reducer_continues_from_a_delta_snapshot() -> None:
    """A field that was a DeltaChannel and is now a plain reducer: checkpoints
    holding a ``_DeltaSnapshot`` of it read (and a run continues) with the
    snapshot's value, as ``BinaryOperatorAggregate.from_checkpoint`` unwraps it."""

    class Plain(TypedDict):
        log: Annotated[list, operator.add]

    def app(schema: Any, saver: Any) -> Any:
        g = StateGraph(schema)
        g.add_node("a", lambda s: {"log": ["a"]})
        g.add_edge(START, "a")
        return g.compile(checkpointer=saver)

    class Every(TypedDict):
        log: Annotated[list, DeltaChannel(append, snapshot_frequency=1)]

    def build():
        saver = InMemorySaver()
        return app(Every, saver), saver

    def scenario(g: Any) -> list:
        for i in range(2):
            g.invoke({"log": [f"q{i}"]}, CFG)
        plain = app(Plain, g.checkpointer)
        out = snapshots(plain)
        out.append(plain.invoke({"log": ["q2"]}, CFG))
        return out

    outcome = assert_same(build, scenario)
    assert outcome.value[-1] == {"log": ["q0", "a", "q1", "a", "q2", "a"]}


def test_raw_pregel_repeated_writes_and_a_single_output_channel() -> None:
    """Task results as ``tasks_w_writes`` folds them: a single output channel
    unwraps its write, repeated writes of one channel become ``$writes``."""
    from langgraph.channels import LastValue, Topic
    from langgraph.pregel import NodeBuilder, Pregel

    def build_single():
        saver = InMemorySaver()
        one = NodeBuilder().subscribe_only("inbox").do(lambda x: x + 1).write_to("mid")
        two = NodeBuilder().subscribe_only("mid").do(lambda x: x * 10).write_to("out")
        g = Pregel(
            nodes={"one": one, "two": two},
            channels={"inbox": LastValue(int), "mid": LastValue(int), "out": LastValue(int)},
            input_channels="inbox",
            output_channels="out",
            checkpointer=saver,
            interrupt_after_nodes=["one"],
        )
        return g, saver

    def build_topic():
        saver = InMemorySaver()
        twice = NodeBuilder().subscribe_only("inbox").do(lambda x: x).write_to("log", "log", other=lambda x: -x)
        ask = NodeBuilder().subscribe_only("inbox").do(lambda x: interrupt("more?")).write_to("log")
        g = Pregel(
            nodes={"twice": twice, "ask": ask},
            channels={"inbox": LastValue(int), "log": Topic(int, accumulate=True), "other": LastValue(int)},
            input_channels="inbox",
            output_channels=["log", "other"],
            checkpointer=saver,
        )
        return g, saver

    def scenario(g: Any) -> list:
        return [g.invoke(1, CFG), *snapshots(g)]

    single = assert_same(build_single, scenario)
    assert single.value[1].next == ("two",)
    topic = assert_same(build_topic, scenario)
    [twice] = [t for t in topic.value[1].tasks if t.name == "twice"]
    assert twice.result == {"log": {"$writes": [1, 1]}, "other": -1}

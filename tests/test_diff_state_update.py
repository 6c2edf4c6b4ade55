"""``update_state`` / ``bulk_update_state`` on both engines: each scenario runs
on stock LangGraph and on langgraph_rs and compares the returned configs,
``get_state``, the whole ``get_state_history`` and every checkpoint and pending
write the saver holds, LangGraph's planner refused during our updates
(``tests/state_update_support.py``). The functional API, SQLite, DeltaChannel,
async and wiring: ``test_diff_state_update_more.py``.
"""

from __future__ import annotations

import operator
import time
from typing import Annotated, Any

from langgraph.channels import LastValue
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.managed import RemainingSteps
from langgraph.pregel import NodeBuilder, Pregel
from langgraph.pregel._read import PregelNode
from langgraph.types import Command, Send, StateUpdate, interrupt
from pydantic import BaseModel
from typing_extensions import TypedDict

from tests.state_update_support import (  # noqa: F401  (native_updates_on_rs: an autouse fixture)
    CFG,
    S,
    attempt,
    branching,
    native_updates_on_rs,
    parallel,
    same,
    snapshot,
    with_saver,
)

# ---------------------------------------------------------------------------
# as_node given, inferred, Command, errors


def test_update_as_node_given_and_inferred_then_resume() -> None:
    def scenario(g: Any) -> list:
        out: list = [g.invoke({"a": 0, "log": []}, CFG)]
        out.append(g.update_state(CFG, {"a": 4}))  # inferred: "one" ran last
        out += snapshot(g)
        out.append(g.update_state(CFG, {"log": ["x"]}, as_node="two"))
        out.append(g.invoke(None, CFG))
        out.append(g.update_state(CFG, {"log": ["after"]}))
        return out + snapshot(g)

    same(with_saver(branching, interrupt_before=["two", "three"]), scenario)


def test_update_errors() -> None:
    def scenario(g: Any) -> list:
        out: list = [g.invoke({"a": 0, "log": []}, CFG)]
        out.append(attempt(lambda: g.update_state(CFG, {"a": 1})))  # left and right ran together
        out.append(attempt(lambda: g.update_state(CFG, {"a": 1}, as_node="nope")))
        out.append(attempt(lambda: g.bulk_update_state(CFG, [])))
        out.append(attempt(lambda: g.bulk_update_state(CFG, [[]])))
        two = [StateUpdate({"a": 1}, "left"), StateUpdate({"a": 2}, None)]
        out.append(attempt(lambda: g.bulk_update_state(CFG, [two])))
        out.append(attempt(lambda: g.bulk_update_state(CFG, [[StateUpdate({"a": 1}, "nope"), two[0]]])))
        out.append(attempt(lambda: g.bulk_update_state(CFG, [[StateUpdate(None, END), two[0]]])))
        out.append(attempt(lambda: g.bulk_update_state(CFG, [[StateUpdate({"a": 1}, "__input__"), two[0]]])))
        out.append(attempt(lambda: g.bulk_update_state(CFG, [[StateUpdate(None, "__copy__"), two[0]]])))
        out.append(attempt(lambda: g.update_state(CFG, None, as_node="__input__")))
        out.append(attempt(lambda: g.update_state({"configurable": {"thread_id": "new"}}, None, "__copy__")))
        out.append(attempt(lambda: g.update_state(CFG, [1], as_node="__copy__")))
        out.append(attempt(lambda: g.update_state(CFG, {"a": "x", "log": 5}, as_node="left")))
        both = [StateUpdate({"a": 1}, "left"), StateUpdate({"a": 2}, "right")]  # one LastValue
        out.append(attempt(lambda: g.bulk_update_state(CFG, [both])))
        return out + snapshot(g)

    same(with_saver(parallel, interrupt_after=["left", "right"]), scenario)


def test_no_checkpointer_no_writers_nothing_to_run() -> None:
    """Raw Pregel: a node without writers, one with nothing to run ("ghost": no
    task is planned for it, so clearing the step leaves its triggers unseen)."""

    def build() -> tuple[Any, Any]:
        silent = NodeBuilder().subscribe_only("x").do(lambda x: x)
        loud = NodeBuilder().subscribe_only("x").do(lambda x: x + 1).write_to("y")
        ghost = PregelNode(channels="x", triggers=["x"])
        saver = InMemorySaver()
        g = Pregel(
            nodes={"silent": silent, "loud": loud, "ghost": ghost},
            channels={"x": LastValue(int), "y": LastValue(int)},
            input_channels="x",
            output_channels="y",
            checkpointer=saver,
        )
        return g, saver

    def scenario(g: Any) -> list:
        out: list = [g.invoke(1, CFG)]
        out.append(attempt(lambda: g.update_state(CFG, 5, as_node="silent")))
        out.append(attempt(lambda: g.update_state(CFG, 5, as_node="loud")))
        out.append(attempt(lambda: g.update_state(CFG, 7, as_node="__input__")))
        out.append(attempt(lambda: g.copy(update={"checkpointer": None}).update_state(CFG, 1, "loud")))
        out.append(g.update_state(CFG, None, as_node=END))
        # a node with nothing to run plans no task: "ghost" is not next
        return out + snapshot(g)

    same(build, scenario)


def test_update_with_command_goto_and_update() -> None:
    def scenario(g: Any) -> list:
        out: list = [g.invoke({"a": 0, "log": []}, CFG)]
        out.append(g.update_state(CFG, Command(update={"a": 7, "log": ["cmd"]}, goto="three"), "one"))
        out += snapshot(g)
        out.append(g.invoke(None, CFG))
        return out + snapshot(g)

    same(with_saver(branching, interrupt_before=["two", "three"]), scenario)


# ---------------------------------------------------------------------------
# __input__, END, __copy__, checkpoint_id


def test_update_as_input_on_new_and_existing_thread() -> None:
    def scenario(g: Any) -> list:
        out: list = [g.update_state(CFG, {"a": 1, "log": ["in"]}, as_node="__input__")]
        out += snapshot(g)
        out.append(g.invoke(None, CFG))
        out.append(g.update_state(CFG, {"a": 2}, as_node="__input__"))
        out.append(g.invoke(None, CFG))
        return out + snapshot(g)

    same(with_saver(branching), scenario)


def test_update_on_new_thread_as_node() -> None:
    def scenario(g: Any) -> list:
        out: list = [g.update_state(CFG, {"a": 3, "log": ["x"]}, as_node="one")]
        out.append(g.invoke(None, CFG))
        return out + snapshot(g)

    same(with_saver(branching), scenario)


def test_end_clears_interrupted_step_with_finished_sibling_and_null_writes() -> None:
    def build() -> tuple[Any, Any]:
        def ask(s: S) -> dict:
            first = interrupt("first?")
            second = interrupt("second?")
            return {"log": [f"ask {first} {second}"]}

        g = StateGraph(S)
        g.add_node("ask", ask)
        g.add_node("quick", lambda s: {"a": 5, "log": ["quick"]})
        g.add_node("after", lambda s: {"log": ["after"]})
        g.add_edge(START, "ask")
        g.add_edge(START, "quick")
        g.add_edge("quick", "after")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    def scenario(g: Any) -> list:
        out: list = [g.invoke({"a": 0, "log": []}, CFG)]
        # a resume and an update saved as null writes; "ask" interrupts again
        out.append(g.invoke(Command(resume="one", update={"log": ["upd"]}), CFG))
        out += snapshot(g)
        out.append(g.update_state(CFG, None, as_node=END))
        out += snapshot(g)
        out.append(g.invoke(None, CFG))
        return out + snapshot(g)

    same(build, scenario)


def test_end_clears_failed_step() -> None:
    def build() -> tuple[Any, Any]:
        def broken(s: S) -> dict:
            time.sleep(0.1)  # after "fine" has finished and its writes are saved
            raise ValueError("broken")

        g = StateGraph(S)
        g.add_node("broken", broken)
        g.add_node("fine", lambda s: {"log": ["fine"]})
        g.add_edge(START, "broken")
        g.add_edge(START, "fine")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    def scenario(g: Any) -> list:
        out: list = [attempt(lambda: g.invoke({"a": 0, "log": []}, CFG))]
        out.append(g.update_state(CFG, None, as_node=END))
        out.append(g.update_state({"configurable": {"thread_id": "2"}}, None, as_node=END))
        return out + snapshot(g) + snapshot(g, {"configurable": {"thread_id": "2"}})

    same(build, scenario)


def test_copy_fork_plain_and_with_updates() -> None:
    def scenario(g: Any) -> list:
        out: list = [g.invoke({"a": 0, "log": []}, CFG)]
        out.append(g.invoke({"a": 1, "log": []}, CFG))
        history = list(g.get_state_history(CFG))
        out.append(g.update_state(CFG, None, as_node="__copy__"))
        out.append(g.update_state(history[1].config, None, as_node="__copy__"))
        updates = [
            StateUpdate({"log": ["two-a"]}, "two"),
            ({"log": ["three"]}, "three"),
            StateUpdate({"log": ["two-b"]}, "two"),
        ]
        forked = g.update_state(history[2].config, updates, as_node="__copy__")
        out.append(forked)
        out += snapshot(g)
        out.append(g.invoke(None, forked))
        return out + snapshot(g)

    same(with_saver(branching, interrupt_before=["two", "three"]), scenario)


def test_update_from_older_checkpoint_id_then_run() -> None:
    def scenario(g: Any) -> list:
        out: list = [g.invoke({"a": 0, "log": []}, CFG)]
        out.append(g.invoke({"a": 4, "log": []}, CFG))
        history = list(g.get_state_history(CFG))
        forked = g.update_state(history[3].config, {"a": 10, "log": ["fork"]}, as_node="one")
        out.append(forked)
        out.append(g.invoke(None, forked))
        out.append(g.update_state(history[-1].config, {"a": 1, "log": []}, as_node="__input__"))
        return out + snapshot(g)

    same(with_saver(branching), scenario)


# ---------------------------------------------------------------------------
# bulk updates, Send, subgraphs


def test_bulk_several_supersteps_and_updates() -> None:
    def scenario(g: Any) -> list:
        out: list = [g.invoke({"a": 0, "log": []}, CFG)]
        out.append(
            g.bulk_update_state(
                CFG,
                [
                    [StateUpdate({"log": ["l1"]}, "left"), StateUpdate({"log": ["r1"]}, "right")],
                    [StateUpdate({"log": ["l2"]}, "left"), StateUpdate({"log": ["l3"]}, "left")],
                    [StateUpdate({"a": 9}, "join", "00000000-0000-0000-0000-00000000beef")],
                ],
            )
        )
        out += snapshot(g)
        out.append(g.invoke(None, CFG))
        return out + snapshot(g)

    same(with_saver(parallel, interrupt_before=["left", "right"]), scenario)


def test_update_emitting_sends() -> None:
    def build() -> tuple[Any, Any]:
        g = StateGraph(S)
        g.add_node("fan", lambda s: {"log": ["fan"]})
        g.add_node("worker", lambda x: {"log": [f"w{x['i']}"]})
        g.add_edge(START, "fan")
        g.add_conditional_edges("fan", lambda s: [Send("worker", {"i": i}) for i in range(s["a"])])
        saver = InMemorySaver()
        return g.compile(checkpointer=saver, interrupt_before=["worker"]), saver

    def scenario(g: Any) -> list:
        out: list = [g.invoke({"a": 1, "log": []}, CFG)]
        out.append(g.update_state(CFG, {"a": 3, "log": ["edit"]}, as_node="fan"))
        out += snapshot(g)
        out.append(g.invoke(None, CFG))
        return out + snapshot(g)

    same(build, scenario)


def test_update_subgraph_state_via_task_config() -> None:
    def build() -> tuple[Any, Any]:
        def inner(s: S) -> dict:
            return {"log": [f"inner {interrupt('ok?')}"]}

        sub = StateGraph(S)
        sub.add_node("prep", lambda s: {"a": s["a"] + 1, "log": ["prep"]})
        sub.add_node("inner", inner)
        sub.add_edge(START, "prep")
        sub.add_edge("prep", "inner")
        g = StateGraph(S)
        g.add_node("sub", sub.compile())
        g.add_node("end", lambda s: {"log": ["end"]})
        g.add_edge(START, "sub")
        g.add_edge("sub", "end")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    def scenario(g: Any) -> list:
        out: list = [g.invoke({"a": 0, "log": []}, CFG)]
        sub_config = g.get_state(CFG, subgraphs=True).tasks[0].state.config
        out.append(g.update_state(sub_config, {"a": 40, "log": ["edited"]}, as_node="prep"))
        out.append(g.get_state(CFG, subgraphs=True))
        out.append(attempt(lambda: g.update_state(
            {"configurable": {"thread_id": "1", "checkpoint_ns": "missing:1"}}, {"a": 1}
        )))
        out.append(g.invoke(Command(resume="yes"), CFG))
        return out + snapshot(g)

    same(build, scenario)


# ---------------------------------------------------------------------------
# routers reading the state, managed values, pydantic, functional API, SQLite


class Managed(TypedDict):
    a: int
    log: Annotated[list[str], operator.add]
    remaining_steps: RemainingSteps


def test_router_reads_fresh_state_and_managed_values() -> None:
    def build() -> tuple[Any, Any]:
        def route(s: Managed) -> str:
            return "two" if s["a"] > 2 and s["remaining_steps"] == 2 else "three"

        g = StateGraph(Managed)
        g.add_node("one", lambda s: {"a": s["a"] + 1, "log": [f"one {s['remaining_steps']}"]})
        g.add_node("two", lambda s: {"log": ["two"]})
        g.add_node("three", lambda s: {"log": ["three"]})
        g.add_edge(START, "one")
        g.add_conditional_edges("one", route, ["two", "three"])
        saver = InMemorySaver()
        return g.compile(checkpointer=saver, interrupt_before=["two", "three"]), saver

    def scenario(g: Any) -> list:
        out: list = [g.invoke({"a": 0, "log": []}, CFG)]
        out.append(g.update_state(CFG, {"a": 3}, as_node="one"))
        out.append(g.get_state(CFG).next)
        out.append(g.update_state(CFG, {"a": 0}, as_node="one"))
        out.append(g.invoke(None, CFG))
        return out + snapshot(g)

    same(build, scenario)


class P(BaseModel):
    a: int = 0
    log: Annotated[list[str], operator.add] = []


def test_pydantic_state() -> None:
    def build() -> tuple[Any, Any]:
        g = StateGraph(P)
        g.add_node("one", lambda s: {"a": s.a + 1, "log": ["one"]})
        g.add_node("two", lambda s: {"log": ["two"]})
        g.add_node("three", lambda s: {"log": ["three"]})
        g.add_edge(START, "one")
        g.add_conditional_edges("one", lambda s: "two" if s.a % 2 else "three", ["two", "three"])
        g.add_edge("two", "three")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver, interrupt_before=["two", "three"]), saver

    def scenario(g: Any) -> list:
        out: list = [g.invoke(P(a=0), CFG)]
        out.append(g.update_state(CFG, {"a": 4}))
        out.append(g.update_state(CFG, P(a=5, log=["model"]), as_node="one"))
        out.append(attempt(lambda: g.update_state(CFG, {"a": "not a number"}, as_node="one")))
        out.append(g.invoke(None, CFG))
        out += snapshot(g)
        # an invalid value no router reads, then a step whose input fails the model
        out.append(g.update_state(CFG, {"a": "bad"}, as_node="two"))
        out.append(attempt(lambda: g.update_state(CFG, {"log": ["x"]}, as_node="three")))
        out.append(attempt(lambda: g.update_state(CFG, None, as_node=END)))
        return out

    same(build, scenario)


def test_root_state_router_reads_an_empty_channel() -> None:
    """A router of a root-state graph reads ``__root__`` (a str select): empty,
    it reads None, as LangGraph's ``read_channel`` gives (in an update, and in
    a run whose node, sent a value, writes none)."""

    def build() -> tuple[Any, Any]:
        g = StateGraph(int)
        g.add_node("one", lambda s: None)
        g.add_node("two", lambda s: 2)
        g.add_edge(START, "one")
        g.add_conditional_edges("one", lambda s: "two" if s is None else END, ["two", END])
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    def scenario(g: Any) -> list:
        out: list = [g.update_state(CFG, None, as_node="one")]
        out.append(g.update_state(CFG, 3, as_node="one"))
        other = {"configurable": {"thread_id": "2"}}
        out.append(g.invoke(Command(goto=Send("one", 5)), other))
        return out + snapshot(g) + snapshot(g, other)

    same(build, scenario)

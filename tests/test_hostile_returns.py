"""Hostile node behaviour: wrong-type returns, unknown keys, concurrent LastValue
writes, routing to missing nodes, raising reducers and routers, a failing
sibling in a parallel superstep. Each is run on both engines; the error (type
and message), the chunks streamed before it and the checkpoint history must be
LangGraph's own, and the graph must keep working afterwards."""

from __future__ import annotations

import asyncio
import operator
import threading
import time
from typing import Annotated, Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send
from pydantic import BaseModel
from typing_extensions import TypedDict

from tests.hostile import aattempt, achunks, attempt, chunks, same

CFG = {"configurable": {"thread_id": "1"}}
MODES = ["values", "updates", "tasks", "checkpoints", "debug"]


class State(TypedDict):
    n: int
    log: Annotated[list, operator.add]


class Model(BaseModel):
    n: int = 5


def one_node(result: Any, *, is_async: bool = False, saver: bool = True) -> Any:
    """START -> first -> bad -> END, where ``bad`` returns ``result()``."""

    def first(s: State) -> dict:
        return {"n": s["n"] + 1, "log": ["first"]}

    def bad(s: State) -> Any:
        return result()

    async def abad(s: State) -> Any:
        return result()

    def build():
        g = StateGraph(State)
        g.add_node("first", first)
        g.add_node("bad", abad if is_async else bad)
        g.add_edge(START, "first")
        g.add_edge("first", "bad")
        cp = InMemorySaver() if saver else None
        return g.compile(checkpointer=cp), cp

    return build


RETURNS = {
    "string": lambda: "oops",
    "list": lambda: [1, 2],
    "int": lambda: 3,
    "none": lambda: None,
    "pydantic": lambda: Model(n=9),
    "unknown_key": lambda: {"nope": 1},
    "unknown_and_known": lambda: {"nope": 1, "n": 7},
    "list_of_dicts": lambda: [{"n": 1}, {"log": ["x"]}],
    "command_unknown_key": lambda: Command(update={"ghost": 1}),
    "tuple_updates": lambda: [("n", 4), ("log", ["t"])],
}


@pytest.mark.parametrize("kind", sorted(RETURNS))
def test_wrong_type_node_return(kind: str) -> None:
    def scenario(g: Any) -> list:
        return [
            chunks(lambda: g.stream({"n": 1, "log": []}, CFG, stream_mode=MODES)),
            attempt(lambda: g.get_state(CFG)),
            attempt(lambda: g.invoke({"n": 10, "log": []}, {"configurable": {"thread_id": "2"}})),
        ]

    same(one_node(RETURNS[kind]), scenario)


@pytest.mark.parametrize("kind", ["string", "pydantic", "unknown_key", "none"])
def test_wrong_type_node_return_async(kind: str) -> None:
    async def scenario(g: Any) -> list:
        return [
            await achunks(lambda: g.astream({"n": 1, "log": []}, CFG, stream_mode=MODES)),
            await aattempt(g.aget_state(CFG)),
        ]

    same(one_node(RETURNS[kind], is_async=True), scenario)


@pytest.mark.parametrize("kind", ["string", "int", "unknown_key"])
def test_wrong_type_node_return_without_checkpointer(kind: str) -> None:
    same(
        one_node(RETURNS[kind], saver=False),
        lambda g: [chunks(lambda: g.stream({"n": 1, "log": []}, stream_mode="updates"))],
    )


def fan(targets: dict[str, Any], *, join: bool = True, saver: bool = True) -> Any:
    """START fans out to every node of ``targets`` (name -> function)."""

    def build():
        g = StateGraph(State)
        for name, fn in targets.items():
            g.add_node(name, fn)
            g.add_edge(START, name)
        if join:
            g.add_node("after", lambda s: {"log": ["after"]})
            g.add_edge(list(targets), "after")
        cp = InMemorySaver() if saver else None
        return g.compile(checkpointer=cp), cp

    return build


def test_two_writes_to_last_value_in_one_step() -> None:
    build = fan({"a": lambda s: {"n": 1}, "b": lambda s: {"n": 2}})
    same(
        build,
        lambda g: [
            chunks(lambda: g.stream({"n": 0, "log": []}, CFG, stream_mode=MODES)),
            attempt(lambda: g.invoke(None, CFG)),
        ],
    )


def test_two_writes_to_last_value_from_one_node() -> None:
    build = one_node(lambda: [{"n": 1}, {"n": 2}])
    same(build, lambda g: [chunks(lambda: g.stream({"n": 0, "log": []}, CFG, stream_mode=MODES))])


def test_two_writes_to_last_value_async() -> None:
    async def a(s: State) -> dict:
        return {"n": 1}

    async def b(s: State) -> dict:
        await asyncio.sleep(0.02)
        return {"n": 2}

    async def scenario(g: Any) -> list:
        return [await achunks(lambda: g.astream({"n": 0, "log": []}, CFG, stream_mode=MODES))]

    same(fan({"a": a, "b": b}), scenario)


def routed(route: Any, *, path_map: Any = None, saver: bool = True) -> Any:
    def build():
        g = StateGraph(State)
        g.add_node("first", lambda s: {"log": ["first"]})
        g.add_node("other", lambda s: {"log": ["other"]})
        g.add_edge(START, "first")
        g.add_conditional_edges("first", route, path_map)
        cp = InMemorySaver() if saver else None
        return g.compile(checkpointer=cp), cp

    return build


def raising_router(s: State) -> str:
    raise ValueError(f"router saw {s['log']}")


ROUTERS = {
    "missing_name": (lambda s: "ghost", None),
    "missing_in_list": (lambda s: ["other", "ghost"], None),
    "key_not_in_path_map": (lambda s: "z", {"x": "other", "y": END}),
    "send_to_missing": (lambda s: [Send("ghost", {"n": 1})], None),
    "send_wrong_arg": (lambda s: [Send("other", 3)], None),
    "returns_int": (lambda s: 5, None),
    "returns_none": (lambda s: None, None),
    "raises": (raising_router, None),
}


@pytest.mark.parametrize("kind", sorted(ROUTERS))
def test_router_to_missing_node_or_raising(kind: str) -> None:
    route, path_map = ROUTERS[kind]
    same(
        routed(route, path_map=path_map),
        lambda g: [
            chunks(lambda: g.stream({"n": 0, "log": []}, CFG, stream_mode=MODES)),
            attempt(lambda: g.invoke(None, CFG)),
            attempt(lambda: g.invoke({"n": 0, "log": []}, {"configurable": {"thread_id": "2"}})),
        ],
    )


@pytest.mark.parametrize("kind", ["raises", "missing_name", "send_to_missing"])
def test_router_to_missing_node_or_raising_async(kind: str) -> None:
    route, path_map = ROUTERS[kind]

    async def scenario(g: Any) -> list:
        return [await achunks(lambda: g.astream({"n": 0, "log": []}, CFG, stream_mode=MODES))]

    same(routed(route, path_map=path_map), scenario)


COMMANDS = {
    "goto_missing": lambda: Command(goto="ghost", update={"log": ["c"]}),
    "goto_missing_in_list": lambda: Command(goto=["ghost", "first"]),
    "goto_send_missing": lambda: Command(goto=Send("ghost", {"n": 2})),
    "goto_int": lambda: Command(goto=7),
    "resume_in_node": lambda: Command(resume="x"),
}


@pytest.mark.parametrize("kind", sorted(COMMANDS))
def test_command_goto_missing_node(kind: str) -> None:
    cfg = {**CFG, "recursion_limit": 7}  # goto_missing_in_list loops first -> bad -> first
    same(
        one_node(COMMANDS[kind]),
        lambda g: [
            chunks(lambda: g.stream({"n": 0, "log": []}, cfg, stream_mode=MODES)),
            attempt(lambda: g.get_state(CFG)),
        ],
    )


def failing_add(a: list, b: list) -> list:
    if "boom" in b:
        raise RuntimeError(f"reducer refused {b}")
    return a + b


class Reduced(TypedDict):
    n: int
    log: Annotated[list, failing_add]


@pytest.mark.parametrize("when", ["input", "node", "parallel", "update_state"])
def test_reducer_that_raises(when: str) -> None:
    def build():
        g = StateGraph(Reduced)
        g.add_node("a", lambda s: {"log": ["boom"] if when in ("node", "parallel") else ["a"]})
        g.add_node("b", lambda s: {"n": 5, "log": ["b"]})
        g.add_edge(START, "a")
        if when == "parallel":
            g.add_edge(START, "b")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    def scenario(g: Any) -> list:
        out = [chunks(lambda: g.stream({"n": 0, "log": ["boom"] if when == "input" else []}, CFG, stream_mode=MODES))]
        if when == "update_state":
            out.append(attempt(lambda: g.update_state(CFG, {"log": ["boom"]}, as_node="a")))
        out.append(attempt(lambda: g.get_state(CFG)))
        out.append(attempt(lambda: g.invoke(None, CFG)))
        return out

    same(build, scenario)


def slow(result: Any, delay: float) -> Any:
    def node(s: State) -> Any:
        time.sleep(delay)
        if isinstance(result, BaseException):
            raise result
        return result

    return node


@pytest.mark.parametrize("failing_first", [True, False])
def test_node_raises_in_parallel_superstep(failing_first: bool) -> None:
    """The failing node's error is raised; siblings that finished before it are
    streamed and saved as pending writes, siblings still running then finish and
    are saved (not streamed); resuming re-runs only the failed task.

    ``flaky`` fails only once both siblings have started (failing first: they
    are still sleeping) or finished (failing last), so which siblings are
    running when it fails does not depend on how fast threads start."""
    calls: list[str] = []
    started = {name: threading.Event() for name in ("ok1", "ok2")}
    finished = {name: threading.Event() for name in ("ok1", "ok2")}
    ok1_at, ok2_at = (0.1, 0.05) if failing_first else (0.0, 0.04)

    def flaky(s: State) -> dict:
        calls.append("flaky")
        for event in (started if failing_first else finished).values():
            assert event.wait(10), "a sibling never got there"
        if not failing_first:
            time.sleep(0.05)  # their writes are committed after they return
        if calls.count("flaky") == 1:
            raise ValueError("flaky failed once")
        return {"log": ["flaky"]}

    def sibling(name: str, result: dict, delay: float) -> Any:
        def node(s: State) -> dict:
            started[name].set()
            time.sleep(delay)
            finished[name].set()
            return result

        return node

    build = fan({"flaky": flaky, "ok1": sibling("ok1", {"log": ["ok1"]}, ok1_at), "ok2": sibling("ok2", {"n": 3}, ok2_at)})

    def scenario(g: Any) -> list:
        calls.clear()
        for event in (*started.values(), *finished.values()):
            event.clear()
        return [
            chunks(lambda: g.stream({"n": 0, "log": []}, CFG, stream_mode=MODES)),
            attempt(lambda: g.get_state(CFG)),
            chunks(lambda: g.stream(None, CFG, stream_mode=MODES)),
            list(calls),
        ]

    same(build, scenario)


def test_two_nodes_raise_in_parallel_superstep() -> None:
    """The first error is raised; the later one is saved as the other task's
    pending error write."""
    build = fan(
        {
            "a": slow(KeyError("a"), 0.04),
            "b": slow(ValueError("b"), 0.12),
            "c": slow({"log": ["c"]}, 0.0),
        }
    )
    same(build, lambda g: [chunks(lambda: g.stream({"n": 0, "log": []}, CFG, stream_mode=MODES))])


def test_node_raises_with_queued_siblings() -> None:
    """With ``max_concurrency=1``, the tasks still queued when one fails are
    cancelled and saved with a CancelledError; the one already running finishes.
    The resumed run re-runs the failed and the cancelled tasks."""
    failures = iter([KeyError("a")])

    def a(s: State) -> dict:
        if (exc := next(failures, None)) is not None:
            raise exc
        return {"log": ["a"]}

    build = fan(
        {
            "a": a,
            "b": slow({"n": 2}, 0.05),
            "c": slow({"log": ["c"]}, 0.0),
            "d": slow({"log": ["d"]}, 0.0),
        }
    )
    cfg = {**CFG, "max_concurrency": 1}

    def scenario(g: Any) -> list:
        nonlocal failures
        failures = iter([KeyError("a")])
        return [
            chunks(lambda: g.stream({"n": 0, "log": []}, cfg, stream_mode=MODES)),
            chunks(lambda: g.stream(None, cfg, stream_mode=MODES)),
        ]

    same(build, scenario)


def test_node_raises_in_parallel_superstep_async() -> None:
    async def boom(s: State) -> dict:
        await asyncio.sleep(0.01)
        raise ValueError("boom")

    async def fine(s: State) -> dict:
        return {"log": ["fine"]}

    async def late(s: State) -> dict:
        await asyncio.sleep(0.2)
        return {"n": 9}

    async def scenario(g: Any) -> list:
        return [
            await achunks(lambda: g.astream({"n": 0, "log": []}, CFG, stream_mode=MODES)),
            await aattempt(g.aget_state(CFG)),
        ]

    same(fan({"boom": boom, "fine": fine, "late": late}), scenario)

"""A sync run's saver calls made natively (rust/py/checkpoint_put.rs): the same
calls, in the same order, with the same arguments as LangGraph's loop makes."""

from __future__ import annotations

import operator
from typing import Annotated, Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import Command, Send, interrupt
from typing_extensions import TypedDict

from tests.diff import assert_same
from tests.fuzz.support import pause

CFG = {"configurable": {"thread_id": "1"}}


def _call_row(name: str, args: tuple) -> tuple:
    config = args[0]["configurable"]
    where = (config.get("thread_id"), config.get("checkpoint_ns"), config.get("checkpoint_id"))
    if name == "put":
        _, checkpoint, metadata, new_versions = args
        return (
            name, where, checkpoint["id"], checkpoint["channel_values"],
            checkpoint["channel_versions"], checkpoint["versions_seen"],
            checkpoint.get("updated_channels"), metadata, dict(new_versions),
        )
    return (name, where, [(c, repr(v)) for c, v in args[1]], *args[2:])


class Recording(InMemorySaver):
    """InMemorySaver recording each put/put_writes call (with the task path)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple] = []

    def put(self, *args: Any) -> Any:
        self.calls.append(_call_row("put", args))
        return super().put(*args)

    def put_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
        self.calls.append(_call_row("put_writes", (config, writes, task_id, task_path)))
        super().put_writes(config, writes, task_id, task_path)


class RecordingNoPath(Recording):
    """A saver whose put_writes takes no task path (older savers)."""

    def put_writes(self, config: Any, writes: Any, task_id: str) -> None:  # type: ignore[override]
        self.calls.append(_call_row("put_writes", (config, writes, task_id)))
        InMemorySaver.put_writes(self, config, writes, task_id)


class S(TypedDict):
    x: int
    log: Annotated[list, operator.add]


def _graph(saver: Any, ask: bool) -> Any:
    def a(s: S) -> dict:
        return {"x": s["x"] + 1, "log": ["a"]}

    def fan(s: S) -> list:
        return [Send("w", {"x": i, "log": []}) for i in range(2)]

    def w(s: S) -> dict:
        pause(s["x"])
        return {"log": [f"w{s['x']}"]}

    def b(s: S) -> dict:
        if ask:
            return {"x": s["x"] + interrupt("how much?"), "log": ["b"]}
        return {"x": s["x"] * 2, "log": ["b"]}

    inner = StateGraph(S)
    inner.add_node("a", a)
    inner.add_edge(START, "a")
    g = StateGraph(S)
    g.add_node("sub", inner.compile())
    g.add_node("w", w)
    g.add_node("b", b)
    g.add_edge(START, "sub")
    g.add_conditional_edges("sub", fan, ["w"])
    g.add_edge("w", "b")
    return g.compile(checkpointer=saver)


@pytest.mark.parametrize("saver_cls", [Recording, RecordingNoPath])
@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
@pytest.mark.parametrize("ask", [False, True])
def test_saver_calls_as_langgraph(saver_cls: type, durability: str, ask: bool) -> None:
    def build() -> tuple[Any, Any]:
        saver = saver_cls()
        return _graph(saver, ask), saver

    def scenario(g: Any) -> Any:
        out = [g.invoke({"x": 1, "log": []}, CFG, durability=durability)]
        if ask:
            out.append(g.invoke(Command(resume=5), CFG, durability=durability))
        out.append(g.invoke({"x": 10, "log": []}, CFG, durability=durability))
        return out, g.checkpointer.calls

    rs = assert_same(build, scenario, CFG)
    calls = rs.value[1]
    assert any(c[0] == "put" for c in calls)
    if durability != "exit":
        assert any(c[0] == "put_writes" for c in calls)

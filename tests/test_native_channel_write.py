"""The engine's native writer (``_native.channel_write``) against LangGraph's
``ChannelWrite.invoke``: the same writes handed to the task's send function,
the same return value, the same errors — over StateGraph's own writers (dict,
Command, Send and list outputs, routing to END, the PARENT graph) and
hand-made entries (mappers, ``skip_none``, ``SKIP_WRITE``, static values)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest
from langgraph._internal._constants import CONF, CONFIG_KEY_SEND
from langgraph.graph import END, START, StateGraph
from langgraph.pregel._write import SKIP_WRITE, ChannelWrite, ChannelWriteEntry, ChannelWriteTupleEntry
from langgraph.types import Command, Send

from langgraph_rs import _native


class State(TypedDict):
    a: Annotated[list, operator.add]
    b: int


def _writers() -> list[ChannelWrite]:
    g = StateGraph(State)
    g.add_node("n", lambda s: s)
    g.add_node("m", lambda s: s)
    g.add_edge(START, "n")
    g.add_edge("n", "m")
    g.add_edge("m", END)
    app = g.compile()
    return [w for name in ("n", "m", START) for w in app.nodes[name].writers]


HANDMADE = [
    ChannelWrite([ChannelWriteEntry("x"), ChannelWriteEntry("y", skip_none=True)]),
    ChannelWrite([ChannelWriteEntry("x", mapper=lambda v: SKIP_WRITE if v == 1 else v)]),
    ChannelWrite([ChannelWriteEntry("x", "static"), Send("n", 1)]),
    ChannelWrite([ChannelWriteTupleEntry(lambda v: [("t", v)] if v else None)]),
]

OUTPUTS: list[Any] = [
    None,
    {"a": [1], "b": 2, "unknown": 3},
    {},
    Command(update={"a": [1]}, goto="m"),
    Command(goto=["m", END, Send("n", {"b": 1})]),
    Command(goto=Send("m", {"b": 2})),
    [Command(goto="m"), Command(update={"b": 1})],
    Send("n", {"b": 3}),
    1,
    "text",
    Command(graph=Command.PARENT, goto="x"),
]


def native(writer: ChannelWrite, output: Any, config: dict) -> Any:
    """The engine's way: the writer's plan, made once, run on the output."""
    return _native.channel_write(_native.writer_plan(writer), output, config)


def _run(invoke: Any, writer: ChannelWrite, output: Any) -> Any:
    sent: list = []
    config = {CONF: {CONFIG_KEY_SEND: sent.extend}}
    try:
        result = invoke(writer, output, config)
    except Exception as exc:  # noqa: BLE001  (compared)
        return ("raised", type(exc).__name__, str(exc), sent)
    return ("ok", result, sent)


def _writer_id(writer: ChannelWrite) -> str:
    """A stable test id (xdist workers must collect the same ids): the writer's
    entries by kind and channel, no object addresses."""
    parts = [
        f"{type(w).__name__}:{getattr(w, 'channel', getattr(w, 'node', ''))}"
        + (":mapped" if getattr(w, "mapper", None) is not None else "")
        for w in writer.writes
    ]
    return "+".join(parts)


@pytest.mark.parametrize("writer", _writers() + HANDMADE, ids=_writer_id)
def test_native_writer_does_what_channel_write_does(writer: ChannelWrite) -> None:
    assert _native.writer_plan(writer) is not None
    for output in OUTPUTS:
        want = _run(lambda w, o, c: w.invoke(o, c), writer, output)
        got = _run(native, writer, output)
        assert got == want, output


def test_writing_to_the_tasks_channel_is_refused_as_langgraph_refuses_it() -> None:
    writer = ChannelWrite([ChannelWriteEntry("__pregel_tasks")])
    want = _run(lambda w, o, c: w.invoke(o, c), writer, 1)
    assert want[0] == "raised"
    assert _run(native, writer, 1) == want


def test_other_writers_are_left_to_python() -> None:
    class Mine(ChannelWrite):
        pass

    assert _native.writer_plan(Mine([ChannelWriteEntry("x")])) is None
    assert _native.writer_plan(ChannelWrite([ChannelWriteEntry("x")], tags=["t"]).with_config(tags=["u"])) is None

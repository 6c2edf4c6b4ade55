"""What a run's start builds natively (rust/py/run_start.rs), against what
LangGraph's own Python builds from the same inputs: the input's writes, an
empty checkpoint, the run's ``Runtime``."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest
from langgraph._internal._constants import CONFIG_KEY_RUNTIME
from langgraph.pregel._checkpoint import LATEST_VERSION, empty_checkpoint
from langgraph.pregel._io import map_input
from langgraph.pregel.main import _build_server_info, _coerce_context, _coerce_parent_runtime
from langgraph.runtime import DEFAULT_RUNTIME, RunControl, Runtime
from pydantic import BaseModel

from langgraph_rs import _native


class Odd(dict):
    """A dict subclass iterates its own way: LangGraph's generator reads it."""

    def __iter__(self):  # type: ignore[override]
        return iter(sorted(super().__iter__(), reverse=True))


@pytest.mark.parametrize(
    "channels,chunk",
    [
        (["a", "b"], None),
        ("x", {"any": "thing"}),
        ("x", 3),
        (["a", "b"], {"a": 1, "b": 2}),
        (["a", "b"], {}),
        (("a", "b"), {"b": 2}),
        (["a", "b"], Odd(a=1, b=2)),
    ],
)
def test_input_writes_are_langgraphs(channels: Any, chunk: Any) -> None:
    assert _native.map_input(channels, chunk) == list(map_input(channels, chunk))


def test_an_unknown_input_key_is_logged_as_langgraph_logs_it(caplog: Any) -> None:
    with caplog.at_level(logging.WARNING, logger="langgraph"):
        got = _native.map_input(["a"], {"a": 1, "z": 2})
    ours = [r.getMessage() for r in caplog.records]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="langgraph"):
        want = list(map_input(["a"], {"a": 1, "z": 2}))
    assert got == want == [("a", 1)]
    assert ours == [r.getMessage() for r in caplog.records] == ["Input channel z not found in ['a']"]


def test_a_chunk_that_is_no_dict_fails_as_langgraph_fails() -> None:
    with pytest.raises(TypeError) as ours:
        _native.map_input(["a"], [1, 2])
    with pytest.raises(TypeError) as theirs:
        list(map_input(["a"], [1, 2]))
    assert str(ours.value) == str(theirs.value)


def test_empty_checkpoint_is_langgraphs() -> None:
    ours = _native.empty_checkpoint(LATEST_VERSION, "the-id")
    theirs = empty_checkpoint()
    assert ours.keys() == theirs.keys()
    assert ours["id"] == "the-id" and ours["v"] == theirs["v"] == LATEST_VERSION
    assert ours["channel_values"] == ours["channel_versions"] == ours["versions_seen"] == {}
    assert len(ours["ts"]) == len(theirs["ts"]) and ours["ts"][:4] == theirs["ts"][:4]


@dataclasses.dataclass
class Ctx:
    user: str = "u"


class PCtx(BaseModel):
    user: str = "u"


def writer(c: Any) -> None:
    pass


def langgraphs(config: dict, schema: Any, context: Any, store: Any, stream_writer: Any, control: Any) -> Runtime:
    """``Pregel.stream``'s runtime, as LangGraph 1.2.22 makes it."""
    parent = _coerce_parent_runtime(config["configurable"].get(CONFIG_KEY_RUNTIME, DEFAULT_RUNTIME))
    runtime = Runtime(
        context=_coerce_context(schema, context),
        store=store,
        stream_writer=stream_writer,
        previous=None,
        execution_info=None,
        server_info=_build_server_info(config, parent),
        control=control or parent.control or RunControl(),
    )
    return parent.merge(runtime)


class Seeded:
    """What a server's graph factory may seed as the parent runtime: not a Runtime."""

    context = {"user": "seeded"}


STORE = object()
CONTROL = RunControl()
PARENT = Runtime(context={"user": "parent"}, store=STORE, stream_writer=writer, previous=7, control=CONTROL)


@pytest.mark.parametrize(
    "configurable,schema,context,store,control",
    [
        ({}, None, None, None, None),
        ({}, Ctx, {"user": "dict"}, None, None),
        ({}, PCtx, {"user": "dict"}, None, None),
        ({}, None, {"user": "plain"}, STORE, CONTROL),
        ({}, None, {}, None, None),  # falsy context: the parent's
        ({CONFIG_KEY_RUNTIME: PARENT}, None, None, None, None),
        ({CONFIG_KEY_RUNTIME: PARENT}, None, {"user": "own"}, object(), RunControl()),
        ({CONFIG_KEY_RUNTIME: Seeded()}, None, None, None, None),
        ({"assistant_id": "a1", "graph_id": "g"}, None, None, None, None),
        ({"langgraph_auth_user": None, "graph_id": None}, None, None, None, None),
    ],
)
@pytest.mark.parametrize("stream_writer", [writer, DEFAULT_RUNTIME.stream_writer])
def test_the_run_runtime_is_langgraphs(
    configurable: dict, schema: Any, context: Any, store: Any, control: Any, stream_writer: Any
) -> None:
    config = {"configurable": dict(configurable)}
    ours = _native.run_runtime(config, schema, context, store, stream_writer, control)
    theirs = langgraphs(config, schema, context, store, stream_writer, control)
    assert type(ours) is Runtime
    for f in dataclasses.fields(Runtime):
        a, b = getattr(ours, f.name), getattr(theirs, f.name)
        if f.name == "control" and control is None and not isinstance(
            configurable.get(CONFIG_KEY_RUNTIME), Runtime
        ):
            # a new RunControl each: compare what it holds
            assert type(a) is type(b) is RunControl and a.drain_reason is b.drain_reason is None
        else:
            assert a == b, f.name


def test_read_output_is_read_channels() -> None:
    from langgraph.graph import START, StateGraph
    from typing_extensions import TypedDict

    class S(TypedDict, total=False):
        a: int
        b: int

    g = StateGraph(S)
    g.add_node("n", lambda s: {"a": 1})
    g.add_edge(START, "n")
    from langgraph_rs._spec import spec_for

    spec = spec_for(g.compile())
    state = _native.State(spec.graph, empty_checkpoint(), None)
    state.apply_writes([("__input__", (), (), [("a", 5)])])
    assert state.read_output("a") == 5
    assert state.read_output("b") is None
    assert state.read_output(["a", "b"]) == {"a": 5}

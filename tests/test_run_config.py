"""A run's config and defaults made natively (rust/py/run_config.rs,
rust/py/run_defaults.rs), the loop's stream, and a start from an empty
checkpoint (rust/py/run_enter.rs), each against what LangGraph's own Python
makes of the same inputs."""

from __future__ import annotations

import operator
from collections import ChainMap
from typing import Annotated, Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables.config import var_child_runnable_config
from langgraph._internal._config import ensure_config
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import EmptyInputError
from langgraph.graph import START, StateGraph
from langgraph.pregel import Pregel
from langgraph.pregel.protocol import StreamProtocol
from typing_extensions import TypedDict

import langgraph_rs
from langgraph_rs import _native
from tests.diff import assert_same


class _Handler(BaseCallbackHandler):
    pass


CONFIGS: list[tuple[Any, ...]] = [
    (None, None),
    ({}, None),
    (None, {"configurable": {"thread_id": "t1"}}),
    (None, {"configurable": {"thread_id": 7, "checkpoint_ns": "", "user": "u"}, "recursion_limit": 5}),
    ({"tags": ["bound"]}, {"tags": ["a", "b"], "run_name": "r"}),
    ({"configurable": {"ls_agent_type": "x", "a": 1}}, {"configurable": {"thread_id": "t"}}),
    (None, {"thread_id": "loose", "other": [1], "empty": [], "none": None}),
    (None, {"max_concurrency": 3, "run_id": None, "tags": []}),
    (None, {"metadata": {"m": 1}, "configurable": {"thread_id": "t"}}),
    (None, {"callbacks": [_Handler()]}),
    ({"metadata": {"lc_versions": {"a": "1"}}}, {"metadata": {"lc_versions": {"b": "2"}}}),
]


def _shape(config: dict) -> Any:
    """Everything of a config a caller can see: keys in order, value types, values."""
    return [(k, type(v), dict(v) if isinstance(v, ChainMap) else v) for k, v in config.items()]


@pytest.mark.parametrize("configs", CONFIGS)
def test_the_run_config_is_ensure_configs(configs: tuple[Any, ...]) -> None:
    ours = _native.ensure_config(*configs)
    theirs = ensure_config(*configs)
    if ours.get("callbacks") is not None:  # (a handler list: merged, not copied)
        assert ours["callbacks"] == theirs["callbacks"]
        ours, theirs = {**ours, "callbacks": None}, {**theirs, "callbacks": None}
    assert _shape(ours) == _shape(theirs)
    assert type(ours["recursion_limit"]) is type(theirs["recursion_limit"])
    # the configurable is the run's own (the caller's dict is not changed later)
    if configs[1] and configs[1].get("configurable"):
        assert ours["configurable"] is not configs[1]["configurable"]


def test_the_run_config_inside_a_node_is_ensure_configs() -> None:
    ambient = ensure_config({"tags": ["outer"], "configurable": {"thread_id": "p", "x": 1}})
    token = var_child_runnable_config.set(ambient)
    try:
        for configs in [(None, None), (None, {"tags": ["outer", "inner"]}), (None, {"configurable": {"thread_id": "c"}})]:
            assert _shape(_native.ensure_config(*configs)) == _shape(ensure_config(*configs))
    finally:
        var_child_runnable_config.reset(token)


class S(TypedDict):
    x: Annotated[list, operator.add]
    y: int


def _graph(**compile_kw: Any) -> Pregel:
    g = StateGraph(S)
    g.add_node("a", lambda s: {"x": [1]})
    g.add_edge(START, "a")
    return g.compile(**compile_kw)


DEFAULTS: list[dict[str, Any]] = [
    {},
    {"stream_mode": ["updates", "values"], "print_mode": "debug"},
    {"output_keys": "x", "interrupt_before": ["a"], "durability": "sync"},
    {"output_keys": ["x", "y"], "interrupt_after": "*"},
    {"stream_mode": "custom", "print_mode": ("values", "tasks")},
]


@pytest.mark.parametrize("kw", DEFAULTS)
@pytest.mark.parametrize("saver", [False, True])
def test_the_run_defaults_are_langgraphs(kw: dict[str, Any], saver: bool) -> None:
    graph = _graph(checkpointer=InMemorySaver() if saver else None, interrupt_before=["a"])
    config = ensure_config({"configurable": {"thread_id": "t", "__pregel_durability": "exit"}})
    args = {
        "stream_mode": "values", "print_mode": (), "output_keys": None,
        "interrupt_before": None, "interrupt_after": None, "durability": None, **kw,
    }
    theirs = graph._defaults(config, **args)
    spec = langgraph_rs._spec.spec_for(graph)
    ours = _native.run_defaults(graph, spec.channels_asis, config, *args.values())
    assert ours == theirs
    assert [type(v) for v in ours] == [type(v) for v in theirs]


@pytest.mark.parametrize(
    "config,kw",
    [
        ({"recursion_limit": 0}, {}),
        ({"recursion_limit": "many"}, {}),
        ({}, {"output_keys": ["x", "nope"]}),
        ({}, {"output_keys": "nope"}),
    ],
)
def test_a_config_langgraph_rejects_raises_langgraphs_error(config: dict, kw: dict) -> None:
    graph = _graph()
    config = ensure_config(config)
    args = {
        "stream_mode": "values", "print_mode": (), "output_keys": None,
        "interrupt_before": None, "interrupt_after": None, "durability": None, **kw,
    }
    with pytest.raises(Exception) as theirs:
        graph._defaults(config, **args)
    with pytest.raises(Exception) as ours:
        _native.run_defaults(graph, [], config, *args.values())
    assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))


def test_a_saver_without_a_thread_raises_langgraphs_error() -> None:
    graph = _graph(checkpointer=InMemorySaver())
    args = ("values", (), None, None, None, None)
    with pytest.raises(ValueError) as theirs:
        graph._defaults(ensure_config(None), **dict(zip(
            ["stream_mode", "print_mode", "output_keys", "interrupt_before", "interrupt_after", "durability"], args
        )))
    with pytest.raises(ValueError) as ours:
        _native.run_defaults(graph, [], ensure_config(None), *args)
    assert str(ours.value) == str(theirs.value)


def test_a_graph_class_with_its_own_defaults_is_asked() -> None:
    calls = []

    class Mine(Pregel):
        def _defaults(self, config: Any, **kw: Any) -> Any:
            calls.append(kw["stream_mode"])
            return super()._defaults(config, **kw)

    graph = _graph()
    graph.__class__ = Mine
    _native.run_defaults(graph, [], ensure_config(None), "updates", (), None, None, None, None)
    assert calls == ["updates"]


def test_the_loop_stream_is_a_stream_protocol() -> None:
    got: list = []
    stream = _native.stream_protocol(got.append, {"values"})
    assert type(stream) is StreamProtocol
    assert stream.modes == {"values"}
    stream(("ns", "values", 1))
    assert got == [("ns", "values", 1)]


def test_invoke_output_takes_what_is_queued() -> None:
    out = _native.InvokeOutput("values", "v1")
    assert out.take(lambda: iter([((), "values", {"x": 1}), ((), "values", {"x": 2})])) == ()
    assert out.result() == {"x": 2}


def _builder() -> StateGraph:
    g = StateGraph(S)
    g.add_node("a", lambda s: {"x": [1], "y": len(s["x"])})
    g.add_edge(START, "a")
    return g


@pytest.mark.parametrize(
    "input,config",
    [
        ({"x": [1]}, {}),
        ({}, {}),
        (None, {}),
        ({"z": 1}, {}),
        ({}, {"configurable": {"__pregel_resuming": False}}),
        ({"x": [1]}, {"recursion_limit": 2.5}),
        ({"x": [1]}, {"recursion_limit": 3, "tags": ["t"], "max_concurrency": 2}),
    ],
)
@pytest.mark.parametrize("saver", [False, True])
@pytest.mark.parametrize("is_async", [False, True])
def test_a_start_from_nothing_saved_is_stocks(
    input: Any, config: dict, saver: bool, is_async: bool
) -> None:
    run_config = {**config, "configurable": {"thread_id": "1", **config.get("configurable", {})}}

    def build() -> tuple[Any, Any]:
        cp = InMemorySaver() if saver else None
        return _builder().compile(checkpointer=cp), cp

    def scenario(graph: Any) -> Any:
        if is_async:
            return graph.ainvoke(input, run_config)
        return [graph.invoke(input, run_config), list(graph.stream(input, run_config, stream_mode="debug"))]

    assert_same(build, scenario)

"""A run makes its task configs from a template (rust/py/task_config.rs,
``ConfigTemplate``): one for the nodes that add no tags or metadata of their
own, one per node for the others. What a node sees of its config must stay
LangGraph's exactly — keys in order, metadata, tags, run name, configurable
keys, callback tags and metadata — on every task of the run, for nodes that
run more than once, and from one invoke to the next."""

from __future__ import annotations

import operator
from typing import Annotated, Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from typing_extensions import TypedDict

from tests.diff import assert_same


class S(TypedDict):
    n: int
    seen: Annotated[list, operator.add]


def _seen(config: dict) -> tuple:
    callbacks = config.get("callbacks")
    return (
        list(config),
        config.get("run_name"),
        config.get("tags"),
        config.get("recursion_limit"),
        config.get("metadata"),
        sorted(config["configurable"]),
        None if callbacks is None else (callbacks.tags, callbacks.inheritable_tags, callbacks.metadata),
    )


def build(with_metadata: bool) -> Any:
    def loop(s: S) -> dict:
        return {"n": s["n"] + 1, "seen": [("loop", _seen(get_config()))]}

    def tagged(s: S) -> dict:
        return {"seen": [("tagged", _seen(get_config()))]}

    def fan(s: Any) -> dict:
        return {"seen": [("fan", _seen(get_config()))]}

    g = StateGraph(S)
    g.add_node("loop", loop)
    meta = {"langgraph_node": "renamed", "k": 1} if with_metadata else None
    g.add_node("tagged", tagged, metadata=meta)
    g.add_node("fan", fan)
    g.add_edge(START, "loop")
    g.add_conditional_edges("loop", lambda s: "loop" if s["n"] < 3 else "tagged")
    g.add_conditional_edges("tagged", lambda s: [Send("fan", {"n": i, "seen": []}) for i in range(3)])
    g.add_edge("fan", END)
    return g.compile(), None


CONFIGS = [
    None,
    {"tags": ["run"], "metadata": {"user": "u"}, "run_name": "mine", "recursion_limit": 40},
    {"tags": [], "metadata": {}, "configurable": {"extra": 1}},
    # a mapping value in the run's metadata: copied per task, no template
    {"metadata": {"nested": {"a": 1}}, "tags": ["x", "y"]},
]


@pytest.mark.parametrize("with_metadata", [False, True])
@pytest.mark.parametrize("config", CONFIGS)
def test_configs_seen_by_nodes_are_langgraphs(with_metadata: bool, config: Any) -> None:
    def scenario(g: Any) -> Any:
        first = g.invoke({"n": 0, "seen": []}, config)
        second = list(g.stream({"n": 1, "seen": []}, config, stream_mode="values"))
        return first, second

    out = assert_same(lambda: build(with_metadata), scenario)
    first, _ = out.value
    # the loop ran three times, the fan-out three: every task saw its own config
    assert [name for name, _ in first["seen"]].count("loop") == 3
    assert [name for name, _ in first["seen"]].count("fan") == 3


class Recorder(BaseCallbackHandler):
    """The chain runs a handler sees: their names (a task's run name), tags
    and metadata."""

    def __init__(self) -> None:
        self.runs: list = []

    def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
        self.runs.append((kwargs.get("name"), kwargs.get("tags"), kwargs.get("metadata")))


@pytest.mark.parametrize("with_metadata", [False, True])
def test_callback_runs_of_tasks_are_langgraphs(with_metadata: bool) -> None:
    def scenario(g: Any) -> Any:
        recorder = Recorder()
        g.invoke({"n": 0, "seen": []}, {"callbacks": [recorder], "tags": ["run"]})
        return recorder.runs

    runs = assert_same(lambda: build(with_metadata), scenario).value
    # each task's run is named after its node
    names = [name for name, _, _ in runs]
    assert names.count("loop") == 3 and names.count("fan") == 3 and "tagged" in names


def test_async_configs_seen_by_nodes_are_langgraphs() -> None:
    async def scenario(g: Any) -> Any:
        return await g.ainvoke({"n": 0, "seen": []}, CONFIGS[1])

    assert_same(lambda: build(True), scenario)

"""A checkpoint's ``channel_versions`` and ``versions_seen`` are its own dicts
(the engine makes them from the previous checkpoint's, rust/py/versions_py.rs):
a saver that keeps and then scribbles over the dicts it was given changes
nothing of what the run saves next — the same checkpoints as on stock."""

from __future__ import annotations

import copy
import operator
from typing import Annotated, Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from typing_extensions import TypedDict

from tests.diff import assert_same


class Scribbler(InMemorySaver):
    """Records a deep copy of each checkpoint, then mutates the dicts it got."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list = []

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        out = super().put(config, checkpoint, metadata, new_versions)
        self.seen.append(copy.deepcopy((checkpoint["channel_versions"], checkpoint["versions_seen"])))
        checkpoint["channel_versions"]["scribbled"] = 1
        checkpoint["channel_versions"].clear()
        for d in checkpoint["versions_seen"].values():
            d["scribbled"] = 1
        checkpoint["versions_seen"]["scribbled"] = {}
        return out


class S(TypedDict):
    x: int
    log: Annotated[list, operator.add]


def _graph() -> Any:
    g = StateGraph(S)
    g.add_node("a", lambda s: {"x": s["x"] + 1, "log": ["a"]})
    g.add_node("b", lambda s: {"log": [f"b{s['x']}"]})
    g.add_node("c", lambda s: {"x": s["x"] + 10})
    g.add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: [Send("b", {"x": i, "log": []}) for i in range(3)] + ["c"], ["b", "c"])
    g.add_conditional_edges("c", lambda s: "a" if s["x"] < 40 else END, ["a", END])
    g.add_edge("b", END)
    return g


def test_a_saver_scribbling_over_its_checkpoints_changes_nothing_saved_next() -> None:
    savers: list[Scribbler] = []

    def build() -> tuple[Any, Any]:
        saver = Scribbler()
        savers.append(saver)
        return _graph().compile(checkpointer=saver), saver

    def scenario(g: Any) -> Any:
        config = {"configurable": {"thread_id": "1"}}
        out = g.invoke({"x": 0, "log": []}, config, durability="sync")
        again = g.invoke({"x": 1, "log": []}, config, durability="sync")
        return out, again

    assert_same(build, scenario)
    stock, ours = savers
    assert len(ours.seen) == len(stock.seen) > 8
    assert ours.seen == stock.seen

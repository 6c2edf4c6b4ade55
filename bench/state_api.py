"""The state APIs on a long thread: ``get_state`` and ``get_state_history``.

A chat-like thread of about 1,000 checkpoints (``--quick``: about 100): each
turn appends the user's message, and one node appends an answer
(``add_messages``), so the latest state holds two messages per turn, as a long
conversation does. The thread is written once, into one InMemorySaver that both
engines then read: each times ``get_state(config)`` (µs per call) and
``list(get_state_history(config))`` (ms per call) on the same checkpoints.
On that thread the saver's ``get_tuple`` (deserialising every message) is
nearly all of the time, so two more cases show the engine's own share:
``snapshot_*`` turns the already loaded checkpoints into snapshots (what
``get_state`` does after ``get_tuple``), and ``get_state_wide`` reads a small
state mid-step: ten parallel nodes, one waiting on an interrupt, nine done;
``update_state_wide`` updates that state as the waiting node.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from harness import Case, Cfg, Row, seconds_per_call, timed_row, use
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt
from typing_extensions import TypedDict

GROUP = "state_api"
# a turn saves 3 checkpoints: its input, after __start__, after the node
CHECKPOINTS_PER_TURN = 3


class Chat(TypedDict):
    messages: Annotated[list, add_messages]


def answer(s: Chat) -> dict:
    return {"messages": [AIMessage(f"answer {len(s['messages'])}")]}


def long_thread(checkpoints: int) -> tuple[Any, dict, int]:
    """The compiled graph, the thread's config and how many checkpoints it holds
    (written on stock LangGraph)."""
    use("stock")
    g = StateGraph(Chat)
    g.add_node("answer", answer)
    g.add_edge(START, "answer")
    graph = g.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    for turn in range(max(1, checkpoints // CHECKPOINTS_PER_TURN)):
        graph.invoke({"messages": [HumanMessage(f"question {turn}")]}, config)
    held = sum(1 for _ in graph.checkpointer.list(config))
    return graph, config, held


def size(cfg: Cfg) -> int:
    return 100 if cfg.quick else 1_000


def get_state(cfg: Cfg) -> Row:
    graph, config, held = long_thread(size(cfg))
    row = timed_row(
        f"get_state_{size(cfg)}_checkpoints", GROUP,
        lambda e, n: seconds_per_call(lambda: graph.get_state(config), n), cfg,
        note=f"µs per get_state of a thread of {held} checkpoints, "
        f"{len(graph.get_state(config).values['messages'])} messages (InMemorySaver)",
    )
    row.extra["checkpoints"] = held
    return row


def get_state_history(cfg: Cfg) -> Row:
    graph, config, held = long_thread(size(cfg))
    row = timed_row(
        f"get_state_history_{size(cfg)}_checkpoints", GROUP,
        lambda e, n: seconds_per_call(lambda: list(graph.get_state_history(config)), n), cfg,
        unit="ms", scale=1e3,
        note=f"ms per list(get_state_history) of a thread of {held} checkpoints (InMemorySaver)",
    )
    row.extra["checkpoints"] = held
    return row


def snapshot(cfg: Cfg) -> Row:
    graph, config, held = long_thread(size(cfg))
    saver = graph.checkpointer
    loaded = list(saver.list(config))

    def batch(engine: str, n: int) -> float:
        def all_snapshots() -> None:
            for t in loaded:
                graph._prepare_state_snapshot(t.config, t, saver=saver)

        return seconds_per_call(all_snapshots, n) / len(loaded)

    row = timed_row(
        f"snapshot_{size(cfg)}_checkpoints", GROUP, batch, cfg,
        note=f"µs per checkpoint: the {held} loaded checkpoints of that thread made "
        "snapshots (get_state minus the saver's get_tuple)",
    )
    row.extra["checkpoints"] = held
    return row


WIDE = 10


class Wide(TypedDict, total=False):
    start: int
    done: Annotated[list, lambda a, b: a + b]
    answer: str


def wide_thread() -> tuple[Any, dict]:
    """Ten parallel nodes after ``start``; ``w0`` waits on an interrupt, the
    other nine finished (their writes pending on the checkpoint)."""
    use("stock")
    g = StateGraph(Wide)
    g.add_node("start", lambda s: {"start": 1})
    g.add_edge(START, "start")
    for i in range(WIDE):
        if i == 0:
            g.add_node("w0", lambda s: {"answer": interrupt("ok?")})
        else:
            g.add_node(f"w{i}", lambda s, i=i: {"done": [i]})
        g.add_edge("start", f"w{i}")
    graph = g.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    graph.invoke({"done": []}, config)
    return graph, config


def get_state_wide(cfg: Cfg) -> Row:
    graph, config = wide_thread()
    return timed_row(
        "get_state_wide", GROUP,
        lambda e, n: seconds_per_call(lambda: graph.get_state(config), n), cfg,
        note=f"µs per get_state mid-step: {WIDE} parallel tasks, one interrupted, "
        f"{WIDE - 1} finished (InMemorySaver)",
    )


def update_state_wide(cfg: Cfg) -> Row:
    graph, config = wide_thread()
    # the interrupted checkpoint by id: each call forks from it (an O(1) read
    # for InMemorySaver however many checkpoints the calls add)
    at = graph.get_state(config).config
    return timed_row(
        "update_state_wide", GROUP,
        lambda e, n: seconds_per_call(lambda: graph.update_state(at, {"answer": "yes"}, as_node="w0"), n),
        cfg,
        note=f"µs per update_state as the interrupted node of that step ({WIDE} parallel "
        "tasks planned, the update's writers run, a checkpoint put; InMemorySaver)",
    )


def cases(cfg: Cfg) -> list[Case]:
    return [
        Case(f"get_state_{size(cfg)}_checkpoints", GROUP, get_state,
             "get_state of a long chat thread (InMemorySaver)"),
        Case(f"get_state_history_{size(cfg)}_checkpoints", GROUP, get_state_history,
             "the whole get_state_history of that thread"),
        Case(f"snapshot_{size(cfg)}_checkpoints", GROUP, snapshot,
             "that thread's loaded checkpoints made snapshots (no saver call)"),
        Case("get_state_wide", GROUP, get_state_wide,
             "get_state of a small state mid-step, 10 parallel tasks"),
        Case("update_state_wide", GROUP, update_state_wide,
             "update_state as the interrupted node of that step"),
    ]

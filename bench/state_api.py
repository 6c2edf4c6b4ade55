"""The state APIs on a long thread: ``get_state`` and ``get_state_history``.

A chat-like thread of about 1,000 checkpoints (``--quick``: about 100): each
turn appends the user's message, and one node appends an answer
(``add_messages``), so the latest state holds two messages per turn, as a long
conversation does. The thread is written once, into one InMemorySaver that both
engines then read: each times ``get_state(config)`` (µs per call) and
``list(get_state_history(config))`` (ms per call) on the same checkpoints.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from harness import Case, Cfg, Row, seconds_per_call, timed_row, use
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
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


def cases(cfg: Cfg) -> list[Case]:
    return [
        Case(f"get_state_{size(cfg)}_checkpoints", GROUP, get_state,
             "get_state of a long chat thread (InMemorySaver)"),
        Case(f"get_state_history_{size(cfg)}_checkpoints", GROUP, get_state_history,
             "the whole get_state_history of that thread"),
    ]

"""Fuzz family "prebuilt": programs assembled from the ecosystem's prebuilt pieces,
driven by the offline :class:`~tests.fuzz.scripted_model.ScriptedChatModel`.

A program is one of

* ``toolnode``   -- a hand-written StateGraph: an agent node and a ``ToolNode``,
  called by ``tools_condition``, by ``Send`` of one tool call, or by ``Send`` of a
  ``ToolCallWithContext``;
* ``react``      -- ``create_react_agent`` (v1 or v2, prompt, pre/post model hooks);
* ``agent``      -- langchain's ``create_agent`` with middleware (``wrap_tool_call``,
  ``before_model`` / ``after_model`` hooks, a jump to the end, model/tool call
  limits, human-in-the-loop reviews) and structured output;
* ``supervisor`` -- langgraph-supervisor's ``create_supervisor`` over two workers
  (``create_react_agent`` or ``create_agent``);
* ``swarm``      -- langgraph-swarm's ``create_swarm`` of two agents that hand off
  to each other.

The tools are the ones of :mod:`tests.ecosystem` (whole state, one state key,
the store, ``ToolRuntime``, a ``Command``, a failing one) plus ``ask``
(``interrupt()``) and, in async programs, ``later`` (an async tool). A model's
script lists its turns: tool calls and a final answer last (plain, or structured
output), so every conversation ends. Several calls in one turn run in parallel:
distinct tools, whose distinct pauses, in an order robust to the tasks starting
one after another, fix the order in which they finish (:func:`prebuilt_gen.robust`).

The runs (:mod:`tests.fuzz.invocations`): sync or async, invoke / stream with
random stream modes (``messages``, and ``tools`` when one tool runs at a time),
``subgraphs=True``, ``version="v2"``, durability, a context, no checkpointer /
InMemorySaver / SqliteSaver, ``interrupt_before`` / ``interrupt_after`` the tools
(at compile time or per call), resumes (one value, a map of the interrupts, the
decisions of a human review), and between the calls state updates, replays from
a past checkpoint, ``get_state(subgraphs=True)``. A spec is plain data::

    {"kind", "is_async",                 # async nodes and hooks (and async calls)
     "saver": none|memory|sqlite, "store": bool, "tokens": bool,
     "errors": all|default|none,         # handle_tool_errors (all: ToolErrorMiddleware too)
     "route": condition|send|context,    # toolnode
     "version": v1|v2,                   # react
     "workers": react|agent,             # supervisor, swarm: how the agents are made
     "hooks": [...],                     # react: pre/post; agent: middleware names
     "hitl": None | {"mode": batched|per_call, "tools": [...], "decisions": [...]},
     "prompt": bool, "structured": bool, # create_agent's response_format
     "ib": bool,                         # interrupt_before=["tools"] at compile time
     "output_mode", "handback": bool,    # supervisor
     "agents": [{"name", "tools": [...], "script": [turn, ...]}],   # the first drives
     "calls": [call, ...]}               # a turn: "text" or [[tool, q or None], ...]

ToolMessages get ids as tools return them when a checkpointer saves them (see
:mod:`tests.ecosystem`); pieces that make messages without ids where no wrapper
reaches (the supervisor's hand-back messages, structured output, batched
rejections) are only used without one.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from tests.fuzz.invocations import simpler_calls
from tests.fuzz.prebuilt_gen import generate
from tests.fuzz.prebuilt_render import async_run, render

__all__ = ["generate", "render", "candidates"]


def _with(spec: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(spec), **changes}


def _agent_variants(spec: dict[str, Any], i: int) -> Iterator[dict[str, Any]]:
    agent = spec["agents"][i]
    script = agent["script"]

    def put(**changes: Any) -> dict[str, Any]:
        agents = copy.deepcopy(spec["agents"])
        agents[i] = {**agents[i], **changes}
        return _with(spec, agents=agents)

    for k in range(len(script) - 1):  # fewer turns (the final answer stays)
        yield put(script=script[:k] + script[k + 1 :])
    for k, turn in enumerate(script[:-1]):
        for j in range(len(turn)):
            if len(turn) > 1:
                yield put(script=script[:k] + [turn[:j] + turn[j + 1 :]] + script[k + 1 :])
    used = {name for turn in script if isinstance(turn, list) for name, _ in turn}
    for name in agent["tools"]:
        if name not in used:
            yield put(tools=[t for t in agent["tools"] if t != name])


def candidates(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Smaller specs: fewer calls, turns, parallel tool calls, tools, options."""
    for calls in simpler_calls(spec["calls"]):
        yield _with(spec, calls=calls)
    for i in range(len(spec["agents"])):
        yield from _agent_variants(spec, i)
    for hook in spec["hooks"]:
        yield _with(spec, hooks=[h for h in spec["hooks"] if h != hook])
    if spec["hitl"]:
        calls = [{**c, "input": "None" if c["input"].startswith("_review") else c["input"]} for c in spec["calls"]]
        yield _with(spec, hitl=None, calls=calls)
        if len(spec["hitl"]["tools"]) > 1:
            yield _with(spec, hitl={**spec["hitl"], "tools": spec["hitl"]["tools"][:1]})
        if len(set(spec["hitl"]["decisions"])) > 1:
            yield _with(spec, hitl={**spec["hitl"], "decisions": spec["hitl"]["decisions"][:1]})
    if spec["workers"] == "agent":
        yield _with(spec, workers="react")
    remembers = any("remember" in a["tools"] for a in spec["agents"])
    for key, plain in (("ib", False), ("prompt", False), ("tokens", False), ("store", remembers), ("errors", "default")):
        if spec[key] != plain:
            yield _with(spec, **{key: plain})
    if spec["route"] not in (None, "condition"):
        yield _with(spec, route="condition")
    if spec["version"] == "v2":
        yield _with(spec, version="v1")
    if spec["saver"] == "sqlite":
        yield _with(spec, saver="memory")
    called = {n for a in spec["agents"] for t in a["script"] if isinstance(t, list) for n, _ in t}
    if async_run(spec) and "later" not in called:  # (an async tool)
        yield _with(spec, is_async=False, calls=[_sync(c) for c in spec["calls"]])


def _sync(call: dict[str, Any]) -> dict[str, Any]:
    method = {"ainvoke": "invoke", "astream": "stream"}.get(call["method"], call["method"])
    inp = call["input"].replace("await graph.aget_state(", "graph.get_state(")
    return {**call, "method": method, "input": inp}

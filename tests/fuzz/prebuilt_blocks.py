"""Fixed pieces of the "prebuilt" family's programs (see :mod:`tests.fuzz.prebuilt`):
tools and middleware the programs define, and their ``run(graph, rec)``: the calls
of :mod:`tests.fuzz.invocations` plus state updates, replays from a past
checkpoint and looks at the subgraphs' states."""

from __future__ import annotations

from typing import Any

from tests.fuzz.invocations import HELPERS, render_call

ASK = '''
@tool
def ask(q: str) -> str:
    """Asks a human (interrupts the run)."""
    pause(7)  # parallel calls finish in a fixed order
    return f"{q}: {interrupt({'question': q})!r}"
'''

ANSWER = '''
class Answer(TypedDict):
    """The final answer (structured output: the model calls it as a tool)."""

    q: str
'''

LATER = '''
@tool
async def later(q: str) -> str:
    """Answers asynchronously."""
    await apause(8)  # parallel calls finish in a fixed order
    return f"{q}: later"
'''

COMMAND_IDS = '''
def command_ids(request, execute):
    """tool_ids, and ids for the ToolMessages a handoff's Command carries too."""
    return _with_ids(tool_ids(request, execute))


async def acommand_ids(request, execute):
    return _with_ids(await atool_ids(request, execute))


def _with_ids(out):
    if isinstance(out, Command) and isinstance(out.update, dict):
        for m in out.update.get("messages", ()):
            if isinstance(m, ToolMessage) and m.id is None:
                m.id = f"tool-{m.tool_call_id}"
    return out
'''

TOOL_IDS = '''
class ToolIds(AgentMiddleware):
    """ToolMessages get an id as the tool returns them (see tests/ecosystem.py)."""

    def wrap_tool_call(self, request, handler):
        return {ids}(request, handler)

    async def awrap_tool_call(self, request, handler):
        return await a{ids}(request, handler)
'''

TOOL_ERROR = '''
def tool_error(exc, request):
    """ToolErrorMiddleware: every error of a tool goes back to the model."""
    return f"{type(exc).__name__}: {exc}"
'''

SUFFIX = '''
class Suffix(AgentMiddleware):
    """wrap_tool_call: tags each tool's answer with the tool's name."""

    def wrap_tool_call(self, request, handler):
        return self._tag(request, handler(request))

    async def awrap_tool_call(self, request, handler):
        return self._tag(request, await handler(request))

    def _tag(self, request, out):
        if isinstance(out, ToolMessage):
            out.content = f"{out.content} [{request.tool_call['name']}]"
        return out
'''

REVIEW = '''
def _review(snapshot):
    """Answers every pending interrupt: a review (one decision per call, in turn
    from DECISIONS) or a question of the "ask" tool."""
    answers = {}
    for j, pending in enumerate(snapshot.interrupts):
        value = pending.value
        if "question" in value:
            answers[pending.id] = f"answer {j}"
        elif value.get("type") == "tool_approval":  # per call
            answers[pending.id] = _decision(j, value["name"])
        else:  # batched: one decision per action request
            calls = value["action_requests"]
            answers[pending.id] = {"decisions": [_decision(j + k, c["name"]) for k, c in enumerate(calls)]}
    return Command(resume=answers)


def _decision(k, name):
    kind = DECISIONS[k % len(DECISIONS)]
    if kind == "edit":
        return {"type": "edit", "edited_action": {"name": name, "args": {"q": f"edited{k}"}}}
    if kind == "approve":
        return {"type": "approve"}
    return {"type": kind, "message": f"{kind} {k}"}
'''


# -- run(graph, rec) ----------------------------------------------------------------


def _update(call: dict[str, Any], n: int, is_async: bool) -> list[str]:
    values = f'{{"messages": [HumanMessage("note {n}", id="u{n}")]{call["values"]}}}'
    node = f", as_node={call['as_node']!r}" if call["as_node"] else ""
    aw, a = ("await ", "a") if is_async else ("", "")
    return [
        f"    # call {n}: update the state" + (f" as {call['as_node']!r}" if call["as_node"] else ""),
        f"    rec.append({aw}graph.{a}update_state(cfg, {values}{node}))",
    ]


def _replay(call: dict[str, Any], n: int, is_async: bool) -> list[str]:
    back = call["back"]
    if is_async:
        past = f"[s.config async for s in graph.aget_state_history(cfg)][{back}:{back + 1}]"
    else:
        past = f"[s.config for s in graph.get_state_history(cfg)][{back}:{back + 1}]"
    kwargs = f", stream_mode={call['modes']!r}" if call["modes"] else ""
    kwargs += f", durability={call['durability']!r}" if call["durability"] else ""
    a = "a" if is_async else ""
    return [
        f"    # call {n}: replay from the checkpoint {back} back",
        f"    past = {past}",
        f"    {a and 'async '}for chunk in graph.{a}stream(None, past[0] if past else cfg{kwargs}):",
        "        rec.append(_plain(chunk))",
    ]


SAVERLESS = '''
def _saverless(snapshot):
    """A snapshot without the saver LangGraph leaves in the configs of its
    subgraphs' snapshots (an object: it compares by identity)."""
    conf = {k: v for k, v in snapshot.config["configurable"].items() if k != "__pregel_checkpointer"}
    tasks = tuple(t._replace(state=_saverless(t.state)) if hasattr(t.state, "tasks") else t for t in snapshot.tasks)
    return snapshot._replace(config={**snapshot.config, "configurable": conf}, tasks=tasks)
'''


def _substate(call: dict[str, Any], n: int, is_async: bool) -> list[str]:
    get = "await graph.aget_state" if is_async else "graph.get_state"
    return [
        f"    # call {n}: the state, with the states of the subgraphs",
        f"    rec.append(_plain(_saverless({get}(cfg, subgraphs=True))))",
    ]


OPS = {"update": _update, "replay": _replay, "substate": _substate}


def render_run(calls: list[dict[str, Any]], is_async: bool) -> str:
    """``invocations.render_run``, and the calls "update", "replay" and "substate"."""
    head = "async def run(graph, rec):" if is_async else "def run(graph, rec):"
    body = []
    for n, call in enumerate(calls):
        if call["method"] in OPS:
            step = OPS[call["method"]](call, n, is_async)
            body += [step[0], f'    cfg = {{"configurable": {{"thread_id": "{call["thread"]}"}}}}', "    try:"]
            body += [f"    {line}" for line in step[1:]] + ["    except Exception as exc:", "        _seen(rec, exc)"]
        else:
            body += render_call(call, n, is_async)
    helpers = HELPERS + (SAVERLESS if any(c["method"] == "substate" for c in calls) else "")
    return helpers + "\n\n" + "\n".join([head, *body, "    return len(rec)"]) + "\n"

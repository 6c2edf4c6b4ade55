"""Random specs of the "prebuilt" fuzz family (see :mod:`tests.fuzz.prebuilt`)."""

from __future__ import annotations

import random
from typing import Any

from tests.fuzz.invocations import gen_calls, gen_modes

TOOLS = ["whole_state", "messages_field", "remember", "with_runtime", "commanding", "failing"]
KINDS = ["toolnode"] * 3 + ["react"] * 3 + ["agent"] * 3 + ["supervisor"] * 2 + ["swarm"] * 2
MIDDLEWARE = ["before", "after", "wrap", "jump", "model_limit", "tool_limit"]
FINALS = ["done", "all set", "that is all"]
# pause units of each tool before it answers (tests/ecosystem.py; "ask" and "later"
# are defined by the program; "lookup" and calls with bad arguments fail at once)
PAUSES = {name: i + 1 for i, name in enumerate(TOOLS)} | {"ask": 7, "later": 8}
MODES = ["values", "updates", "custom", "tasks", "checkpoints", "debug", "messages"]


def _parallel(spec: dict[str, Any]) -> bool:
    """Whether tools ever run at the same time (then "tools" mode races)."""
    return any(isinstance(t, list) and len(t) > 1 for a in spec["agents"] for t in a["script"])


def handoffs(spec: dict[str, Any], agent: dict[str, Any]) -> list[str]:
    if spec["kind"] == "swarm":
        return [f"transfer_to_{a['name']}" for a in spec["agents"] if a is not agent]
    if spec["kind"] == "supervisor" and agent is spec["agents"][0]:
        return [f"transfer_to_{a['name']}" for a in spec["agents"][1:]]
    return []


def _turn(rng: random.Random, spec: dict[str, Any], agent: dict[str, Any], k: int) -> list[list[Any]]:
    names = list(agent["tools"])
    if spec["saver"] != "none" and rng.random() < 0.25:
        names.append("ask")  # interrupt()
    if spec["is_async"] and rng.random() < 0.2:
        names.append("later")  # an async tool
    if rng.random() < 0.05:
        names.append("lookup")  # a tool nobody has
    picked = rng.sample(names, rng.randint(1, min(3, len(names)))) if names else []
    if "failing" in picked and spec["errors"] != "all" and ("ask" in picked or "later" in picked):
        picked.remove("ask" if "ask" in picked else "later")  # the failure ends the step while it runs
    calls = [[name, f"{name[:3]}{k}"] for name in picked]
    # arguments that do not validate: an error at once (so not beside others), whose
    # text shows the injected arguments (so not a store or a runtime: their reprs)
    if calls and (spec["errors"] != "none" or len(calls) == 1) and rng.random() < 0.05:
        if calls[0][0] not in ("remember", "with_runtime"):
            calls[0][1] = None
    if not robust(calls):
        calls.sort(key=_pause)
    return calls


def _pause(call: list[Any]) -> int:
    return 0 if call[1] is None else PAUSES.get(call[0], 0)


def robust(calls: list[list[Any]]) -> bool:
    """Whether parallel calls finish in a fixed order although their tasks start
    one after another (some ms apart, in the order of the calls): a call may
    finish before an earlier one only by a margin of more pause units than the
    calls between them."""
    units = [_pause(c) for c in calls]
    return all(
        units[i] != units[j] and (units[i] < units[j] or units[i] - units[j] > j - i)
        for i in range(len(units))
        for j in range(i + 1, len(units))
    )


def _script(rng: random.Random, spec: dict[str, Any], agent: dict[str, Any], turns: int) -> list[Any]:
    out: list[Any] = []
    for k in range(rng.randint(0, turns)):
        hands = handoffs(spec, agent)
        if hands and (not agent["tools"] or rng.random() < 0.5):
            out.append([[rng.choice(hands), None]])
        elif agent["tools"]:
            out.append(_turn(rng, spec, agent, k))
    return out + [rng.choice(FINALS)]


def _agents(rng: random.Random, spec: dict[str, Any]) -> list[dict[str, Any]]:
    kind = spec["kind"]
    names = {"supervisor": ["sup", "alice", "bob"], "swarm": ["alice", "bob"]}.get(kind, ["m"])
    agents = []
    for name in names:
        k = 0 if name == "sup" else rng.randint(1 if kind in ("toolnode", "react", "agent") else 0, 4)
        agents.append({"name": name, "tools": rng.sample(TOOLS, k), "script": []})
    spec["agents"] = agents
    for agent in agents:
        agent["script"] = _script(rng, spec, agent, 3 if len(agents) == 1 else 2)
    return agents


def _hitl(rng: random.Random, spec: dict[str, Any]) -> dict[str, Any] | None:
    """HumanInTheLoopMiddleware: which tools are reviewed, and the decisions, in turn.
    Batched reviews only approve or edit: a reject or respond there answers with a
    ToolMessage without an id (a race on stock, as ``tests/ecosystem.py`` says)."""
    if spec["kind"] != "agent" or spec["saver"] == "none" or rng.random() < 0.5:
        return None
    turns = [t for t in spec["agents"][0]["script"] if isinstance(t, list)]
    called = sorted({n for t in turns for n, _ in t})
    # a per-call review takes some ms (it builds a pydantic schema) before it
    # interrupts, or checks the answer: no tool may run beside it
    alone = [n for n in called if all(len(t) == 1 for t in turns if n in (m for m, _ in t))]
    if not called:
        return None
    mode = rng.choice(["batched", "per_call"]) if alone else "batched"
    kinds = ["approve", "edit"] + (["reject", "respond"] if mode == "per_call" else [])
    gated = alone if mode == "per_call" else called
    return {
        "mode": mode,
        "tools": rng.sample(gated, rng.randint(1, len(gated))),
        "decisions": [rng.choice(kinds) for _ in range(rng.randint(1, 3))],
    }


def generate(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(KINDS)
    is_async = rng.random() < 0.4
    saver = rng.choice(["none", "memory", "memory"] if is_async else ["none", "memory", "memory", "sqlite"])
    spec: dict[str, Any] = {
        "kind": kind,
        "is_async": is_async,
        "saver": saver,
        "store": rng.random() < 0.7,
        "tokens": rng.random() < 0.5,
        "errors": rng.choice(["all", "all", "default", "none"]),
        "route": rng.choice(["condition", "send", "context"]) if kind == "toolnode" else None,
        "version": rng.choice(["v1", "v2"]) if kind == "react" else None,
        "workers": rng.choice(["react", "agent"]) if kind in ("supervisor", "swarm") else None,
        "prompt": kind in ("react", "agent") and rng.random() < 0.3,
        # interrupt_before=["tools"] (of the workers in supervisor and swarm)
        "ib": saver != "none" and rng.random() < 0.3,
        # response_format=ToolStrategy(Answer): its ToolMessage has no id (a race when saved)
        "structured": kind == "agent" and saver == "none" and rng.random() < 0.4,
        "output_mode": rng.choice(["last_message", "full_history"]) if kind == "supervisor" else None,
        # the messages handing back to the supervisor have no ids: a race on stock
        # between saving the node's writes and add_messages giving them ids
        "handback": kind == "supervisor" and saver == "none" and rng.random() < 0.7,
    }
    spec["hooks"] = _hooks(rng, spec)
    spec["agents"] = _agents(rng, spec)
    if spec["structured"]:
        script = spec["agents"][0]["script"]
        script[-1] = [["Answer", script[-1]]]  # the final answer, structured
    if any("remember" in a["tools"] for a in spec["agents"]):
        spec["store"] = True  # else it fails at once, while the tools beside it run on
    spec["hitl"] = _hitl(rng, spec)
    spec["calls"] = _calls(rng, spec)
    return spec


def _hooks(rng: random.Random, spec: dict[str, Any]) -> list[str]:
    kind = spec["kind"]
    if kind == "react":  # (with version v1, a post-model hook's router raises KeyError 'tools')
        return [h for h in ("pre", "post") if rng.random() < 0.3 and (h == "pre" or spec["version"] == "v2")]
    if kind == "agent":
        return [m for m in MIDDLEWARE if rng.random() < 0.2]
    return []


def _calls(rng: random.Random, spec: dict[str, Any]) -> list[dict[str, Any]]:
    saver = spec["saver"] != "none"
    asks = any(name == "ask" for a in spec["agents"] for t in a["script"] if isinstance(t, list) for name, _ in t)
    # async programs run async; sync ones too at times (not on SqliteSaver: sync only)
    arun = spec["is_async"] or (spec["saver"] != "sqlite" and rng.random() < 0.2)
    resumes: tuple[str, ...] = ("None",)
    if spec["hitl"]:
        review = "_review(await graph.aget_state(cfg))" if arun else "_review(graph.get_state(cfg))"
        resumes = (review, review, review, "RESUME", "None")
    elif asks:
        resumes = ("RESUME", "RESUME_MAP", "None")
    single = spec["kind"] in ("toolnode", "react", "agent")
    extras = ['context={"user": "u1"}']
    if saver and single:
        extras += ['interrupt_before=["tools"]', 'interrupt_after=["tools"]']
    pausing = asks or spec["ib"] or spec["hitl"]
    calls = gen_calls(
        rng,
        is_async=arun,
        saver=saver,
        inputs=["HI", "HI", "MORE"],
        resumes=0.7 if pausing else 0.1,
        resume_inputs=resumes,
        n_max=4 if pausing else 3,
        extras=extras,
        # small limits: the agents read the managed value "remaining_steps"
        limits=(None, None, None, 3, 5, 8),
        concurrency=(None, None, None, 1, 2),
    )
    if saver and rng.random() < 0.3:
        calls.insert(rng.randint(1, len(calls)), _state_op(rng, spec, calls))
    for call in calls:
        if call["method"] in ("update", "substate"):
            continue
        if call["modes"] is not None and rng.random() < 0.5:
            call["modes"] = gen_modes(rng, MODES + ([] if _parallel(spec) else ["tools"]))
        if call["method"].endswith("stream") and not single and rng.random() < 0.3:
            call["subgraphs"] = True
        modes = call["modes"] if isinstance(call["modes"], list) else [call["modes"]]
        if call["subgraphs"] or "custom" in modes or "messages" in modes:
            # then LangGraph streams through a waiter that takes a worker of the
            # pool: with max_concurrency it could starve the tasks
            call["max_concurrency"] = None
    return calls


NODES = {
    "toolnode": ["agent", "tools"],
    "react": ["agent", "tools"],
    "agent": ["model", "tools"],
    "supervisor": ["supervisor", "alice", "bob"],
    "swarm": ["alice", "bob"],
}


def _state_op(rng: random.Random, spec: dict[str, Any], calls: list[dict[str, Any]]) -> dict[str, Any]:
    """A state update (as some node, or none), a replay from a past checkpoint or a
    look at the state with its subgraphs' states; shaped like a call of
    :mod:`tests.fuzz.invocations` (so it shrinks alike)."""
    op = dict.fromkeys(calls[0], None)
    op.update(input="None", thread=rng.choice([c["thread"] for c in calls]), subgraphs=False)
    r = rng.random()
    if r < 0.25:
        op.update(method="substate")
    elif r < 0.6:
        op.update(method="update", as_node=rng.choice([None, *NODES[spec["kind"]]]), values="")
        if spec["kind"] == "swarm" and rng.random() < 0.5:
            op["values"] = ', "active_agent": "bob"'
    else:
        op.update(method="replay", back=rng.randint(1, 4), modes=gen_modes(rng, MODES))
        op["durability"] = rng.choice([None, "sync", "async", "exit"])
    return op

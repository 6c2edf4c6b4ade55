"""Fuzz family "functional": ``@entrypoint`` programs calling ``@task``s.

An entrypoint (sync or async; InMemorySaver, SqliteSaver or none; ``previous``;
``entrypoint.final``) folds an integer ``acc`` through a list of operations:
call one task, start several at once and collect them, ``interrupt()``, write a
custom chunk, call a failing task inside ``try``. Tasks (sync or async) add a
constant, call another task, fail k times under a ``RetryPolicy``, raise,
``interrupt()``, write custom chunks, optionally cached (``InMemoryCache``).

Tasks that run at the same time finish in a defined order: each pauses a number
of units first (every attempt of a retried one does), and the tasks started
together have no event (a nested call starting, a task ending) at the same
time, nor at time 0 (a task that calls another takes both pauses; a cache hit
finishes at once, when it is started).
Sync programs have at most 4 task threads busy at once.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from tests.fuzz.invocations import gen_calls, render_run, simpler_calls, valid_candidates

KINDS = ["add", "add", "add", "add", "calls", "calls", "flaky", "flaky", "fail", "ask", "write", "write"]
OPS = ["call"] * 4 + ["fan"] * 3 + ["ask", "write", "catch"]
MAX_THREADS = 4


# -- timing model ---------------------------------------------------------------


def depth(spec: dict[str, Any], i: int) -> int:
    t = spec["tasks"][i]
    return 1 + (depth(spec, t["callee"]) if t["kind"] == "calls" else 0)


def total(spec: dict[str, Any], i: int) -> int:
    """Pause units from a task's start until it (and what it calls) finishes."""
    t = spec["tasks"][i]
    if t["kind"] == "calls":
        return t["delay"] + total(spec, t["callee"])
    if t["kind"] == "flaky":  # every attempt pauses first
        return t["delay"] * (min(t["fails"], t["attempts"] - 1) + 1)
    return t["delay"]


def times(spec: dict[str, Any], i: int) -> set[int]:
    """When a task's events happen: the nested calls it starts, and its end."""
    t = spec["tasks"][i]
    if t["kind"] == "calls":
        return {t["delay"]} | {t["delay"] + x for x in times(spec, t["callee"])}
    if t["kind"] == "flaky":  # each failed attempt ends too, and the retry starts then
        return {t["delay"] * (k + 1) for k in range(min(t["fails"], t["attempts"] - 1) + 1)}
    return {total(spec, i)}


def fan_ok(spec: dict[str, Any], members: list[int]) -> bool:
    seen: set[int] = {0}  # the caller must start them all before anything happens
    for i in members:
        if seen & (mine := times(spec, i)):
            return False
        seen |= mine
    return spec["is_async"] or sum(depth(spec, i) for i in members) <= MAX_THREADS


def valid(spec: dict[str, Any]) -> bool:
    for i, t in enumerate(spec["tasks"]):
        if t["kind"] == "calls":
            callee = spec["tasks"][t["callee"]] if t["callee"] < i else None
            if callee is None or (callee["is_async"] and not t["is_async"]):
                return False
        if t["is_async"] and not spec["is_async"]:
            return False
    for op in spec["body"]:
        members = op.get("tasks") or ([op["task"]] if "task" in op else [])
        if any(m >= len(spec["tasks"]) for m in members):
            return False
        if op["op"] == "fan" and not fan_ok(spec, members):
            return False
    return bool(spec["body"])


# -- generation -------------------------------------------------------------------


def _gen_task(rng: random.Random, spec: dict[str, Any], i: int) -> dict[str, Any]:
    is_async = spec["is_async"] and rng.random() < 0.7
    kind = rng.choice(KINDS)
    callees = [j for j, c in enumerate(spec["tasks"]) if is_async or not c["is_async"]]
    if kind == "calls" and not callees:
        kind = "add"
    if kind == "ask" and spec["saver"] == "none" and rng.random() < 0.8:
        kind = "write"
    attempts = rng.randint(1, 3)
    return {
        "name": f"t{i}",
        "is_async": is_async,
        "kind": kind,
        "delay": rng.randint(1 if spec["cache"] else 0, 2),
        "const": rng.randint(1, 9),
        "callee": rng.choice(callees) if kind == "calls" else None,
        "fails": rng.randint(0, attempts) if kind == "flaky" else 0,
        "attempts": attempts,
        "cached": spec["cache"] and kind in ("add", "calls", "write") and rng.random() < 0.6,
    }


def _gen_op(rng: random.Random, spec: dict[str, Any]) -> dict[str, Any]:
    n = len(spec["tasks"])
    op = rng.choice(OPS)
    if op == "ask" and spec["saver"] == "none" and rng.random() < 0.8:
        op = "call"
    if op == "fan" and n >= 2:
        members: list[int] = []
        for i in rng.sample(range(n), rng.randint(2, min(4, n))):
            if fan_ok(spec, members + [i]):
                members.append(i)
        if len(members) >= 2:
            return {"op": "fan", "tasks": members, "gather": rng.random() < 0.5}
        op = "call"
    if op == "fan":
        op = "call"
    if op in ("call", "catch"):
        return {"op": op, "task": rng.randrange(n)}
    return {"op": op}


def generate(rng: random.Random) -> dict[str, Any]:
    is_async = rng.random() < 0.45
    saver = rng.choice(["none", "memory", "memory"] if is_async else ["none", "memory", "memory", "sqlite"])
    spec: dict[str, Any] = {
        "is_async": is_async,
        "saver": saver,
        "cache": rng.random() < 0.15,
        "previous": saver != "none" and rng.random() < 0.5,
        "final": saver != "none" and rng.random() < 0.3,
        "tasks": [],
        "body": [],
    }
    for i in range(rng.randint(1, 5)):
        spec["tasks"].append(_gen_task(rng, spec, i))
    spec["body"] = [_gen_op(rng, spec) for _ in range(rng.randint(1, 5))]
    interrupts = any(op["op"] == "ask" for op in spec["body"]) or any(t["kind"] == "ask" for t in spec["tasks"])
    spec["calls"] = gen_calls(
        rng,
        is_async=is_async or rng.random() < 0.2,
        saver=saver != "none",
        inputs=["1", "2", "5"],
        resumes=0.8 if interrupts else 0.1,
        n_max=5 if interrupts else 3,
    )
    return spec


# -- rendering --------------------------------------------------------------------

HEADER = '''import asyncio
import sqlite3

from langgraph.cache.memory import InMemoryCache
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.config import get_stream_writer
from langgraph.func import entrypoint, task
from langgraph.types import CachePolicy, Command, RetryPolicy, interrupt

from tests.fuzz.support import Failures, Flaky, ahalf_pause, apause, half_pause, pause

_flaky = Failures()
'''

SAVERS = {
    "none": "None",
    "memory": "InMemorySaver()",
    "sqlite": "SqliteSaver(sqlite3.connect(':memory:', check_same_thread=False))",
}


def _await(is_async: bool, expr: str) -> str:
    return f"(await {expr})" if is_async else f"{expr}.result()"


def _render_task(spec: dict[str, Any], t: dict[str, Any]) -> list[str]:
    args = []
    if t["kind"] == "flaky":
        args.append(f"retry_policy=RetryPolicy(max_attempts={t['attempts']}, initial_interval=0.001, jitter=False, retry_on=Flaky)")
    if t["cached"]:
        args.append("cache_policy=CachePolicy()")
    deco = f"@task({', '.join(args)})" if args else "@task"
    a = "async " if t["is_async"] else ""
    sleep = f"await apause({t['delay']})" if t["is_async"] else f"pause({t['delay']})"
    name, kind = t["name"], t["kind"]
    body = [sleep]
    if kind == "add":
        body.append(f"return x + {t['const']}")
    elif kind == "calls":
        callee = spec["tasks"][t["callee"]]["name"]
        body.append(f"return {_await(t['is_async'], f'{callee}(x)')} + {t['const']}")
    elif kind == "flaky":
        body += [f"_flaky({name!r}, x, {t['fails']})", f"return x * {t['const']}"]
    elif kind == "fail":
        half = "await ahalf_pause()" if t["is_async"] else "half_pause()"
        body += [half, f'raise ValueError(f"{name} failed on {{x}}")']
    elif kind == "ask":
        body += [f'answer = interrupt({{"task": {name!r}, "x": x}})', "return x + len(answer)"]
    elif kind == "write":
        body += [f'get_stream_writer()({{"task": {name!r}, "x": x}})', f"return x * {t['const']}"]
    return [f"    {deco}", f"    {a}def {name}(x):"] + [f"        {line}" for line in body] + [""]


def _render_op(spec: dict[str, Any], op: dict[str, Any]) -> list[str]:
    aio = spec["is_async"]
    names = [t["name"] for t in spec["tasks"]]
    kind = op["op"]
    if kind == "call":
        return [f"acc += {_await(aio, names[op['task']] + '(acc)')}"]
    if kind == "catch":
        return [
            "try:",
            f"    acc += {_await(aio, names[op['task']] + '(acc)')}",
            "except (ValueError, Flaky) as exc:",
            "    acc += 100 + len(str(exc))",
        ]
    if kind == "fan":
        futs = ", ".join(f"{names[i]}(acc + {j})" for j, i in enumerate(op["tasks"]))
        if aio and op["gather"]:
            collect = "acc += sum(await asyncio.gather(*futs))"
        elif aio:
            collect = "acc += sum([await f for f in futs])"
        else:
            collect = "acc += sum([f.result() for f in futs])"
        return [f"futs = [{futs}]", collect]
    if kind == "ask":
        return ['acc += len(interrupt({"ep": acc}))']
    if kind == "write":
        return ['get_stream_writer()({"ep": acc})']
    raise ValueError(kind)


def render(spec: dict[str, Any]) -> str:
    if not valid(spec):
        raise ValueError("invalid functional spec")
    lines = [HEADER, "", "def build():", f"    saver = {SAVERS[spec['saver']]}"]
    for t in spec["tasks"]:
        lines += _render_task(spec, t)
    ep_args = []
    if spec["saver"] != "none":
        ep_args.append("checkpointer=saver")
    if spec["cache"]:
        ep_args.append("cache=InMemoryCache()")
    lines.append(f"    @entrypoint({', '.join(ep_args)})")
    a = "async " if spec["is_async"] else ""
    params = "n, *, previous=None" if spec["previous"] else "n"
    lines += [f"    {a}def workflow({params}):", "        acc = n"]
    for op in spec["body"]:
        lines += [f"        {line}" for line in _render_op(spec, op)]
    value = '{"acc": acc, "previous": previous}' if spec["previous"] else '{"acc": acc}'
    if spec["final"]:
        lines.append(f"        return entrypoint.final(value={value}, save=acc * 2)")
    else:
        lines.append(f"        return {value}")
    lines += ["", "    return workflow, saver", ""]
    is_async_run = spec["calls"][0]["method"].startswith("a")
    return "\n".join(lines) + "\n" + render_run(spec["calls"], is_async_run)


# -- shrinking --------------------------------------------------------------------


def _drop_task(spec: dict[str, Any], i: int) -> dict[str, Any] | None:
    used = {op.get("task") for op in spec["body"]} | {m for op in spec["body"] for m in op.get("tasks", ())}
    used |= {t["callee"] for t in spec["tasks"] if t["kind"] == "calls"}
    if i in used:
        return None
    renum = {j: j - (j > i) for j in range(len(spec["tasks"]))}
    tasks = []
    for j, t in enumerate(spec["tasks"]):
        if j != i:
            tasks.append({**t, "name": f"t{renum[j]}", "callee": renum.get(t["callee"]) if t["callee"] is not None else None})
    body = []
    for op in spec["body"]:
        op = dict(op)
        if "task" in op:
            op["task"] = renum[op["task"]]
        if "tasks" in op:
            op["tasks"] = [renum[m] for m in op["tasks"]]
        body.append(op)
    return {**spec, "tasks": tasks, "body": body}


def _variants(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    body = spec["body"]
    for i in range(len(body)):
        if len(body) > 1:
            yield {**spec, "body": body[:i] + body[i + 1 :]}
    for i in reversed(range(len(spec["tasks"]))):
        if (smaller := _drop_task(spec, i)) is not None:
            yield smaller
    for i, op in enumerate(body):
        if op["op"] == "fan":
            for m in op["tasks"]:
                rest = [x for x in op["tasks"] if x != m]
                new = {"op": "call", "task": rest[0]} if len(rest) == 1 else {**op, "tasks": rest}
                yield {**spec, "body": body[:i] + [new] + body[i + 1 :]}
        if op["op"] == "catch":
            yield {**spec, "body": body[:i] + [{"op": "call", "task": op["task"]}] + body[i + 1 :]}
    for i, t in enumerate(spec["tasks"]):
        for key, plain in (("kind", "add"), ("delay", 0), ("is_async", False), ("cached", False), ("fails", 0)):
            if t[key] != plain:
                new = {**t, key: plain}
                if key == "kind":
                    new["callee"] = None
                yield {**spec, "tasks": spec["tasks"][:i] + [new] + spec["tasks"][i + 1 :]}
    if spec["cache"]:
        yield {**spec, "cache": False, "tasks": [{**t, "cached": False} for t in spec["tasks"]]}
    for key in ("final", "previous"):
        if spec[key]:
            yield {**spec, key: False}
    for calls in simpler_calls(spec["calls"]):
        yield {**spec, "calls": calls}


def candidates(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Strictly smaller specs that are still valid programs."""
    return valid_candidates(_variants(spec), valid)

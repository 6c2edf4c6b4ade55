"""Fuzz family "pregel": raw ``Pregel(nodes=..., channels=...)`` programs.

Nodes are built with ``NodeBuilder`` (``subscribe_only`` one channel, or
``subscribe_to`` several plus ``read_from``), compute an integer from what they
read (the sum of the integers in it, plus a constant), and write it with
``write_to`` to channels of every kind: LastValue, Topic (accumulate or not),
EphemeralValue, BinaryOperatorAggregate(add), AnyValue, UntrackedValue,
LastValueAfterFinish, and NamedBarrierValue(AfterFinish) (written the node's
name). Some writes go back to a channel an earlier node listens to, making a
cycle: most stop once the value reaches a bound (a ``ChannelWriteEntry`` whose
mapper returns None, ``skip_none``), the others run into the recursion limit.
Nodes may raise, fail k times under a ``RetryPolicy``, or be cached. Options:
checkpointer, ``interrupt_before``/``interrupt_after``, ``stream_channels``,
output channels as a name or a list.

Nodes that can run in the same step finish in a defined order: each pauses a
number of units, and nodes whose possible steps meet get distinct finishing
times (see :mod:`tests.fuzz.pregel_timing`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from tests.fuzz.invocations import gen_calls, render_run, simpler_calls, valid_candidates
from tests.fuzz.pregel_timing import assign_delays, timing_ok

KINDS = ["last", "last", "topic", "topic_acc", "eph", "add", "add", "any", "untracked", "last_af", "barrier", "barrier_af"]
BARRIERS = ("barrier", "barrier_af")
SINGLE_WRITER = ("last", "last_af", "eph", "untracked")  # two writes in a step: InvalidUpdateError


def writers(spec: dict[str, Any], ch: str) -> list[dict[str, Any]]:
    return [n for n in spec["nodes"] if any(w["ch"] == ch for w in n["writes"])]


def inputs(spec: dict[str, Any]) -> list[str]:
    return [spec["input"]] if isinstance(spec["input"], str) else list(spec["input"])


def has_cycle(spec: dict[str, Any]) -> bool:
    return any(w["back"] for n in spec["nodes"] for w in n["writes"])


# -- generation -------------------------------------------------------------------


def _new_channel(rng: random.Random, spec: dict[str, Any]) -> str:
    name = f"c{len(spec['channels'])}"
    spec["channels"][name] = rng.choice(KINDS)
    return name


def _gen_writes(rng: random.Random, spec: dict[str, Any], i: int) -> list[dict[str, Any]]:
    writes: list[dict[str, Any]] = []
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
        r = rng.random()
        existing = [c for c in spec["channels"] if c not in inputs(spec)]
        listened = [c for c in existing + inputs(spec) if spec["channels"][c] not in BARRIERS
                    and any(c in n["triggers"] for n in spec["nodes"][: i + 1])]
        if r < 0.15 and listened:
            ch, back = rng.choice(listened), True
        elif r < 0.45 and existing:
            ch = rng.choice(existing)
            back = any(ch in n["triggers"] for n in spec["nodes"][: i + 1])
        else:
            ch, back = _new_channel(rng, spec), False
        if any(w["ch"] == ch for w in writes):
            continue
        single = spec["channels"][ch] in SINGLE_WRITER
        if single and writers(spec, ch) and rng.random() < 0.8:
            continue  # mostly keep one writer per LastValue-like channel
        if spec["channels"][ch] in BARRIERS:
            how = "name"
        elif back:
            how = "cond" if rng.random() < 0.85 else "value"
        else:
            how = "cond" if rng.random() < 0.1 else "value"
        writes.append({"ch": ch, "how": how, "back": back})
    return writes


def _gen_node(rng: random.Random, spec: dict[str, Any], i: int) -> dict[str, Any]:
    produced = inputs(spec) + [c for c in spec["channels"] if writers(spec, c)]
    if i == 0 or rng.random() < 0.5:
        mode, triggers = "only", [rng.choice(inputs(spec) if i == 0 else produced)]
        reads: list[str] = []
    else:
        mode = "to"
        triggers = rng.sample(produced, min(len(produced), rng.choice([1, 1, 2])))
        others = [c for c in spec["channels"] if c not in triggers]
        reads = rng.sample(others, min(len(others), rng.choice([0, 0, 1, 2])))
    attempts = rng.randint(1, 3)
    kind = rng.choice(["plain"] * 6 + ["fail", "flaky"])
    node = {
        "name": f"n{i}",
        "mode": mode,
        "triggers": triggers,
        "reads": reads,
        "const": rng.randint(1, 6),
        "kind": kind,
        "fails": rng.randint(0, attempts) if kind == "flaky" else 0,
        "attempts": attempts,
        "is_async": spec["is_async"] and rng.random() < 0.7,
        "cached": spec["cache"] and rng.random() < 0.5,
        "delay": 0,
        "writes": [],
    }
    spec["nodes"].append(node)
    node["writes"] = _gen_writes(rng, spec, i)
    return node


def generate(rng: random.Random) -> dict[str, Any]:
    is_async = rng.random() < 0.4
    saver = rng.choice(["none", "memory", "memory"] + ([] if is_async else ["sqlite"]))
    spec: dict[str, Any] = {
        "is_async": is_async,
        "saver": saver,
        "cache": rng.random() < 0.1,
        "channels": {"inp": rng.choice(["last", "last", "last", "eph", "any"])},
        "input": "inp" if rng.random() < 0.6 else ["inp"],
        "nodes": [],
        "bound": rng.randint(12, 40),
    }
    for i in range(rng.randint(1, 5)):
        _gen_node(rng, spec, i)
    chans = list(spec["channels"])
    outs = rng.sample(chans, min(len(chans), rng.randint(1, 3)))
    spec["output"] = outs[0] if len(outs) == 1 and rng.random() < 0.6 else outs
    spec["stream"] = rng.sample(chans, min(len(chans), rng.randint(1, 3))) if rng.random() < 0.3 else None
    names = [n["name"] for n in spec["nodes"]]
    interrupts = saver != "none" and rng.random() < 0.35
    spec["interrupt_before"] = rng.sample(names, 1) if interrupts and rng.random() < 0.6 else []
    spec["interrupt_after"] = rng.sample(names, 1) if interrupts and rng.random() < 0.6 else []
    if isinstance(spec["input"], str):
        ins = ["1", "2", "4"]
    else:
        ins = ['{"inp": 1}', '{"inp": 3}']
    spec["calls"] = gen_calls(
        rng,
        is_async=is_async or rng.random() < 0.2,
        saver=saver != "none",
        inputs=ins,
        resumes=0.5 if interrupts else 0.05,
        resume_inputs=["None", "None", "None", "RESUME"],
        n_max=4 if interrupts else 3,
        extras=[f"interrupt_before={names[-1:]!r}", f"interrupt_after={names[:1]!r}", f"output_keys={chans[-1]!r}"],
        limits=[4, 8, 12] if has_cycle(spec) else [None, None, None, 2, 3],
        concurrency=[None] * 6 + [1],
    )
    assign_delays(spec)
    return spec


# -- rendering --------------------------------------------------------------------

HEADER = '''import operator
import sqlite3

from langgraph.cache.memory import InMemoryCache
from langgraph.channels import (
    AnyValue, BinaryOperatorAggregate, EphemeralValue, LastValue, LastValueAfterFinish,
    NamedBarrierValue, NamedBarrierValueAfterFinish, Topic, UntrackedValue,
)
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.pregel import NodeBuilder, Pregel
from langgraph.pregel._write import ChannelWriteEntry
from langgraph.types import CachePolicy, Command, RetryPolicy

from tests.fuzz.support import Failures, Flaky, ahalf_pause, apause, half_pause, pause

_flaky = Failures()


def _val(x):
    if x is None or isinstance(x, bool):
        return 0
    if isinstance(x, int):
        return x
    if isinstance(x, str):
        return len(x)
    if isinstance(x, dict):
        return sum(_val(v) for v in x.values())
    if isinstance(x, (list, tuple, set)):
        return sum(_val(v) for v in x)
    return 0
'''

SAVERS = {
    "none": "None",
    "memory": "InMemorySaver()",
    "sqlite": "SqliteSaver(sqlite3.connect(':memory:', check_same_thread=False))",
}


def _channel(spec: dict[str, Any], name: str) -> str:
    kind = spec["channels"][name]
    if kind in BARRIERS:
        names = sorted({n["name"] for n in writers(spec, name)})
        cls = "NamedBarrierValue" if kind == "barrier" else "NamedBarrierValueAfterFinish"
        return f"{cls}(str, {set(names) if names else 'set()'})".replace("'", '"')
    return {
        "last": "LastValue(int)",
        "topic": "Topic(int)",
        "topic_acc": "Topic(int, accumulate=True)",
        "eph": "EphemeralValue(int)",
        "add": "BinaryOperatorAggregate(int, operator.add)",
        "any": "AnyValue(int)",
        "untracked": "UntrackedValue(int)",
        "last_af": "LastValueAfterFinish(int)",
    }[kind]


def _render_node(spec: dict[str, Any], n: dict[str, Any]) -> list[str]:
    name = n["name"]
    a = "async " if n["is_async"] else ""
    sleep = f"await apause({n['delay']})" if n["is_async"] else f"pause({n['delay']})"
    body = [sleep, f"v = _val(x) + {n['const']}"]
    if n["kind"] == "fail":
        half = "await ahalf_pause()" if n["is_async"] else "half_pause()"
        body.append(f'if v % 3 == 0:\n            {half}\n            raise ValueError(f"{name} failed on {{v}}")')
    elif n["kind"] == "flaky":
        body.append(f"_flaky({name!r}, v, {n['fails']})")
    body.append("return v")
    lines = [f"    {a}def {name}_fn(x):"] + [f"        {line}" for line in body]
    chain = f"NodeBuilder().subscribe_only({n['triggers'][0]!r})" if n["mode"] == "only" else (
        f"NodeBuilder().subscribe_to({', '.join(map(repr, n['triggers']))})"
        + (f".read_from({', '.join(map(repr, n['reads']))})" if n["reads"] else "")
    )
    writes = []
    for w in n["writes"]:
        if w["how"] == "name":
            writes.append(f"ChannelWriteEntry({w['ch']!r}, {name!r})")
        elif w["how"] == "cond":
            writes.append(f"ChannelWriteEntry({w['ch']!r}, skip_none=True, mapper=_below)")
        else:
            writes.append(repr(w["ch"]))
    chain += f".do({name}_fn)"
    if writes:
        chain += f".write_to({', '.join(writes)})"
    if n["kind"] == "flaky":
        chain += f".add_retry_policies(RetryPolicy(max_attempts={n['attempts']}, initial_interval=0.001, jitter=False, retry_on=Flaky))"
    if n["cached"]:
        chain += ".add_cache_policy(CachePolicy())"
    return lines + [f"    {name} = {chain}", ""]


def render(spec: dict[str, Any]) -> str:
    lines = [HEADER, "", "def build():", f"    saver = {SAVERS[spec['saver']]}", ""]
    lines += [f"    def _below(v):", f"        return v if v < {spec['bound']} else None", ""]
    for n in spec["nodes"]:
        lines += _render_node(spec, n)
    nodes = ", ".join(f"{n['name']!r}: {n['name']}" for n in spec["nodes"])
    chans = ",\n".join(f"            {c!r}: {_channel(spec, c)}" for c in spec["channels"])
    args = [
        f"nodes={{{nodes}}}",
        f"channels={{\n{chans},\n        }}",
        f"input_channels={spec['input']!r}",
        f"output_channels={spec['output']!r}",
    ]
    if spec["stream"] is not None:
        args.append(f"stream_channels={spec['stream']!r}")
    if spec["interrupt_before"]:
        args.append(f"interrupt_before_nodes={spec['interrupt_before']!r}")
    if spec["interrupt_after"]:
        args.append(f"interrupt_after_nodes={spec['interrupt_after']!r}")
    if spec["saver"] != "none":
        args.append("checkpointer=saver")
    if spec["cache"]:
        args.append("cache=InMemoryCache()")
    lines.append("    graph = Pregel(\n" + "".join(f"        {a},\n" for a in args) + "    )")
    lines += ["    return graph, saver", ""]
    is_async_run = spec["calls"][0]["method"].startswith("a")
    return "\n".join(lines) + "\n" + render_run(spec["calls"], is_async_run)


# -- shrinking --------------------------------------------------------------------


def valid(spec: dict[str, Any]) -> bool:
    chans = spec["channels"]
    ins = inputs(spec)
    if not spec["nodes"] or not any(c in n["triggers"] for n in spec["nodes"] for c in ins):
        return False
    outs = [spec["output"]] if isinstance(spec["output"], str) else spec["output"]
    if not outs or any(c not in chans for c in outs + ins + (spec["stream"] or [])):
        return False
    names = {n["name"] for n in spec["nodes"]}
    if not set(spec["interrupt_before"] + spec["interrupt_after"]) <= names:
        return False
    for n in spec["nodes"]:
        used = n["triggers"] + n["reads"] + [w["ch"] for w in n["writes"]]
        if not n["triggers"] or any(c not in chans for c in used):
            return False
        if n["mode"] == "only" and (len(n["triggers"]) != 1 or n["reads"]):
            return False
    return timing_ok(spec)


def _without_node(spec: dict[str, Any], i: int) -> dict[str, Any]:
    name = spec["nodes"][i]["name"]
    return {
        **spec,
        "nodes": spec["nodes"][:i] + spec["nodes"][i + 1 :],
        "interrupt_before": [x for x in spec["interrupt_before"] if x != name],
        "interrupt_after": [x for x in spec["interrupt_after"] if x != name],
    }


def _with_node(spec: dict[str, Any], i: int, **changes: Any) -> dict[str, Any]:
    nodes = list(spec["nodes"])
    nodes[i] = {**nodes[i], **changes}
    return {**spec, "nodes": nodes}


def _variants(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for i in reversed(range(len(spec["nodes"]))):
        yield _without_node(spec, i)
    used = {c for n in spec["nodes"] for c in n["triggers"] + n["reads"] + [w["ch"] for w in n["writes"]]}
    for c in spec["channels"]:
        if c not in used and c not in inputs(spec):
            outs = [spec["output"]] if isinstance(spec["output"], str) else spec["output"]
            rest = [o for o in outs if o != c]
            yield {
                **spec,
                "channels": {k: v for k, v in spec["channels"].items() if k != c},
                "output": rest[0] if isinstance(spec["output"], str) and rest else rest,
                "stream": None if spec["stream"] is None else [s for s in spec["stream"] if s != c],
            }
    for i, n in enumerate(spec["nodes"]):
        for j in range(len(n["writes"])):
            yield _with_node(spec, i, writes=n["writes"][:j] + n["writes"][j + 1 :])
        for c in n["reads"]:
            yield _with_node(spec, i, reads=[r for r in n["reads"] if r != c])
        if len(n["triggers"]) > 1:
            for c in n["triggers"]:
                yield _with_node(spec, i, triggers=[t for t in n["triggers"] if t != c])
        for key, plain in (("kind", "plain"), ("cached", False), ("is_async", False), ("delay", 0)):
            if n[key] != plain:
                yield _with_node(spec, i, **{key: plain})
    for key, plain in (("stream", None), ("interrupt_before", []), ("interrupt_after", []), ("cache", False)):
        if spec[key] != plain:
            yield {**spec, key: plain}
    if isinstance(spec["output"], list) and len(spec["output"]) > 1:
        for o in spec["output"]:
            yield {**spec, "output": [x for x in spec["output"] if x != o]}
    for calls in simpler_calls(spec["calls"]):
        yield {**spec, "calls": calls}


def candidates(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Strictly smaller specs that are still valid programs."""
    return valid_candidates(_variants(spec), valid)

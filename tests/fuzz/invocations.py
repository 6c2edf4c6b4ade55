"""The calls a generated program makes on its graph, shared by the functional and
raw-Pregel families: ``invoke`` / ``stream`` / ``ainvoke`` / ``astream`` with
random options (stream modes and lists of them, ``durability``, ``subgraphs``,
``version="v2"``, ``recursion_limit``, ``max_concurrency``), resumes with
``Command(resume=...)`` (one value, or a map of the pending interrupt ids), and
``get_state`` / ``get_state_history`` between the calls.

A call is plain data (a dict); ``render_run`` turns the list into the program's
``run(graph, rec)``. Each call records what it saw in ``rec``; an exception is
recorded too and the next call still runs (so resuming after an error is
exercised).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

MODES = ["values", "updates", "custom", "tasks", "checkpoints", "debug"]
DURABILITY = [None, None, "sync", "async", "exit"]

HELPERS = '''
def _answers(snapshot, n):
    ids = [i.id for i in snapshot.interrupts]
    return {iid: f"r{n}.{j}" for j, iid in enumerate(ids)}


def _seen(rec, exc):
    rec.append(("raised", type(exc).__qualname__, str(exc)))


def _plain(v):  # exceptions (in tasks/debug chunks, snapshot tasks) compare by type and text
    if isinstance(v, BaseException):
        return ("exception", type(v).__qualname__, str(v))
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, tuple):
        return type(v)(*map(_plain, v)) if hasattr(v, "_fields") else tuple(map(_plain, v))
    return v
'''


def gen_modes(rng: random.Random, modes: list[str] = MODES) -> Any:
    r = rng.random()
    if r < 0.15:
        return None
    if r < 0.6:
        return rng.choice(modes)
    return rng.sample(modes, rng.randint(2, min(4, len(modes))))


def gen_calls(
    rng: random.Random,
    *,
    is_async: bool,
    saver: bool,
    inputs: list[str],
    resumes: float = 0.0,
    resume_inputs: list[str] = ("RESUME", "RESUME", "RESUME_MAP", "None"),
    n_max: int = 3,
    extras: list[str] = (),
    limits: list[int | None] = (None,),
    concurrency: list[int | None] = (None,),
) -> list[dict[str, Any]]:
    """Calls: the first starts a run with ``inputs[0]``; later ones start new runs
    (another input, sometimes on a second thread), continue with ``None``, or --
    with probability ``resumes`` -- resume with one value or a map of answers.
    ``limits`` and ``concurrency`` are the ``recursion_limit`` and
    ``max_concurrency`` values to pick from (None: not set)."""
    calls = []
    for i in range(rng.randint(1, n_max)):
        inp = rng.choice(inputs)
        if i and saver and rng.random() < resumes:
            inp = rng.choice(list(resume_inputs))
        elif i and saver and rng.random() < 0.1:
            inp = "None"
        stream = rng.random() < 0.75
        modes = gen_modes(rng) if stream or rng.random() < 0.3 else None
        subgraphs = stream and rng.random() < 0.15
        # LangGraph streams "custom" (and subgraphs) through a waiter that takes a
        # worker of the pool: with max_concurrency it could starve the tasks
        eager = subgraphs or modes == "custom" or (isinstance(modes, list) and "custom" in modes)
        calls.append(
            {
                "method": ("astream" if stream else "ainvoke") if is_async else ("stream" if stream else "invoke"),
                "input": inp,
                "thread": "b" if i and rng.random() < 0.15 else "a",
                "modes": modes,
                "durability": rng.choice(DURABILITY) if saver else None,
                "subgraphs": subgraphs,
                "version": "v2" if stream and rng.random() < 0.1 else None,
                "limit": rng.choice(list(limits)),
                "max_concurrency": None if eager else rng.choice(list(concurrency)),
                "extra": rng.choice(list(extras)) if extras and rng.random() < 0.3 else None,
                "inspect": rng.choice([None, None, "state", "history"]) if saver else None,
            }
        )
    return calls


def _input(call: dict[str, Any], n: int, is_async: bool) -> str:
    inp = call["input"]
    if inp == "RESUME":
        return f'Command(resume="r{n}")'
    if inp == "RESUME_MAP":
        get = "await graph.aget_state(cfg)" if is_async else "graph.get_state(cfg)"
        return f"Command(resume=_answers({get}, {n}))"
    return inp


def _kwargs(call: dict[str, Any]) -> str:
    out = []
    if call["modes"] is not None:
        out.append(f"stream_mode={call['modes']!r}")
    if call["durability"] is not None:
        out.append(f"durability={call['durability']!r}")
    if call["subgraphs"]:
        out.append("subgraphs=True")
    if call["version"]:
        out.append(f"version={call['version']!r}")
    if call["extra"]:
        out.append(call["extra"])
    return "".join(", " + k for k in out)


def _config(call: dict[str, Any]) -> str:
    cfg = f'{{"configurable": {{"thread_id": "{call["thread"]}"}}'
    if call["limit"] is not None:
        cfg += f', "recursion_limit": {call["limit"]}'
    if call["max_concurrency"] is not None:
        cfg += f', "max_concurrency": {call["max_concurrency"]}'
    return cfg + "}"


def render_call(call: dict[str, Any], n: int, is_async: bool) -> list[str]:
    a = "a" if is_async else ""
    aw = "await " if is_async else ""
    lines = [f"    # call {n}", f"    cfg = {_config(call)}", "    try:"]
    inp = _input(call, n, is_async)
    if call["method"] in ("stream", "astream"):
        lines.append(f"        {'async ' if is_async else ''}for chunk in graph.{call['method']}({inp}, cfg{_kwargs(call)}):")
        lines.append("            rec.append(_plain(chunk))")
    else:
        lines.append(f"        rec.append(_plain({aw}graph.{call['method']}({inp}, cfg{_kwargs(call)})))")
    lines += ["    except Exception as exc:", "        _seen(rec, exc)"]
    if call["inspect"] == "state":
        lines.append(f"    rec.append(_plain({aw}graph.{a}get_state(cfg)))")
    elif call["inspect"] == "history":
        if is_async:
            lines.append("    rec.append(_plain([s async for s in graph.aget_state_history(cfg)]))")
        else:
            lines.append("    rec.append(_plain(list(graph.get_state_history(cfg))))")
    return lines


def render_run(calls: list[dict[str, Any]], is_async: bool) -> str:
    head = "async def run(graph, rec):" if is_async else "def run(graph, rec):"
    body = [line for n, call in enumerate(calls) for line in render_call(call, n, is_async)]
    return HELPERS + "\n\n" + "\n".join([head, *body, "    return len(rec)"]) + "\n"


def simpler_calls(calls: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Smaller call lists: one call dropped, or one call's options simplified."""
    for i in range(len(calls)):
        if len(calls) > 1:
            yield calls[:i] + calls[i + 1 :]
    for i, call in enumerate(calls):
        for key, plain in (
            ("inspect", None),
            ("extra", None),
            ("version", None),
            ("subgraphs", False),
            ("durability", None),
            ("max_concurrency", None),
            ("limit", None),
            ("thread", "a"),
        ):
            if call[key] != plain:
                yield calls[:i] + [{**call, key: plain}] + calls[i + 1 :]
        if isinstance(call["modes"], list):
            for m in call["modes"]:
                yield calls[:i] + [{**call, "modes": m}] + calls[i + 1 :]
        if call["method"] in ("stream", "astream") and not call["version"] and not call["subgraphs"]:
            method = "ainvoke" if call["method"] == "astream" else "invoke"
            yield calls[:i] + [{**call, "method": method, "modes": None}] + calls[i + 1 :]


def valid_candidates(variants: Iterator[dict[str, Any]], valid: Callable[[dict[str, Any]], bool]) -> Iterator[dict[str, Any]]:
    """The ``variants`` of a spec (strictly smaller) that are still valid programs."""
    return (cand for cand in variants if valid(cand))

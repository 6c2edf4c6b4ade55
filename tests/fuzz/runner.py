"""Run one generated program on stock LangGraph and on langgraph_rs, and compare.

A program is Python source (rendered by a family from its spec) that defines

    build() -> (graph, saver_or_None)
    run(graph, rec) -> value          # or ``async def run``; ``rec`` is a list

``run`` appends what it observes (stream chunks, snapshots, ...) to ``rec`` as it
goes, so what was seen before an exception is compared too. Each engine gets a
fresh module namespace, graph and saver, the same checkpoint ids and the same
random stream (see :mod:`tests.diff`).
"""

from __future__ import annotations

import asyncio
import faulthandler
import os
import re
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.types import Command, Send

from tests.diff import deterministic, engine, history, normalize
from tests.fuzz import family, program

# Random ids (uuid4 message ids from add_messages and ToolNode, chat model run
# ids): equal up to renaming in order of appearance. Checkpoint ids are made
# deterministic instead, and task ids must match to the byte.
_HEX = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_RANDOM_ID = re.compile(
    rf"(lc_run--|run-){_HEX}|()[0-9a-f]{{8}}-[0-9a-f]{{4}}-4[0-9a-f]{{3}}-[89ab][0-9a-f]{{3}}-[0-9a-f]{{12}}"
)


@dataclass
class Outcome:
    value: Any = None
    error: tuple[str, str] | None = None
    rec: list[Any] = field(default_factory=list)
    history: list[Any] = field(default_factory=list)

    def data(self) -> dict[str, Any]:
        return _rename_random_ids(
            {"error": self.error, "rec": self.rec, "value": self.value, "history": self.history}
        )


def _rename_random_ids(data: Any) -> Any:
    names: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        prefix = m.group(1) or ""
        return names.setdefault(m.group(0), f"{prefix}<id{len(names)}>")

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return _RANDOM_ID.sub(sub, v) if "-" in v else v
        if isinstance(v, dict):
            return {walk(k): walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, tuple) and not hasattr(v, "_fields"):
            return tuple(walk(x) for x in v)
        if hasattr(v, "_fields"):  # NamedTuples (StateSnapshot, PregelTask, Interrupt...)
            return type(v)(*(walk(x) for x in v))
        if hasattr(v, "model_dump") and hasattr(v, "id"):  # messages
            d = v.model_dump()
            return (type(v).__name__, walk(d))
        if isinstance(v, Send):  # in checkpoints (__pregel_tasks), carrying messages
            return ("Send", walk(v.node), walk(v.arg))
        if isinstance(v, Command):  # a tool's output in "tools" stream chunks, carrying messages
            return ("Command", walk(v.graph), walk(v.update), walk(v.resume), walk(v.goto))
        return v

    return walk(data)


def _is_async_only(saver: Any) -> bool:
    return type(saver).__name__.startswith("Async")


def execute(source: str, engine_name: str, filename: str = "<fuzz program>") -> Outcome:
    """Run the program's ``run`` on one engine; collect what it saw."""
    code = compile(source, filename, "exec")
    outcome = Outcome()
    module = types.ModuleType("fuzz_program")
    module.__file__ = filename
    sys.modules[module.__name__] = module  # typing.get_type_hints looks schemas up here
    try:
        with deterministic(), engine(engine_name):
            exec(code, module.__dict__)
            _run(module, outcome)
    finally:
        sys.modules.pop(module.__name__, None)
    return outcome


def _run(module: types.ModuleType, outcome: Outcome) -> None:
    graph, saver = module.build()
    try:
        value = module.run(graph, outcome.rec)
        if asyncio.iscoroutine(value):
            value = asyncio.run(value)
        outcome.value = normalize(value)
    except Exception as exc:  # noqa: BLE001  (compared, not swallowed)
        outcome.error = (type(exc).__qualname__, str(exc))
    outcome.rec = normalize(outcome.rec)
    if saver is not None and not _is_async_only(saver):
        outcome.history = history(saver, None)


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where ``a`` and ``b`` first differ, as a readable line (None if equal)."""
    if a == b:
        return None
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in b or k not in a:
                return f"{path}[{k!r}]: only on {'stock' if k in a else 'langgraph_rs'}"
            if (d := first_difference(a[k], b[k], f"{path}[{k!r}]")) is not None:
                return d
        return f"{path}: key order {list(a)} != {list(b)}"
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and type(a) is type(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if (d := first_difference(x, y, f"{path}[{i}]")) is not None:
                return d
        return f"{path}: length {len(a)} != {len(b)}; extra: {(a[len(b):] or b[len(a):])[:3]!r}"
    return f"{path}: stock {_short(a)} != langgraph_rs {_short(b)}"


def _short(v: Any, n: int = 400) -> str:
    r = repr(v)
    return r if len(r) <= n else r[:n] + "..."


def compare(source: str, filename: str = "<fuzz program>") -> str | None:
    """None when both engines agree, else where they first differ."""
    stock = execute(source, "stock", filename)
    ours = execute(source, "rs", filename)
    return first_difference(stock.data(), ours.data())


def stable_on_stock(source: str, runs: int = 2) -> bool:
    """Whether stock LangGraph itself gives the same outcome every time (a
    program that does not is a generator bug, not a divergence)."""
    first = execute(source, "stock").data()
    return all(execute(source, "stock").data() == first for _ in range(runs - 1))


def shrink(
    spec: Any,
    candidates: Callable[[Any], Iterator[Any]],
    diverges: Callable[[Any], bool],
    seconds: float,
) -> Any:
    """Greedy shrinking: take the first smaller spec that still diverges, repeat."""
    deadline = time.monotonic() + seconds
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        for cand in candidates(spec):
            if time.monotonic() >= deadline:
                break
            try:
                bad = diverges(cand)
            except Exception:  # noqa: BLE001  a candidate the generator cannot render
                bad = False
            if bad:
                spec, improved = cand, True
                break
    return spec


REPRO_FOOTER = '''

if __name__ == "__main__":  # compare both engines on this program
    import sys
    sys.path.insert(0, {root!r})
    from tests.fuzz.runner import main_for_file
    raise SystemExit(main_for_file(__file__))
'''


def write_reproducer(out_dir: Path, name: str, source: str, header: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.py"
    root = str(Path(__file__).resolve().parents[2])
    body = "".join(f"# {line}\n" for line in header.splitlines())
    path.write_text(body + source + REPRO_FOOTER.format(root=root))
    return path


def main_for_file(path: str) -> int:
    """A reproducer's ``__main__``: compare both engines, print the difference."""
    source = Path(path).read_text()
    source = source.split("\n\nif __name__ == \"__main__\":")[0]
    diff = compare(source, path)
    print("same on both engines" if diff is None else f"divergence: {diff}")
    return 0 if diff is None else 1


_WARMED: set[str] = set()  # families that ran in this process


def check(
    seed: int, families: list[str], out: Path, shrink_seconds: float, timeout: float, known: bool = False
) -> tuple[int, str, str | None, str | None]:
    """(seed, family, divergence or None, reproducer path or fuzzer error). A
    ``known`` divergence is reported as it is, neither re-checked nor shrunk.
    A program still running after ``timeout`` seconds is a hang: the process
    names its seed, dumps every thread's stack and exits (status 3)."""
    watchdog = threading.Timer(timeout, _hung, (seed,))
    watchdog.daemon = True
    watchdog.start()
    try:
        name, spec, source = program(seed, families)
        try:
            if name not in _WARMED:
                # the first program of a family in a process pays for lazy imports
                # and first thread starts inside its tasks, which shifts its timing
                _WARMED.add(name)
                compare(source, f"<fuzz {name} {seed}>")
            diff = compare(source, f"<fuzz {name} {seed}>")
        except Exception as exc:  # noqa: BLE001  the program itself did not load
            return seed, name, None, f"fuzzer error: {type(exc).__name__}: {exc}"
        if diff is None or known:
            return seed, name, diff, None
        if not stable_on_stock(source, runs=3):
            return seed, name, None, "fuzzer error: the program is not deterministic on stock LangGraph"
        fam = family(name)

        def diverges(s: object) -> bool:
            return compare(fam.render(s)) is not None

        small = shrink(spec, fam.candidates, diverges, shrink_seconds)
        small_source = fam.render(small)
        small_diff = compare(small_source) or diff
        header = (
            f"Divergence found by `python -m tests.fuzz --replay {seed}` (family {name}), shrunk.\n"
            f"{small_diff}"
        )
        path = write_reproducer(out, f"{name}_{seed}", small_source, header)
        return seed, name, small_diff, str(path)
    finally:
        watchdog.cancel()


def _hung(seed: int) -> None:
    print(f"HANG seed={seed}: still running; every thread's stack follows", file=sys.stderr, flush=True)
    faulthandler.dump_traceback(all_threads=True)
    os._exit(3)

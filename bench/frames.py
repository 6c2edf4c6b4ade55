"""Engine Python frames per superstep, counted with ``sys.setprofile``.

Every Python function entered during one invoke of a 10-node chain is counted
(in every thread a run starts: ``threading.setprofile`` reaches those; a
chain's steps have one task each, which neither engine hands to a task thread,
so the engine's task threads, kept across runs, do not go uncounted), except
- the user's code: the benchmark's own node functions;
- the standard library (and frozen modules such as importlib's);
- the checkpoint saver: InMemorySaver's module and everything it calls.
What is left is the engine's Python: LangGraph's (``langgraph.pregel`` and the
langchain-core runnable/callback machinery it drives) for stock, and
langgraph_rs's Python side plus the LangGraph/langchain-core helpers it calls
for ours (the Rust engine's own work enters no Python frame). Divided by the
11 supersteps of the run (``__start__`` + 10 nodes). Counts are deterministic, so
one warmed-up invoke is measured per engine. The JSON keeps the count by module.
"""

from __future__ import annotations

import asyncio
import sys
import sysconfig
import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import micro
from harness import ENGINES, Case, Cfg, Row, use

GROUP = "frames"
NODES = 10
STEPS = NODES + 1

_STDLIB = tuple(
    str(Path(p).resolve()) + "/" for p in {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}
)
_SITE = tuple(str(Path(p).resolve()) + "/" for p in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
_ROOT = str(Path(__file__).resolve().parent.parent) + "/"  # an editable langgraph_rs
USER = {micro.bump.__code__, micro.abump.__code__}


def _saver_file() -> str:
    import langgraph.checkpoint.memory as m

    return str(Path(m.__file__).resolve())


def _kind(filename: str) -> str | None:
    """The module a frame's file belongs to, or None when it is not counted."""
    if filename.startswith("<frozen"):
        return None
    path = filename
    if not filename.startswith("<"):
        path = str(Path(filename).resolve())
    for base in (*_SITE, _ROOT):
        if path.startswith(base):
            return path[len(base):].removesuffix(".py").replace("/", ".")
    if path.startswith(_STDLIB):
        return None
    return path  # generated code ("<string>", e.g. dataclass __init__s) and files elsewhere


class Counting:
    """A profile function counting Python calls, skipping the saver's subtree."""

    def __init__(self) -> None:
        self.by_module: Counter[str] = Counter()
        self.local = threading.local()
        self.kinds: dict[Any, str | None] = {}
        self.saver = _saver_file()

    def __call__(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            code = frame.f_code
            local = self.local
            depth = getattr(local, "saver_depth", 0)
            if depth:
                local.saver_depth = depth + 1
                return
            if code.co_filename == self.saver:
                local.saver_depth = 1
                return
            if code in USER:
                return
            kind = self.kinds.get(code.co_filename, "?")
            if kind == "?":
                kind = self.kinds[code.co_filename] = _kind(code.co_filename)
            if kind is not None:
                self.by_module[kind] += 1
        elif event == "return":
            depth = getattr(self.local, "saver_depth", 0)
            if depth:
                self.local.saver_depth = depth - 1

    def total(self) -> int:
        return sum(self.by_module.values())


def _profile(fn: Any) -> Counting:
    prof = Counting()
    threading.setprofile(prof)
    sys.setprofile(prof)
    try:
        fn()
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    return prof


def _async_profile(graph: Any) -> Counting:
    async def main() -> Counting:
        await graph.ainvoke({"x": 0})  # warm-up, in this loop
        prof = Counting()
        threading.setprofile(prof)
        sys.setprofile(prof)
        try:
            await graph.ainvoke({"x": 0})
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]
        return prof

    return asyncio.run(main())


def measure(variant: str) -> dict[str, Counting]:
    from langgraph.checkpoint.memory import InMemorySaver

    if variant == "async":
        graph = micro.chain_builder(NODES, micro.abump).compile()
    elif variant == "saver":
        graph = micro.chain(NODES, checkpointer=InMemorySaver())
    else:
        graph = micro.chain(NODES)
    out = {}
    for engine in ENGINES:
        use(engine)
        if variant == "async":
            out[engine] = _async_profile(graph)
            continue
        if variant == "saver":
            run = lambda: graph.invoke({"x": 0}, {"configurable": {"thread_id": str(uuid.uuid4())}})  # noqa: E731
            run()
        else:
            run = lambda: graph.invoke({"x": 0})  # noqa: E731
            run()
        out[engine] = _profile(run)
    use("stock")
    return out


def frames_case(variant: str, label: str) -> Any:
    def run(cfg: Cfg) -> Row:
        counts = measure(variant)
        per = {e: counts[e].total() / STEPS for e in ENGINES}
        return Row(
            f"frames_chain{NODES}_{variant}", GROUP, "frames/step", per["stock"], per["ours"],
            rounds=1, calls=1,
            extra={e: dict(counts[e].by_module.most_common()) for e in ENGINES},
            note=f"engine Python frames per superstep, {label}",
        ).finish()

    return run


def cases(cfg: Cfg) -> list[Case]:
    return [
        Case(f"frames_chain{NODES}_sync", GROUP, frames_case("sync", "invoke"), "frames/step, sync"),
        Case(f"frames_chain{NODES}_saver", GROUP, frames_case("saver", "invoke with InMemorySaver"),
             "frames/step, InMemorySaver"),
        Case(f"frames_chain{NODES}_async", GROUP, frames_case("async", "ainvoke, async nodes"),
             "frames/step, async"),
    ]

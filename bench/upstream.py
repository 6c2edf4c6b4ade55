"""LangGraph's own benchmark suite (``bench/`` of its sdist), on both engines.

The sdist is the one ``python -m langgraph_rs.conformance`` downloads and extracts
into ``.conformance/langgraph-<version>`` (fetched here the same way when missing).
Its ``bench/__main__.py`` drives pyperf at import time, so it is not imported:
its definitions (the ``benchmarks`` table, ``run``/``arun``, the first-event and
compilation lists) are taken from its syntax tree and executed on their own, so
every case and input is exactly the suite's.

First-event latency: the suite's own loop compares each graph object with the
names in ``GRAPHS_FOR_1st_EVENT_LATENCY``, so as written it runs none; the two
workloads that list names are run here. ``--quick`` keeps the smallest size of
each workload family.

Name clash: the sdist's package is called ``bench`` like this directory. Ours is
never imported as a package (the benchmark runs as a script), and the sdist's
modules are loaded from their files while ``sys.modules["bench"]`` briefly names
the sdist's package; the previous entry is put back afterwards.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import random
import sys
import time
import types
import warnings
from pathlib import Path
from typing import Any

from harness import Case, Cfg, Row, timed_row

MODULES = (
    "fanout_to_subgraph",
    "pydantic_state",
    "react_agent",
    "sequential",
    "serde_allowlist",
    "wide_dict",
    "wide_state",
)
# Names bound by the suite's __main__.py that the benchmark uses.
KEEP = {
    "arun",
    "arun_first_event_latency",
    "run",
    "run_first_event_latency",
    "compile_graph",
    "benchmarks",
    "GRAPHS_FOR_1st_EVENT_LATENCY",
    "compilation_benchmarks",
}


def sdist_dir(cfg: Cfg) -> Path:
    from langgraph_rs.conformance.__main__ import sdist_dir as fetch

    if cfg.sdist_dir:
        return Path(cfg.sdist_dir)
    return fetch(cfg.cache_dir, None)


def _load_package(sdist: Path) -> dict[str, types.ModuleType]:
    pkg_dir = sdist / "bench"
    pkg = types.ModuleType("bench")
    pkg.__path__ = [str(pkg_dir)]  # type: ignore[attr-defined]
    pkg.__file__ = str(pkg_dir / "__init__.py")
    mods: dict[str, types.ModuleType] = {"bench": pkg}
    for name in MODULES:
        spec = importlib.util.spec_from_file_location(f"bench.{name}", pkg_dir / f"{name}.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        mods[f"bench.{name}"] = mod
        sys.modules[f"bench.{name}"] = mod
        spec.loader.exec_module(mod)
        setattr(pkg, name, mod)
    return mods


def load_suite(sdist: Path) -> dict[str, Any]:
    """The suite's definitions, executed without its pyperf runner."""
    main = sdist / "bench" / "__main__.py"
    if not main.is_file():
        raise FileNotFoundError(f"{main} is missing")
    tree = ast.parse(main.read_text(), str(main))
    body = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pyperf"):
            continue  # the runner is ours
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.AsyncFunctionDef, ast.FunctionDef)):
            body.append(node)
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id in KEEP for t in node.targets
        ):
            body.append(node)
    code = compile(ast.Module(body=body, type_ignores=[]), str(main), "exec")
    saved = {k: sys.modules.get(k) for k in ["bench", *(f"bench.{m}" for m in MODULES)]}
    try:
        for name in saved:
            sys.modules.pop(name, None)
        sys.modules.update(_load_package(sdist))
        random.seed(0)  # the suite draws its inputs with `random`
        ns: dict[str, Any] = {"__name__": "langgraph_suite"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(code, ns)
        return ns
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod


GROUP = "langgraph-suite"
# Cases `--quick` keeps: the smallest variant of each workload family.
QUICK = {
    "fanout_to_subgraph_10x",
    "fanout_to_subgraph_10x_checkpoint",
    "react_agent_10x",
    "react_agent_10x_checkpoint",
    "wide_state_25x300",
    "wide_state_25x300_checkpoint",
    "wide_dict_25x300",
    "wide_dict_25x300_checkpoint",
    "sequential_10",
    "sequential_1000",
    "pydantic_state_25x300",
    "pydantic_state_25x300_checkpoint",
}
BENCH_NAMES = sorted(
    {f"{family}_{size}{cp}" for family, size in [
        ("fanout_to_subgraph", "10x"), ("fanout_to_subgraph", "100x"),
        ("react_agent", "10x"), ("react_agent", "100x"),
        ("wide_state", "25x300"), ("wide_state", "15x600"), ("wide_state", "9x1200"),
        ("wide_dict", "25x300"), ("wide_dict", "15x600"), ("wide_dict", "9x1200"),
        ("pydantic_state", "25x300"), ("pydantic_state", "15x600"), ("pydantic_state", "9x1200"),
    ] for cp in ("", "_checkpoint")}
    | {"sequential_10", "sequential_1000"}
)
FIRST_EVENT = ("sequential_1000", "pydantic_state_25x300")
COMPILATION = ("sequential_1000", "pydantic_state_25x300", "wide_state_15x600")
SERDE = ("serde_allowlist_small", "serde_allowlist_large")


def _uvloop_batch(afn: Any, args: tuple, n: int) -> float:
    """Seconds per call of ``n`` awaited calls in a fresh uvloop loop (as pyperf's
    ``bench_async_func`` with ``loop_factory=uvloop.new_event_loop``)."""
    import uvloop

    async def many() -> float:
        start = time.perf_counter()
        for _ in range(n):
            await afn(*args)
        return time.perf_counter() - start

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(many()) / n


def _sync_batch(fn: Any, args: tuple, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn(*args)
    return (time.perf_counter() - start) / n


_SUITE: dict[str, Any] = {}


def suite(cfg: Cfg) -> dict[str, Any]:
    """The suite, loaded once (a failure to get it is remembered too)."""
    if not _SUITE:
        try:
            ns = load_suite(sdist_dir(cfg))
        except (Exception, SystemExit) as exc:
            _SUITE["error"] = f"LangGraph's bench suite is unavailable: {exc}"
        else:
            _SUITE.update(ns)
            found = sorted(b[0] for b in ns["benchmarks"])
            if found != BENCH_NAMES:
                print(f"note: the suite's cases changed: {sorted(set(found) ^ set(BENCH_NAMES))}",
                      file=sys.stderr)
    if "error" in _SUITE:
        raise RuntimeError(_SUITE["error"])
    return _SUITE


def _graph_case(base: str, sync: bool, first_event: bool) -> Any:
    def run(cfg: Cfg) -> Row:
        ns = suite(cfg)
        entry = next(b for b in ns["benchmarks"] if b[0] == base)
        _, agraph, graph, inp = entry
        g = graph if sync else agraph
        if sync:
            fn = ns["run_first_event_latency"] if first_event else ns["run"]
        else:
            fn = ns["arun_first_event_latency"] if first_event else ns["arun"]

        def batch(engine: str, n: int) -> float:
            _empty_saver(g)  # untimed: each batch starts from an empty InMemorySaver
            return (_sync_batch if sync else _uvloop_batch)(fn, (g, inp), n)

        try:
            return timed_row(name_of(base, sync, first_event), GROUP, batch, cfg, unit="ms", scale=1e3)
        finally:
            _empty_saver(g)  # what the runs saved is not kept alive for later cases

    return run


def _empty_saver(graph: Any) -> None:
    saver = getattr(graph, "checkpointer", None)
    for attr in ("storage", "writes", "blobs"):
        store = getattr(saver, attr, None)
        if store is not None and hasattr(store, "clear"):
            store.clear()


def name_of(base: str, sync: bool, first_event: bool = False) -> str:
    return f"lg/{base}" + ("_first_event_latency" if first_event else "") + ("_sync" if sync else "")


def _compile_case(base: str) -> Any:
    def run(cfg: Cfg) -> Row:
        ns = suite(cfg)
        builder = dict(ns["compilation_benchmarks"])[base]
        fn = ns["compile_graph"]
        batch = lambda engine, n: _sync_batch(fn, (builder,), n)  # noqa: E731
        return timed_row(f"lg/{base}_compilation", GROUP, batch, cfg, unit="ms", scale=1e3,
                         note="engine-independent (a control)")

    return run


def _serde_case(name: str) -> Any:
    def run(cfg: Cfg) -> Row:
        fn = suite(cfg)[f"collect_{name[6:]}"]  # serde_allowlist_x -> collect_allowlist_x
        batch = lambda engine, n: _sync_batch(fn, (), n)  # noqa: E731
        return timed_row(f"lg/{name}", GROUP, batch, cfg, unit="µs", note="engine-independent (a control)")

    return run



def cases(cfg: Cfg) -> list[Case]:
    """Every case of the suite: each workload async (uvloop, as the suite) and
    ``_sync``; first-event latency; compilation; serde allowlist collection."""
    out = []
    for base in BENCH_NAMES:
        if cfg.quick and base not in QUICK:
            continue
        for sync in (False, True):
            out.append(Case(name_of(base, sync), GROUP, _graph_case(base, sync, False)))
    for base in FIRST_EVENT:
        for sync in (False, True):
            out.append(Case(name_of(base, sync, True), GROUP, _graph_case(base, sync, True)))
    out += [Case(f"lg/{b}_compilation", GROUP, _compile_case(b)) for b in COMPILATION]
    out += [Case(f"lg/{b}", GROUP, _serde_case(b)) for b in SERDE]
    return out

"""pytest plugin: run LangGraph's tests on langgraph_rs, strictly.

Loaded with ``-p langgraph_rs.conformance.plugin`` (also in xdist workers).
Unless ``LANGGRAPH_RS_CONFORMANCE_STOCK=1``:

* ``langgraph_rs.install()`` runs before any test module is imported;
* a guard records every construction of LangGraph's ``SyncPregelLoop``,
  ``AsyncPregelLoop`` and ``PregelRunner`` and every call of its planner
  (``_algo.prepare_next_tasks``/``prepare_single_task``/``apply_writes``/
  ``local_read``) outside graph drawing (``get_graph``, which walks the graph
  with them): in runs and in the state APIs (``get_state*``,
  ``update_state*``, ``bulk_update_state``) alike; a test during which any of
  them ran is reported as failed, naming what ran.

With ``LANGGRAPH_RS_CONFORMANCE_RESULTS=path`` every test outcome is appended to
``path.<worker>`` as a JSON line.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
import os
import sys
from typing import Any

import pytest

STOCK = os.environ.get("LANGGRAPH_RS_CONFORMANCE_STOCK") == "1"
RESULTS = os.environ.get("LANGGRAPH_RS_CONFORMANCE_RESULTS")

_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "langgraph_rs_conformance_allowed", default=False
)
_violations: list[str] = []
_ALLOWED_METHODS = ("get_graph", "aget_graph")
#: LangGraph's planner, by module (its checkpoint builder, which the suite
#: also tests directly, is refused in our differential tests: tests/diff.py)
_GUARDED_FUNCTIONS = {
    "langgraph.pregel._algo": (
        "prepare_next_tasks",
        "prepare_single_task",
        "apply_writes",
        "local_read",
    ),
}


def _record(name: str) -> None:
    _violations.append(name)


def _guard_init(cls: type) -> None:
    orig = cls.__init__

    @functools.wraps(orig)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        _record(f"{cls.__module__}.{cls.__qualname__}")
        orig(self, *args, **kwargs)

    cls.__init__ = init  # type: ignore[method-assign]


def _guard_function(orig: Any, name: str) -> Any:
    @functools.wraps(orig)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not _allowed.get():
            _record(name)
        return orig(*args, **kwargs)

    return guarded


def _allow(cls: type, name: str) -> None:
    orig = getattr(cls, name, None)
    if orig is None:
        return

    # The flag is set and restored by value (not token): async generators may
    # resume in another context.
    if inspect.isasyncgenfunction(orig):

        @functools.wraps(orig)
        async def agen(self: Any, *args: Any, **kwargs: Any) -> Any:
            prev = _allowed.get()
            _allowed.set(True)
            try:
                async for item in orig(self, *args, **kwargs):
                    yield item
            finally:
                _allowed.set(prev)

        setattr(cls, name, agen)
    elif inspect.iscoroutinefunction(orig):

        @functools.wraps(orig)
        async def coro(self: Any, *args: Any, **kwargs: Any) -> Any:
            prev = _allowed.get()
            _allowed.set(True)
            try:
                return await orig(self, *args, **kwargs)
            finally:
                _allowed.set(prev)

        setattr(cls, name, coro)
    elif inspect.isgeneratorfunction(orig):

        @functools.wraps(orig)
        def gen(self: Any, *args: Any, **kwargs: Any) -> Any:
            prev = _allowed.get()
            _allowed.set(True)
            try:
                yield from orig(self, *args, **kwargs)
            finally:
                _allowed.set(prev)

        setattr(cls, name, gen)
    else:

        @functools.wraps(orig)
        def sync(self: Any, *args: Any, **kwargs: Any) -> Any:
            prev = _allowed.get()
            _allowed.set(True)
            try:
                return orig(self, *args, **kwargs)
            finally:
                _allowed.set(prev)

        setattr(cls, name, sync)


def install_guard() -> None:
    """Patch LangGraph so that any use of its own loop is recorded."""
    import langgraph.pregel  # noqa: F401  (imports every module that imports _algo)
    from langgraph.pregel import Pregel, _loop, _runner

    _guard_init(_loop.SyncPregelLoop)
    _guard_init(_loop.AsyncPregelLoop)
    _guard_init(_runner.PregelRunner)
    for modname, fnames in _GUARDED_FUNCTIONS.items():
        owner = sys.modules[modname]
        for fname in fnames:
            orig = getattr(owner, fname)
            guarded = _guard_function(orig, f"{modname}.{fname}")
            for mod in list(sys.modules.values()):
                if getattr(mod, "__name__", "").startswith("langgraph.") and (
                    getattr(mod, fname, None) is orig
                ):
                    setattr(mod, fname, guarded)
    for name in _ALLOWED_METHODS:
        _allow(Pregel, name)


def _as_langgraphs_own_environment() -> None:
    """LangGraph's suite is written for an environment without the ``langchain``
    package, whose version langchain-core otherwise adds to every chat model's
    ``lc_versions`` trace metadata (which its messages-stream tests compare).
    Ours has it, for the ecosystem tests; hide it from that metadata, on both
    engines alike."""
    try:
        from langchain_core.language_models import base
    except ImportError:  # pragma: no cover
        return
    if hasattr(base, "_get_langchain_version"):
        base._get_langchain_version = lambda: None


def pytest_configure(config: pytest.Config) -> None:
    _as_langgraphs_own_environment()
    if STOCK:
        return
    import langgraph_rs

    langgraph_rs.install()
    install_guard()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    if call.when == "setup":
        _violations.clear()
    outcome = yield
    report = outcome.get_result()
    if call.when == "call" and _violations and report.passed and not STOCK:
        ran = ", ".join(sorted(set(_violations)))
        report.outcome = "failed"
        report.longrepr = f"LangGraph's own Pregel loop ran during this test: {ran}"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not RESULTS:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        outcome = report.outcome
        if report.when == "setup" and report.failed:
            outcome = "error"
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with open(f"{RESULTS}.{worker}", "a") as f:
            f.write(json.dumps({"nodeid": report.nodeid, "outcome": outcome}) + "\n")

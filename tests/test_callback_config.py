"""A run's callback manager made natively when nothing adds a handler
(``_native.plain_callback_manager``) against langchain-core's
``get_callback_manager_for_config`` plus LangGraph's ``ls_integration``
metadata: the same manager whenever the native one is made, and the native
one is not made whenever any rule (callbacks, tracing by environment,
context or global setting, debug, configure hooks) adds a handler or one of
the functions holding those rules was replaced."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import langsmith._internal._context as ls_context
import langsmith.utils as ls_utils
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.callbacks.manager import AsyncCallbackManager, CallbackManager
from langchain_core.globals import set_debug
from langchain_core.tracers.context import _configure_hooks, register_configure_hook, tracing_v2_callback_var
from langgraph._internal._config import (
    ensure_config,
    get_async_callback_manager_for_config,
    get_callback_manager_for_config,
)
from langsmith.run_helpers import tracing_context

from langgraph_rs import _callback_rules, _native


def stock(config: dict, is_async: bool) -> Any:
    m = (get_async_callback_manager_for_config if is_async else get_callback_manager_for_config)(config)
    if "ls_integration" not in m.metadata:  # what LangGraph's stream adds
        m.add_metadata({"ls_integration": "langgraph"})
    return m


def shape(m: Any) -> tuple:
    return type(m), list(vars(m).items())


@pytest.fixture(autouse=True)
def _env_cache() -> Iterator[None]:
    """langsmith caches what it read of the environment: each test reads afresh."""
    ls_utils.get_env_var.cache_clear()
    yield
    ls_utils.get_env_var.cache_clear()


def test_the_rules_followed_are_the_installed_ones() -> None:
    """The source of langchain-core's and langsmith's rules is the source the
    native side follows (fails when a pinned version changes: re-check the
    rules in rust/py/callback_config.rs, then the hash)."""
    assert _callback_rules.native_rules() is not None


CONFIGS = [
    {},
    {"tags": ["a", "b", "a"]},
    {"metadata": {"k": 1}},
    {"metadata": {"ls_integration": "mine", "k": 1}},
    {"metadata": {"lc_versions": {"core": "1"}, "n": {"deep": 1}}, "tags": ["t"]},
    {"callbacks": []},
    {"configurable": {"thread_id": "t1", "user": "u", "n": 3, "__pregel_x": 1}, "metadata": {"n": 4}},
]


@pytest.mark.parametrize("is_async", [False, True])
@pytest.mark.parametrize("extra", CONFIGS)
def test_nothing_configured_makes_the_same_manager(extra: dict, is_async: bool) -> None:
    config = ensure_config(extra)
    ours = _native.plain_callback_manager(config, is_async)
    assert ours is not None
    assert shape(ours) == shape(stock(ensure_config(extra), is_async))
    assert type(ours) is (AsyncCallbackManager if is_async else CallbackManager)


class Handler(BaseCallbackHandler):
    pass


@contextlib.contextmanager
def _env(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[None]:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    ls_utils.get_env_var.cache_clear()
    yield


@contextlib.contextmanager
def _parent_run() -> Iterator[None]:
    class Run:
        id = None

    run = Run()
    token = ls_context._PARENT_RUN_TREE_REF.set(weakref.ref(run))
    try:
        yield
    finally:
        ls_context._PARENT_RUN_TREE_REF.reset(token)


@contextlib.contextmanager
def _tracer_v2() -> Iterator[None]:
    """What ``tracing_v2_enabled()`` sets (without its LangSmith client)."""
    token = tracing_v2_callback_var.set(Handler())  # type: ignore[arg-type]
    try:
        yield
    finally:
        tracing_v2_callback_var.reset(token)


@contextlib.contextmanager
def _global_tracing(value: Any) -> Iterator[None]:
    old = ls_context._GLOBAL_TRACING_ENABLED
    ls_context._GLOBAL_TRACING_ENABLED = value
    try:
        yield
    finally:
        ls_context._GLOBAL_TRACING_ENABLED = old


@contextlib.contextmanager
def _debug() -> Iterator[None]:
    set_debug(True)
    try:
        yield
    finally:
        set_debug(False)


@contextlib.contextmanager
def _hook(set_var: bool, env_var: str | None = None, handler_class: Any = None) -> Iterator[None]:
    var: ContextVar = ContextVar("test_hook", default=None)
    register_configure_hook(var, True, handler_class, env_var)
    token = var.set(Handler()) if set_var else None
    try:
        yield
    finally:
        if token is not None:
            var.reset(token)
        _configure_hooks.pop()


@contextlib.contextmanager
def _patched(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, value: Any) -> Iterator[None]:
    monkeypatch.setattr(owner, name, value)
    yield


HANDLED = {
    "callbacks list": lambda mp: contextlib.nullcontext({"callbacks": [Handler()]}),
    "callback manager": lambda mp: contextlib.nullcontext({"callbacks": CallbackManager(handlers=[])}),
    "LANGSMITH_TRACING": lambda mp: _env(mp, LANGSMITH_TRACING="true"),
    "LANGCHAIN_TRACING_V2": lambda mp: _env(mp, LANGCHAIN_TRACING_V2="true"),
    "LANGSMITH_TRACING_V2": lambda mp: _env(mp, LANGSMITH_TRACING_V2="true"),
    "v1 LANGCHAIN_TRACING": lambda mp: _env(mp, LANGCHAIN_TRACING="true"),
    "LANGCHAIN_HANDLER": lambda mp: _env(mp, LANGCHAIN_HANDLER="langchain"),
    "a v2 tracer in its context variable": lambda mp: _tracer_v2(),
    "tracing_context(enabled=True)": lambda mp: tracing_context(enabled=True),
    "tracing_context(enabled='local')": lambda mp: tracing_context(enabled="local"),
    "tracing_context(tags)": lambda mp: tracing_context(tags=["x"]),
    "tracing_context(metadata)": lambda mp: tracing_context(metadata={"x": 1}),
    "a parent run": lambda mp: _parent_run(),
    "global tracing": lambda mp: _global_tracing(True),
    "debug": lambda mp: _debug(),
    "hook with its var set": lambda mp: _hook(True),
    "hook from the environment": lambda mp: contextlib.ExitStack(),  # filled below
    "tracing_is_enabled patched": lambda mp: _patched(mp, ls_utils, "tracing_is_enabled", lambda *a: False),
}


def _hook_from_env(mp: pytest.MonkeyPatch) -> Any:
    stack = contextlib.ExitStack()
    stack.enter_context(_env(mp, TEST_HOOK_ENV="1"))
    stack.enter_context(_hook(False, "TEST_HOOK_ENV", Handler))
    return stack


HANDLED["hook from the environment"] = _hook_from_env


@pytest.mark.parametrize("is_async", [False, True])
@pytest.mark.parametrize("case", sorted(HANDLED))
def test_any_rule_adding_a_handler_takes_the_real_call(
    case: str, is_async: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    with HANDLED[case](monkeypatch) as extra:
        config = ensure_config(extra if isinstance(extra, dict) else {})
        assert _native.plain_callback_manager(config, is_async) is None


NOT_HANDLED = {
    "tracing env off": lambda mp: _env(mp, LANGSMITH_TRACING="false", LANGCHAIN_TRACING="0"),
    "env on, context off": lambda mp: contextlib.ExitStack(),  # filled below
    "env on, global off": lambda mp: contextlib.ExitStack(),
    "hook without its var": lambda mp: _hook(False),
    "hook env unset": lambda mp: _hook(False, "TEST_HOOK_ENV_UNSET", Handler),
}


def _env_on_ctx_off(mp: pytest.MonkeyPatch) -> Any:
    stack = contextlib.ExitStack()
    stack.enter_context(_env(mp, LANGSMITH_TRACING="true"))
    stack.enter_context(tracing_context(enabled=False))
    return stack


def _env_on_global_off(mp: pytest.MonkeyPatch) -> Any:
    stack = contextlib.ExitStack()
    stack.enter_context(_env(mp, LANGSMITH_TRACING="true"))
    stack.enter_context(_global_tracing(False))
    return stack


NOT_HANDLED["env on, context off"] = _env_on_ctx_off
NOT_HANDLED["env on, global off"] = _env_on_global_off


@pytest.mark.parametrize("is_async", [False, True])
@pytest.mark.parametrize("case", sorted(NOT_HANDLED))
def test_rules_that_add_no_handler_make_the_same_manager(
    case: str, is_async: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    with NOT_HANDLED[case](monkeypatch):
        config = ensure_config({"tags": ["t"], "metadata": {"m": 1}})
        ours = _native.plain_callback_manager(config, is_async)
        theirs = stock(ensure_config({"tags": ["t"], "metadata": {"m": 1}}), is_async)
        assert theirs.handlers == []  # (the case adds no handler on stock either)
        assert ours is not None and shape(ours) == shape(theirs)


def test_other_rules_are_not_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A source that is not the one checked (a new release) keeps every run
    on langchain-core's own call."""
    monkeypatch.setattr(_callback_rules, "RULES_SHA256", "0" * 16)
    assert _callback_rules.native_rules() is None

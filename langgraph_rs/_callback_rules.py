"""When a run's callback manager can be made natively: the rules of
langchain-core and langsmith that decide whether a run has a callback handler
(config callbacks, tracing by environment or context, debug, configure hooks).

``rust/py/callback_config.rs`` makes the run's ``CallbackManager`` without
calling ``get_callback_manager_for_config`` when none of those rules adds a
handler — the manager is then plain data — and otherwise hands over to the
real call. Those rules are langchain-core's and langsmith's code, so the
engine follows them only for the code it was checked against: the source of
every function whose rules it follows is hashed once per process and compared
with ``RULES_SHA256`` (langchain-core 1.8.3, langsmith 0.15.1, langgraph
1.2.22). Any other source — a new release changing a rule — keeps every run on
langchain-core's own call: slower, never wrong. At every run the native side
also checks that each of those functions is still the one hashed (a
monkeypatched ``tracing_is_enabled`` makes the run take the real call).
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any

RULES_SHA256 = "b411f411360aafe9"  # first 16 hex digits, see rule_functions()


def rule_functions() -> list[tuple[Any, str]]:
    """(module, name) of every function whose rules the native side follows
    or that decides the path (read at each run: patched means not followed)."""
    import langchain_core.callbacks.manager as manager
    import langchain_core.globals as lc_globals
    import langchain_core.tracers.context as tracer_context
    import langchain_core.utils.env as env
    import langsmith._internal._context as ls_context
    import langsmith.run_helpers as run_helpers
    import langsmith.utils as ls_utils
    import langgraph._internal._config as lg_config

    return [
        (manager, "_configure"),
        (manager.CallbackManager, "configure"),
        (manager.AsyncCallbackManager, "configure"),
        (manager.BaseCallbackManager, "__init__"),
        (manager.BaseCallbackManager, "add_tags"),
        (manager.BaseCallbackManager, "add_metadata"),
        (tracer_context, "_tracing_v2_is_enabled"),
        (lc_globals, "get_debug"),
        (manager, "_get_debug"),
        (env, "env_var_is_set"),
        (run_helpers, "get_tracing_context"),
        (ls_utils, "tracing_is_enabled"),
        (ls_context, "get_current_run_tree"),
        (lg_config, "get_callback_manager_for_config"),
        (lg_config, "get_async_callback_manager_for_config"),
    ]


def _source_sha(functions: list[tuple[Any, str]]) -> str | None:
    h = hashlib.sha256()
    try:
        for owner, name in functions:
            h.update(inspect.getsource(getattr(owner, name)).encode())
    except (OSError, TypeError):  # no source to check: not followed
        return None
    return h.hexdigest()[:16]


def native_rules() -> dict[str, Any] | None:
    """What the native side reads (once per process), or None when the rules
    are not the ones it follows."""
    functions = rule_functions()
    if _source_sha(functions) != RULES_SHA256:
        return None
    import langchain_core.callbacks.manager as manager
    import langchain_core.globals as lc_globals
    import langchain_core.tracers.context as tracer_context
    import langsmith._internal._context as ls_context
    import langsmith.run_helpers as run_helpers
    import langsmith.utils as ls_utils

    if "__init__" in vars(manager.CallbackManager) or "__init__" in vars(manager.AsyncCallbackManager):
        return None
    # the namespaces (module or class dicts, live) the rules are looked up in
    # at run time, and the object expected there: the functions hashed, and
    # the names they call them by
    pairs = functions + [
        (manager, "get_debug"),
        (manager, "env_var_is_set"),
        (run_helpers, "get_current_run_tree"),
        (ls_utils, "get_env_var"),
    ]
    guards = [(vars(owner), name, vars(owner)[name]) for owner, name in pairs]
    if manager.get_debug is not lc_globals.get_debug:
        return None
    return {
        "guards": guards,
        "sync_cls": manager.CallbackManager,
        "async_cls": manager.AsyncCallbackManager,
        "parent_ref": ls_context._PARENT_RUN_TREE_REF,
        "tags": ls_context._TAGS,
        "metadata": ls_context._METADATA,
        "enabled": ls_context._TRACING_ENABLED,
        "ls_context": ls_context,
        "tracer_v2": tracer_context.tracing_v2_callback_var,
        "hooks": tracer_context._configure_hooks,
        "lc_globals": lc_globals,
        "get_env_var": ls_utils.get_env_var,
    }

"""A node's steps for runs no callback handler records: the async side of
``_native.LeanSeq`` (rust/py/node_call.rs runs them synchronously).
"""

from __future__ import annotations

import asyncio
from uuid import UUID
from typing import Any

from langchain_core.callbacks.base import BaseCallbackManager
from langchain_core.runnables import Runnable
from langchain_core.runnables.config import _merge_metadata_dicts
from langchain_core.utils.uuid import uuid7
from langgraph._internal._runnable import set_config_context

from langgraph_rs import _native



async def _lean_ainvoke(lean: Any, input: Any, config: Any, **kwargs: Any) -> Any:
    """``LeanSeq.ainvoke`` (rust/py/node_call.rs does ``invoke``): a node's steps
    run one after the other without a callback run around them — ``RunnableSeq``
    minus the callback manager, for runs that have no callback handler to tell
    it to. The node runs in its config context exactly as ``RunnableSeq`` runs it."""
    if not isinstance(config.get("callbacks"), BaseCallbackManager):
        return await lean.seq.ainvoke(input, config, **kwargs)
    steps, native, own_config = lean.steps, lean.native, lean.own_config
    parent = _seq_parent(config)
    config = _seq_step_config(config, parent, 1)
    with set_config_context(config) as context:
        input = await asyncio.create_task(steps[0].ainvoke(input, config, **kwargs), context=context)
    for i, step in enumerate(steps[1:], 2):
        if (plan := native[i - 1]) is not None:
            input = _native.channel_write(plan, input, config, recurse=False)
            if step.recurse and isinstance(input, Runnable):
                input = await input.ainvoke(input, config)
            continue
        input = await step.ainvoke(input, _seq_step_config(config, parent, i) if own_config[i - 1] else config)
    return input


def _seq_parent(config: dict) -> tuple[list, dict, UUID]:
    """What ``RunnableSeq._start`` hands down to its steps when no handler records
    the node's run: the inheritable tags and metadata of the task's callback
    manager with the config's added (as ``get_callback_manager_for_config`` adds
    them), and the run id of the node's run."""
    manager = config["callbacks"]
    inheritable_tags = manager.inheritable_tags
    if tags := config.get("tags"):
        scratch = type(manager)(
            handlers=[], tags=list(manager.tags), inheritable_tags=list(inheritable_tags)
        )
        scratch.add_tags(tags)
        inheritable_tags = scratch.inheritable_tags
    metadata = manager.inheritable_metadata
    if extra := config.get("metadata"):
        metadata = _merge_metadata_dicts(metadata, extra)
    return inheritable_tags, metadata, config.pop("run_id", None) or uuid7()


def _seq_step_config(config: dict, parent: tuple[list, dict, UUID], i: int) -> dict:
    """``patch_config(config, callbacks=run_manager.get_child(f"seq:step:{i}"))``:
    a callee that brings its own handlers sees the tags, metadata and parent run
    of the node's run, and no ``run_name`` (it would rename the callee's run)."""
    inheritable_tags, metadata, run_id = parent
    child = type(config["callbacks"])(
        handlers=[],
        inheritable_handlers=[],
        parent_run_id=run_id,
        tags=list(inheritable_tags),
        inheritable_tags=list(inheritable_tags),
        metadata=dict(metadata),
        inheritable_metadata=dict(metadata),
    )
    step_tag = f"seq:step:{i}"
    if step_tag in inheritable_tags:
        child.add_tags([step_tag], inherit=False)
    else:
        child.tags.append(step_tag)
    config = config.copy()
    config["callbacks"] = child
    config.pop("run_name", None)
    config.pop("run_id", None)
    return config

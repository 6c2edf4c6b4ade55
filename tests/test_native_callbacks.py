"""The engine's native task callback manager (``_native.callback_child``)
against langchain-core's ``get_child``: the same class, attributes and values,
whatever the run's inheritable tags and metadata; with a handler, langchain's
own ``get_child`` runs."""

from __future__ import annotations

import itertools
from typing import Any
from uuid import uuid4

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.callbacks.manager import AsyncCallbackManagerForChainRun, CallbackManagerForChainRun

from langgraph_rs import _native

TAGS = [[], ["a"], ["a", "a"], ["graph:step:1"], ["x", "graph:step:1", "y"]]
METADATA = [{}, {"k": 1}, {"lc_versions": {"core": "1"}, "n": {"deep": 1}}]


def manager(tags: list, metadata: dict, handlers: list, cls: type = CallbackManagerForChainRun) -> Any:
    return cls(
        run_id=uuid4(),
        handlers=list(handlers),
        inheritable_handlers=list(handlers),
        tags=["own"],
        inheritable_tags=list(tags),
        metadata={"own": 1},
        inheritable_metadata=dict(metadata),
    )


def shape(m: Any) -> tuple:
    return type(m), list(vars(m).items())


@pytest.mark.parametrize(
    ("tags", "metadata", "cls"),
    list(itertools.product(TAGS, METADATA, [CallbackManagerForChainRun, AsyncCallbackManagerForChainRun])),
)
def test_child_equals_langchains(tags: list, metadata: dict, cls: type) -> None:
    run = manager(tags, metadata, [], cls)
    want = run.get_child("graph:step:1")
    got = _native.callback_child(run, "graph:step:1")
    assert shape(got) == shape(want)
    assert got.metadata is not run.inheritable_metadata
    if "lc_versions" in metadata:
        assert got.metadata["lc_versions"] is not metadata["lc_versions"]


def test_with_a_handler_langchains_own_child() -> None:
    class Handler(BaseCallbackHandler):
        pass

    run = manager(["a"], {"k": 1}, [Handler()])
    want = run.get_child("graph:step:2")
    got = _native.callback_child(run, "graph:step:2")
    assert shape(got) == shape(want)
    assert got.handlers == run.inheritable_handlers

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


# -- the run's own run manager (``_native.chain_run_manager``) ---------------


def _run_manager_cases() -> list:
    from langchain_core.callbacks.manager import AsyncCallbackManager, CallbackManager

    cases = []
    for cls in (CallbackManager, AsyncCallbackManager):
        for tags, metadata, parent in itertools.product(
            ([], ["t"]), ({}, {"k": 1}), (None, uuid4())
        ):
            cases.append((cls, tags, metadata, parent))
    return cases


@pytest.mark.parametrize(("cls", "tags", "metadata", "parent"), _run_manager_cases())
@pytest.mark.parametrize("given_id", [False, True])
def test_run_manager_is_what_on_chain_start_returns(
    cls: type, tags: list, metadata: dict, parent: Any, given_id: bool
) -> None:
    import asyncio

    def make() -> Any:
        m = cls(handlers=[], inheritable_handlers=[], parent_run_id=parent)
        m.add_tags(list(tags))
        m.add_metadata(dict(metadata))
        return m

    run_id = uuid4() if given_id else None
    m = make()
    ours = _native.chain_run_manager(m, run_id)
    theirs = m.on_chain_start(None, {"x": 1}, run_id=run_id, name="g")
    if asyncio.iscoroutine(theirs):
        theirs = asyncio.run(theirs)
    assert type(ours) is type(theirs)
    mine, stock = vars(ours), vars(theirs)
    assert list(mine) == list(stock)  # attribute order
    if not given_id:
        assert ours.run_id.version == 7 and ours.run_id != theirs.run_id
        mine, stock = dict(mine, run_id=None), dict(stock, run_id=None)
    assert mine == stock
    for attr in mine:  # the lists and dicts shared with the manager, or new
        assert (getattr(ours, attr) is getattr(m, attr, None)) == (getattr(theirs, attr) is getattr(m, attr, None))


def test_run_manager_with_a_handler_or_a_subclass_is_langchains() -> None:
    from langchain_core.callbacks.manager import CallbackManager

    class Handler(BaseCallbackHandler):
        pass

    class Sub(CallbackManager):
        pass

    assert _native.chain_run_manager(CallbackManager(handlers=[Handler()]), None) is None
    assert _native.chain_run_manager(Sub(handlers=[]), None) is None
    patched = CallbackManager(handlers=[])
    patched.on_chain_start = lambda *a, **k: None  # type: ignore[method-assign]
    assert _native.chain_run_manager(patched, None) is None

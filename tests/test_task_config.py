"""The engine builds task configs in one pass; they must equal LangGraph's
``patch_config(merge_configs(...))`` exactly, key order included."""

from __future__ import annotations

import random
from collections import ChainMap
from types import MappingProxyType
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManager
from langgraph._internal._config import DEFAULT_RECURSION_LIMIT, merge_configs, patch_config

from langgraph_rs._native import task_config

OPTIONS: dict[str, list[Any]] = {
    "tags": [None, [], ["a"], ["a", "b"]],
    "metadata": [
        None, {}, {"x": 1, "lc_versions": {"a": 1}}, {"nested": {"k": 1}},
        # as LangGraph's ensure_config makes it (its truth read natively)
        ChainMap({}), ChainMap({}, {"y": 2}), ChainMap(MappingProxyType({})),
        ChainMap(MappingProxyType({"z": 3})),
    ],
    "callbacks": [None, [], CallbackManager([])],
    "recursion_limit": [None, DEFAULT_RECURSION_LIMIT, 25, 10007],
    "run_name": [None, "r"],
    "run_id": [None, "id"],
    "configurable": [None, {}, {"thread_id": "t"}],
    "max_concurrency": [None, 3],
}


def configs(n: int) -> list[dict]:
    rnd = random.Random(7)
    keys = list(OPTIONS)
    out = []
    for _ in range(n):
        rnd.shuffle(keys)
        out.append({k: v for k in keys if (v := rnd.choice(OPTIONS[k])) is not None or rnd.random() < 0.3})
    return out


def shape(config: dict) -> list:
    return [(k, type(v).__name__ if k == "callbacks" else v) for k, v in config.items()]


@pytest.mark.parametrize("callbacks", [None, CallbackManager([])])
@pytest.mark.parametrize(
    "additional",
    [{"metadata": {"langgraph_node": "n"}, "tags": ["t"]}, {"metadata": {"langgraph_node": "n"}, "tags": []}],
)
def test_task_config_equals_langgraphs(callbacks: Any, additional: dict) -> None:
    for config in configs(1500):
        expected = patch_config(
            merge_configs(config, additional), run_name="node", callbacks=callbacks, configurable={"k": 1}
        )
        got = task_config(
            config, additional.get("metadata"), additional.get("tags"),
            run_name="node", callbacks=callbacks, configurable={"k": 1},
        )
        assert shape(got) == shape(expected), config
        if callbacks is not None:
            assert got["callbacks"] is callbacks

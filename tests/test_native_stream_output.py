"""The chunks ``stream``/``astream`` yield, shaped natively
(``_native.stream_output``), against LangGraph's ``_output`` over the same
queue: every stream_mode form, subgraphs, version v1 and v2 (interrupts moved
to their field, the output and state mappers applied)."""

from __future__ import annotations

import copy
import itertools
from collections import deque
from typing import Any

import pytest
from langgraph.pregel.main import _output
from langgraph.types import Interrupt

from langgraph_rs import _native

QUEUE = [
    ((), "values", {"x": 1}),
    (("sub:1",), "values", {"x": 2, "__interrupt__": (Interrupt(value="ask", id="i"),)}),
    ((), "updates", {"a": {"x": 1}}),
    ((), "custom", "hello"),
    (("sub:1",), "checkpoints", {"values": {"x": 1}, "next": ["a"]}),
    ((), "debug", {"type": "task", "payload": {}}),
    ((), "values", [1, 2]),
]
MODES = ["values", "updates", ["values"], ["updates", "custom", "debug"], ["values", "checkpoints"]]


def drain(fn: Any, mode: Any, subgraphs: bool, version: str, mappers: bool) -> list:
    q = deque(copy.deepcopy(QUEUE))
    out_map = (lambda d: ("mapped", d)) if mappers else None
    state_map = (lambda d: ("state", d)) if mappers else None
    return list(fn(mode, (), subgraphs, q.popleft, IndexError, version, out_map, state_map))


@pytest.mark.parametrize(
    ("mode", "subgraphs", "version", "mappers"),
    list(itertools.product(MODES, [False, True], ["v1", "v2"], [False, True])),
)
def test_chunks_equal_langgraphs(mode: Any, subgraphs: bool, version: str, mappers: bool) -> None:
    want = drain(_output, mode, subgraphs, version, mappers)
    assert want  # the case streams something
    assert drain(_native.stream_output, mode, subgraphs, version, mappers) == want


def test_a_getter_error_other_than_empty_propagates() -> None:
    def getter() -> Any:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        list(_native.stream_output("values", (), False, getter, IndexError, "v1", None, None))


def test_with_a_print_mode_langgraphs_generator_prints(capsys: pytest.CaptureFixture[str]) -> None:
    q = deque(copy.deepcopy(QUEUE))
    out = list(_native.stream_output("values", ["updates"], False, q.popleft, IndexError, "v1", None, None))
    assert out == [{"x": 1}, {"x": 2, "__interrupt__": (Interrupt(value="ask", id="i"),)}, [1, 2]]
    assert "[updates]" in capsys.readouterr().out

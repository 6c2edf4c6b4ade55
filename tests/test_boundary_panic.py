"""A Rust panic inside the engine reaches Python as ``langgraph_rs.EngineError``
(an ordinary ``Exception``), never as PyO3's ``PanicException`` (a
``BaseException``), and leaves the process, the graph and the checkpoints usable.

Panics are provoked on purpose with the binding's one-shot test hook
``_native._debug_panic_next(op)``, armed from inside a node so that the panic
hits a real engine operation in the middle of a run, after checkpoints were
written.
"""

from __future__ import annotations

import asyncio
import copy
import operator
import subprocess
import sys
import textwrap
from typing import Annotated, Any

import langgraph.pregel._checkpoint as lg_checkpoint
import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy
from typing_extensions import TypedDict

import langgraph_rs
from langgraph_rs import EngineError, _native
from tests.diff import deterministic, engine, history

OPS = ("apply_writes", "prepare", "checkpoint")
CFG = {"configurable": {"thread_id": "1"}}
INPUT = {"n": 1, "items": ["in"]}


def _message(op: str) -> str:
    return f"langgraph_rs engine panicked in {op}: injected panic in {op} (test hook)"


class S(TypedDict):
    n: int
    items: Annotated[list, operator.add]


class _Arm:
    """The operation node ``b`` arms when it runs (once), or None."""

    op: str | None = None


def _b(state: S) -> dict:
    if _Arm.op is not None:
        _native._debug_panic_next(_Arm.op)
        _Arm.op = None
    return {"items": ["b"], "n": state["n"] + 1}


def _builder() -> StateGraph:
    g = StateGraph(S)
    g.add_node("a", lambda s: {"items": ["a"]})
    g.add_node("b", _b)
    g.add_node("c", lambda s: {"items": [f"c{s['n']}"]})
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_conditional_edges("b", lambda s: "c" if s["n"] > 0 else END)
    g.add_edge("c", END)
    return g


def _build() -> tuple[Any, InMemorySaver]:
    saver = InMemorySaver()
    return _builder().compile(checkpointer=saver), saver


def _call(graph: Any, mode: str, inp: Any, config: dict, **kw: Any) -> Any:
    if mode == "invoke":
        return graph.invoke(inp, config, **kw)
    return asyncio.run(graph.ainvoke(inp, config, **kw))


def _without_writes(rows: list) -> list:
    """Checkpoint rows without their pending writes (column 8)."""
    return [r[:8] + r[9:] for r in rows]


def _copy(saver: InMemorySaver) -> InMemorySaver:
    new = InMemorySaver()
    new.storage = copy.deepcopy(saver.storage)
    new.writes = copy.deepcopy(saver.writes)
    new.blobs = copy.deepcopy(saver.blobs)
    return new


def _resume(name: str, saver: InMemorySaver, mode: str, durability: str) -> tuple[Any, list]:
    """Resume thread 1 of ``saver`` (``invoke(None)``) on engine ``name``."""
    with deterministic(), engine(name):
        for _ in range(100):  # new checkpoint ids start past those already saved
            lg_checkpoint.uuid6()
        graph = _builder().compile(checkpointer=saver)
        value = _call(graph, mode, None, CFG, durability=durability)
        return value, history(saver, CFG)


@pytest.fixture(autouse=True)
def _disarmed():
    _native._debug_panic_next(None)
    _Arm.op = None
    yield
    _Arm.op = None
    # a hook that never fired would hit whatever test runs next
    assert _native._debug_panic_next(None) is None, "the armed panic never fired"


def test_engine_error_is_an_ordinary_exception() -> None:
    assert langgraph_rs.EngineError is _native.EngineError
    assert issubclass(EngineError, RuntimeError)
    assert EngineError.__module__ == "langgraph_rs"
    assert "EngineError" in langgraph_rs.__all__
    with pytest.raises(ValueError, match="unknown engine operation 'nope'"):
        _native._debug_panic_next("nope")
    assert _native._debug_panic_next("prepare") is None
    assert _native._debug_panic_next("checkpoint") == "prepare"
    assert _native._debug_panic_next(None) == "checkpoint"


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
@pytest.mark.parametrize("durability", ["sync", "async"])
@pytest.mark.parametrize("op", OPS)
def test_a_panic_mid_run_is_an_engine_error_and_the_thread_resumes_like_stock(
    op: str, durability: str, mode: str
) -> None:
    with deterministic(), engine("stock"):
        graph, saver = _build()
        expected = _call(graph, mode, INPUT, CFG, durability=durability)
        expected_history = history(saver, CFG)
    assert expected == {"n": 2, "items": ["in", "a", "b", "c2"]}

    with deterministic(), engine("rs"):
        graph, saver = _build()
        _Arm.op = op
        try:
            _call(graph, mode, INPUT, CFG, durability=durability)
        except Exception as exc:  # an EngineError must be an ordinary Exception
            error = exc
        else:
            pytest.fail("the armed panic did not surface")
        assert type(error) is EngineError
        assert str(error) == _message(op)
        assert _native._debug_panic_next(None) is None  # fired once, then spent

        # what was saved before the panic is readable and is stock's history so far
        # (the step that panicked may lack the pending writes stock saves later)
        before = history(saver, CFG)
        assert len(before) == (4 if op == "prepare" else 3)
        assert _without_writes(before) == _without_writes(expected_history[-len(before) :])
        assert graph.get_state(CFG).values["items"][:2] == ["in", "a"]

        saved = _copy(saver)

    # resumed from those checkpoints, both engines finish the run alike
    stock = _resume("stock", _copy(saved), mode, durability)
    ours = _resume("rs", saved, mode, durability)
    assert ours == stock
    assert ours[0] == expected


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
@pytest.mark.parametrize("op", OPS)
def test_a_panic_with_exit_durability_persists_nothing(op: str, mode: str) -> None:
    with deterministic(), engine("stock"):
        graph, saver = _build()
        expected = _call(graph, mode, INPUT, CFG, durability="exit")
        expected_history = history(saver, CFG)

    with engine("rs"):
        graph, saver = _build()
        with deterministic():
            _Arm.op = op
            with pytest.raises(EngineError) as info:
                _call(graph, mode, INPUT, CFG, durability="exit")
            # the panic's own error, not one from saving a half-applied state
            assert str(info.value) == _message(op)
            assert history(saver, CFG) == []
        with deterministic():  # the same graph and thread, run again from scratch
            assert _call(graph, mode, INPUT, CFG, durability="exit") == expected
            assert history(saver, CFG) == expected_history


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_after_a_panic_the_same_graph_runs_like_stock(mode: str) -> None:
    config = {"configurable": {"thread_id": "2"}}
    with deterministic(), engine("stock"):
        graph, saver = _build()
        expected = _call(graph, mode, INPUT, config)
        expected_history = history(saver, config)

    with engine("rs"):
        graph, saver = _build()
        _Arm.op = "apply_writes"
        with pytest.raises(EngineError):
            _call(graph, mode, INPUT, CFG)
        with deterministic():
            assert _call(graph, mode, INPUT, config) == expected
            assert history(saver, config) == expected_history
        # the graph without a checkpointer too
        plain = _builder().compile()
        assert _call(plain, mode, INPUT, {}) == expected


def _parent(retry: RetryPolicy | None) -> Any:
    class P(TypedDict):
        n: int
        items: Annotated[list, operator.add]

    g = StateGraph(P)
    g.add_node("sub", _builder().compile(), retry_policy=retry)
    g.add_node("after", lambda s: {"items": ["after"]})
    g.add_edge(START, "sub")
    g.add_edge("sub", "after")
    g.add_edge("after", END)
    return g.compile()


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
def test_langgraphs_own_error_handling_sees_the_panic_as_an_exception(mode: str) -> None:
    """A panic in a subgraph's run is an ordinary node error of the parent: a
    RetryPolicy for EngineError retries the node, and the run ends like stock's."""
    retry = RetryPolicy(max_attempts=2, initial_interval=0.001, jitter=False, retry_on=EngineError)
    with engine("stock"):
        expected = _call(_parent(retry), mode, INPUT, {})
    with engine("rs"):
        _Arm.op = "apply_writes"
        assert _call(_parent(retry), mode, INPUT, {}) == expected
        assert _Arm.op is None and _native._debug_panic_next(None) is None
        # without a retry policy the parent run fails with the same EngineError
        _Arm.op = "prepare"
        with pytest.raises(EngineError, match="panicked in prepare"):
            _call(_parent(None), mode, INPUT, {})


def test_the_interpreter_survives_an_uncaught_panic_in_a_child_process() -> None:
    """Run where nothing can catch a BaseException for us: the script's own
    ``except Exception`` sees the panic and the interpreter exits normally."""
    script = textwrap.dedent(
        """
        import langgraph_rs
        from langgraph_rs import _native
        from langgraph.graph import StateGraph, START
        from typing_extensions import TypedDict

        class S(TypedDict):
            x: int

        g = StateGraph(S)
        g.add_node("inc", lambda s: {"x": s["x"] + 1})
        g.add_edge(START, "inc")
        app = langgraph_rs.compile(g)
        _native._debug_panic_next("apply_writes")
        try:
            app.invoke({"x": 1})
        except Exception as exc:
            print("caught", type(exc).__name__, exc)
        print("then", app.invoke({"x": 1}))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "RUST_BACKTRACE": "0"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"caught EngineError {_message('apply_writes')}",
        "then {'x': 2}",
    ]
    assert "PanicException" not in proc.stderr

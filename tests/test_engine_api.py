"""install()/uninstall()/compile(), unsupported features, and that the engine
really is the Rust one."""

from __future__ import annotations

import operator
import warnings
from typing import Annotated, Any

import pytest
from langgraph.channels import LastValue
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.pregel import NodeBuilder, Pregel, _algo
from typing_extensions import TypedDict

import langgraph_rs
from langgraph_rs import _native
from tests.diff import engine


class S(TypedDict):
    x: int


def builder() -> StateGraph:
    g = StateGraph(S)
    g.add_node("inc", lambda s: {"x": s["x"] + 1})
    g.add_edge(START, "inc")
    g.add_edge("inc", END)
    return g


def test_install_uninstall_round_trip() -> None:
    from langgraph.pregel import Pregel as P

    stock_stream = P.stream
    langgraph_rs.install()
    assert langgraph_rs.is_installed()
    assert P.stream is not stock_stream
    langgraph_rs.install()  # idempotent
    langgraph_rs.uninstall()
    assert not langgraph_rs.is_installed()
    assert P.stream is stock_stream


def test_installed_engine_does_not_run_langgraphs_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    for name in ("prepare_next_tasks", "apply_writes"):
        orig = getattr(_algo, name)
        monkeypatch.setattr(_algo, name, lambda *a, _o=orig, _n=name, **k: calls.append(_n) or _o(*a, **k))
    with engine("rs"):  # also makes LangGraph's loop and runner raise if constructed
        g = builder().compile(checkpointer=InMemorySaver())
        assert g.invoke({"x": 1}, {"configurable": {"thread_id": "t"}}) == {"x": 2}
    assert calls == []


def test_compile_one_graph() -> None:
    saver = InMemorySaver()
    app = langgraph_rs.compile(builder(), checkpointer=saver, interrupt_before=["inc"])
    assert isinstance(app, CompiledStateGraph)
    assert not langgraph_rs.is_installed()
    cfg = {"configurable": {"thread_id": "t"}}
    with engine("rs"):  # the strict half only; compile() works without install()
        langgraph_rs.uninstall()
        assert app.invoke({"x": 1}, cfg) == {"x": 1}
        assert app.get_state(cfg).next == ("inc",)
        assert app.with_config(tags=["x"]).invoke(None, cfg) == {"x": 2}
    assert set(app.get_graph().nodes) == {"__start__", "inc", "__end__"}
    # an already compiled graph
    again = langgraph_rs.compile(builder().compile())
    assert again.invoke({"x": 5}) == {"x": 6}
    with pytest.raises(TypeError):
        langgraph_rs.compile(builder().compile(), checkpointer=saver)


class CustomChannel(LastValue):
    pass


def custom_pregel() -> Pregel:
    node = NodeBuilder().subscribe_only("a").do(lambda x: x + 1).write_to("b")
    return Pregel(
        nodes={"n": node},
        channels={"a": CustomChannel(int), "b": LastValue(int)},
        input_channels="a",
        output_channels="b",
    )


def test_unsupported_channel_raises_clearly_and_fallback_warns() -> None:
    g = custom_pregel()
    langgraph_rs.install()
    with pytest.raises(NotImplementedError, match="CustomChannel"):
        g.invoke(1)
    with pytest.raises(langgraph_rs.UnsupportedFeatureError):
        list(g.stream(1))
    langgraph_rs.install(fallback="langgraph")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert g.invoke(1) == 2
    assert any("CustomChannel" in str(w.message) for w in caught)
    with pytest.raises(ValueError):
        langgraph_rs.install(fallback="something-else")


def test_native_graph_validates_its_input() -> None:
    with pytest.raises(ValueError, match="unknown channel kind"):
        _native.Graph([("a", "no-such-kind", None)], [], {})
    with pytest.raises(ValueError, match="invalid graph"):
        _native.Graph([("a", "last_value", None)], [("n", ["missing"], "a")], {})
    g = _native.Graph([("a", "last_value", None)], [("n", ["a"], ["a"])], {})
    st = _native.State(g, None, None)
    from langgraph.errors import EmptyChannelError, InvalidUpdateError

    with pytest.raises(EmptyChannelError):
        st.get("a")
    with pytest.raises(InvalidUpdateError, match="At key 'a': Can receive only one value per step"):
        st.apply_writes([("x", ("p",), (), [("a", 1), ("a", 2)])])
    with pytest.raises(KeyError):
        st.get("nope")
    with pytest.raises(ValueError, match="invalid checkpoint id"):
        st.prepare("not-hex", "", 0, 1, None, False)


def test_task_ids_match_langgraph() -> None:
    import binascii

    cid = "1ef4f797-8335-6428-8001-8a1503f9b875"
    parts = ("ns|node", "3", "node", "__pregel_pull", "branch:to:node")
    ns = binascii.unhexlify(cid.replace("-", ""))
    assert _native.task_id(cid, *parts) == _algo._xxhash_str(ns, *parts)
    assert _native.task_id(cid, *parts, sha1_ids=True) == _algo._uuid5_str(ns, *parts)


def test_reducer_exception_propagates_unchanged() -> None:
    class R(TypedDict):
        xs: Annotated[list, operator.add]

    g = StateGraph(R)
    g.add_node("bad", lambda s: {"xs": "not a list"})
    g.add_edge(START, "bad")
    app = g.compile()
    with engine("stock"):
        with pytest.raises(TypeError) as stock_exc:
            app.invoke({"xs": []})
    with engine("rs"):
        with pytest.raises(TypeError) as rs_exc:
            app.invoke({"xs": []})
    assert str(rs_exc.value) == str(stock_exc.value)


def test_async_engine_is_swapped_too() -> None:
    import asyncio

    async def main() -> Any:
        with engine("rs"):
            return await builder().compile().ainvoke({"x": 41})

    assert asyncio.run(main()) == {"x": 42}

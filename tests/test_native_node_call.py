"""A node's steps run natively (``_native.LeanSeq``, rust/py/node_call.rs)
against LangGraph's ``RunnableSeq`` with no callback handler: the node function
gets the same injected arguments and the same config (as argument and as
``get_config()``), its callback manager the same tags and metadata, and the
writers write the same."""

import asyncio
import contextvars
import itertools
import uuid
from collections import deque
from typing import Any

import pytest
from langchain_core.callbacks.manager import CallbackManager
from langchain_core.runnables import RunnableLambda
from langgraph._internal._runnable import RunnableCallable, RunnableSeq
from langgraph.config import get_config
from langgraph.pregel._write import ChannelWrite, ChannelWriteEntry
from langgraph.runtime import Runtime
from langgraph.store.memory import InMemoryStore

from langgraph_rs import _native

TAGS = [[], ["t"], ["seq:step:1"]]
METADATA = [{}, {"k": 1}]
INHERITED = [[], ["t", "u"], ["seq:step:2"]]


def shape(manager: Any) -> list:
    # the attributes in the order they were set (vars() shows it)
    out = list(vars(manager).items())
    assert isinstance(vars(manager)["parent_run_id"], uuid.UUID)
    return [(k, v) for k, v in out if k != "parent_run_id"]


def config(tags: list, metadata: dict, inherited: list, sent: deque, runtime: Runtime) -> dict:
    return {
        "tags": list(tags),
        "metadata": {"langgraph_node": "n", **metadata},
        "callbacks": CallbackManager(
            handlers=[], inheritable_tags=list(inherited), inheritable_metadata={"m": 2}
        ),
        "run_name": "n",
        "recursion_limit": 25,
        "configurable": {"__pregel_send": sent.extend, "__pregel_runtime": runtime},
    }


def node_seq(seen: list) -> RunnableSeq:
    def node(state, config, runtime, store, writer):  # noqa: ANN001, ANN202  (untyped: injected)
        ambient = get_config()
        seen.append(
            (
                state,
                {k: v for k, v in config.items() if k not in ("callbacks", "configurable")},
                sorted(config["configurable"]),
                shape(config["callbacks"]),
                ambient is config,
                runtime.context,
                store is runtime.store,
                writer is runtime.stream_writer,
            )
        )
        return {"x": state["x"] + 1}

    def route(value, config):  # noqa: ANN001, ANN202
        seen.append(("router", shape(config["callbacks"]), "run_name" in config))
        return value

    return RunnableSeq(
        RunnableCallable(node, trace=False),
        ChannelWrite([ChannelWriteEntry("x", mapper=lambda v: v["x"])]),
        RunnableCallable(route, trace=False),
    )


@pytest.mark.parametrize(("tags", "metadata", "inherited"), list(itertools.product(TAGS, METADATA, INHERITED)))
def test_lean_invoke_equals_runnable_seq(tags: list, metadata: dict, inherited: list) -> None:
    runtime = Runtime(context={"user": 1}, store=InMemoryStore())
    outcomes = []
    for lean in (False, True):
        seen: list = []
        sent: deque = deque()
        seq = node_seq(seen)
        cfg = config(tags, metadata, inherited, sent, runtime)
        runner = _native.LeanSeq(seq) if lean else seq
        out = runner.invoke({"x": 1}, cfg)
        outcomes.append((out, seen, list(sent), {k: v for k, v in cfg.items() if k not in ("configurable", "callbacks")}))
    assert outcomes[1] == outcomes[0]


def test_a_required_parameter_without_a_runtime_fails_as_langgraph() -> None:
    def node(state, store):  # noqa: ANN001, ANN202  (no runtime to take it from)
        return state

    seq = RunnableSeq(RunnableCallable(node, trace=False), RunnableLambda(lambda v: v))
    cfg = config([], {}, [], deque(), Runtime())
    del cfg["configurable"]["__pregel_runtime"]
    errors = []
    for runner in (seq, _native.LeanSeq(seq)):
        with pytest.raises(ValueError) as info:
            runner.invoke({"x": 1}, dict(cfg))
        errors.append(str(info.value))
    assert errors[0] == errors[1] == "Missing required config key 'store' for 'node'."


def test_a_runnable_returned_by_the_node_is_invoked() -> None:
    seq = RunnableSeq(
        RunnableCallable(lambda s: RunnableLambda(lambda v: {"x": v["x"] * 10}), trace=False),
        RunnableLambda(lambda v: v),
    )
    cfg = config([], {}, [], deque(), Runtime())
    assert _native.LeanSeq(seq).invoke({"x": 2}, dict(cfg)) == seq.invoke({"x": 2}, dict(cfg))


def test_without_a_callback_manager_the_seq_itself_runs() -> None:
    seen: list = []
    seq = node_seq(seen)
    cfg = {"configurable": {"__pregel_send": deque().extend, "__pregel_runtime": Runtime()}}
    assert _native.LeanSeq(seq).invoke({"x": 1}, cfg) == {"x": 2}


# -- async: LeanSeq.ainvoke's native awaitable against RunnableSeq.ainvoke -----


def async_node_seq(seen: list) -> RunnableSeq:
    async def node(state, config, runtime, store, writer):  # noqa: ANN001, ANN202  (untyped: injected)
        await asyncio.sleep(0)  # suspends: the awaitable passes the future up
        ambient = get_config()
        marker.set("set by the node")  # stays in the node's context
        seen.append(
            (
                state,
                {k: v for k, v in config.items() if k not in ("callbacks", "configurable")},
                sorted(config["configurable"]),
                shape(config["callbacks"]),
                ambient is config,
                runtime.context,
                store is runtime.store,
                writer is runtime.stream_writer,
            )
        )
        return {"x": state["x"] + 1}

    async def route(value, config):  # noqa: ANN001, ANN202
        seen.append(("router", shape(config["callbacks"]), "run_name" in config, marker.get()))
        return value

    return RunnableSeq(
        RunnableCallable(None, node, trace=False),
        ChannelWrite([ChannelWriteEntry("x", mapper=lambda v: v["x"])]),
        RunnableCallable(None, route, trace=False),
    )


marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")


@pytest.mark.parametrize(("tags", "metadata", "inherited"), list(itertools.product(TAGS, METADATA, INHERITED)))
def test_lean_ainvoke_equals_runnable_seq(tags: list, metadata: dict, inherited: list) -> None:
    runtime = Runtime(context={"user": 1}, store=InMemoryStore())

    async def run(lean: bool) -> tuple:
        seen: list = []
        sent: deque = deque()
        seq = async_node_seq(seen)
        cfg = config(tags, metadata, inherited, sent, runtime)
        runner = _native.LeanSeq(seq) if lean else seq
        out = await runner.ainvoke({"x": 1}, cfg)
        return out, seen, list(sent), marker.get()

    stock = asyncio.run(run(False))
    ours = asyncio.run(run(True))
    assert ours == stock
    assert stock[-1] == "unset" and stock[1][-1][-1] == "unset"


def test_lean_ainvoke_of_a_sync_node_and_a_returned_runnable() -> None:
    def node(state):  # noqa: ANN001, ANN202
        return RunnableLambda(lambda v: {"x": v["x"] * 10})

    seq = RunnableSeq(RunnableCallable(node, trace=False), RunnableLambda(lambda v: v))
    cfg = config([], {}, [], deque(), Runtime())

    async def run(runner: Any) -> Any:
        return await runner.ainvoke({"x": 2}, dict(cfg))

    assert asyncio.run(run(_native.LeanSeq(seq))) == asyncio.run(run(seq)) == {"x": 20}


def test_lean_ainvoke_passes_an_error_and_a_cancellation_through() -> None:
    async def boom(state):  # noqa: ANN001, ANN202
        await asyncio.sleep(0)
        raise KeyError("boom")

    async def slow(state):  # noqa: ANN001, ANN202
        await asyncio.sleep(10)

    cfg = config([], {}, [], deque(), Runtime())

    async def run() -> list:
        out = []
        seq = RunnableSeq(RunnableCallable(None, boom, trace=False), RunnableLambda(lambda v: v))
        try:
            await _native.LeanSeq(seq).ainvoke({"x": 1}, dict(cfg))
        except KeyError as exc:
            out.append(exc.args)
        seq = RunnableSeq(RunnableCallable(None, slow, trace=False), RunnableLambda(lambda v: v))
        task = asyncio.ensure_future(_native.LeanSeq(seq).ainvoke({"x": 1}, dict(cfg)))
        await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            out.append("cancelled")
        return out

    assert asyncio.run(run()) == [("boom",), "cancelled"]


# -- a node that is a writer alone (``LeanWrite``), awaited ------------------


def test_lean_write_ainvoke_writes_as_the_writer_and_is_a_done_awaitable() -> None:
    from langgraph._internal._constants import CONF, CONFIG_KEY_SEND

    writer = ChannelWrite([ChannelWriteEntry("a"), ChannelWriteEntry("b", 2)])
    lean = _native.LeanWrite.of(writer)
    assert lean is not None

    async def both() -> list:
        out = []
        for w in (writer, lean):
            sent: deque = deque()
            config = {CONF: {CONFIG_KEY_SEND: sent.extend}, "callbacks": None}
            ret = await w.ainvoke({"x": 1}, config)
            out.append((ret, list(sent)))
        return out

    stock, ours = asyncio.run(both())
    assert ours == stock == ({"x": 1}, [("a", {"x": 1}), ("b", 2)])


def test_an_invalid_input_fails_an_async_run_as_stock() -> None:
    """The __start__ node's writer fails (the input does not validate): the
    same error, the same checkpoints, with and without a retry policy."""
    from pydantic import BaseModel
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import START, StateGraph
    from langgraph.types import RetryPolicy

    from tests.diff import assert_same

    class S(BaseModel):
        n: int

    def build(retry: bool) -> Any:
        def make() -> tuple[Any, Any]:
            g = StateGraph(S)
            g.add_node("a", lambda s: {"n": s.n + 1}, retry_policy=RetryPolicy(max_attempts=2) if retry else None)
            g.add_edge(START, "a")
            saver = InMemorySaver()
            return g.compile(checkpointer=saver), saver

        return make

    config = {"configurable": {"thread_id": "1"}}
    for retry in (False, True):
        out = assert_same(build(retry), lambda g: g.ainvoke({"n": "not a number"}, config), config)
        assert out.error is not None and "validation" in out.error[1].lower()
        out = assert_same(build(retry), lambda g: g.ainvoke({"n": 1}, config), config)
        assert out.value == {"n": 2}


def test_lean_write_ainvoke_outside_a_running_loop_is_the_writers_own() -> None:
    """Called with no event loop running (awaited later), the writer's own
    coroutine is returned: nothing is written until it is awaited."""
    from langgraph._internal._constants import CONF, CONFIG_KEY_SEND

    writer = ChannelWrite([ChannelWriteEntry("a")])
    lean = _native.LeanWrite.of(writer)
    sent: deque = deque()
    coro = lean.ainvoke(5, {CONF: {CONFIG_KEY_SEND: sent.extend}, "callbacks": None})
    assert asyncio.iscoroutine(coro) and not sent
    assert asyncio.run(coro) == 5
    assert list(sent) == [("a", 5)]

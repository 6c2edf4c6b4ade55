"""StateGraph scenarios: the same outputs, stream chunks, checkpoints and errors
on stock LangGraph and on langgraph_rs."""

from __future__ import annotations

import operator
from typing import Annotated, Any

import pytest
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langgraph.cache.memory import InMemoryCache
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.managed import IsLastStep, RemainingSteps
from langgraph.runtime import Runtime
from langgraph.store.memory import InMemoryStore
from langgraph.types import CachePolicy, Command, Overwrite, RetryPolicy, Send, interrupt
from typing_extensions import TypedDict

from tests.diff import assert_same

CFG = {"configurable": {"thread_id": "1"}}
MODES = ["values", "updates", "custom", "tasks", "checkpoints", "debug"]


def _strip_debug(chunks: list) -> list:
    """Debug events carry wall-clock timestamps: drop only those."""
    out = []
    for c in chunks:
        if isinstance(c, tuple) and c and c[-2:-1] == ("debug",):
            payload = dict(c[-1])
            payload.pop("timestamp", None)
            c = (*c[:-1], payload)
        out.append(c)
    return out


class State(TypedDict):
    value: int
    log: Annotated[list[str], operator.add]


def chain_graph(saver: Any = None, **compile_kwargs: Any) -> Any:
    def a(s: State) -> dict:
        return {"value": s["value"] + 1, "log": ["a"]}

    def b(s: State) -> dict:
        get_stream_writer()({"b saw": s["value"]})
        return {"value": s["value"] * 2, "log": ["b"]}

    def c(s: State) -> dict:
        return {"log": ["c"]}

    g = StateGraph(State)
    g.add_node(a)
    g.add_node(b)
    g.add_node(c)
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_edge("b", "c")
    g.add_edge("c", END)
    return g.compile(checkpointer=saver, **compile_kwargs)


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_chain_every_stream_mode_and_checkpoint(durability: str) -> None:
    def build():
        saver = InMemorySaver()
        return chain_graph(saver), saver

    assert_same(
        build,
        lambda g: _strip_debug(
            list(g.stream({"value": 1, "log": []}, CFG, stream_mode=MODES, durability=durability))
        ),
    )


def test_chain_without_checkpointer_invoke_and_values() -> None:
    assert_same(lambda: (chain_graph(), None), lambda g: g.invoke({"value": 3, "log": []}))
    assert_same(
        lambda: (chain_graph(), None),
        lambda g: list(g.stream({"value": 3, "log": []}, stream_mode="values")),
    )


async def _astream(g: Any, inp: Any, **kw: Any) -> list:
    return [c async for c in g.astream(inp, CFG, **kw)]


def test_chain_async_every_stream_mode() -> None:
    def build():
        saver = InMemorySaver()
        return chain_graph(saver), saver

    assert_same(
        build,
        lambda g: _strip_debug_async(_astream(g, {"value": 1, "log": []}, stream_mode=MODES)),
    )


async def _strip_debug_async(coro: Any) -> list:
    return _strip_debug(await coro)


class Fan(TypedDict):
    items: Annotated[list[str], operator.add]
    total: Annotated[int, operator.add]
    messages: Annotated[list, add_messages]
    custom: Annotated[list[int], lambda a, b: sorted(a + b)]


def fan_graph(saver: Any = None) -> Any:
    g = StateGraph(Fan)
    g.add_node("src", lambda s: {"items": ["src"], "total": 1})
    for i in range(4):
        g.add_node(
            f"w{i}",
            lambda s, i=i: {
                "items": [f"w{i}"],
                "total": i,
                "messages": [("user", f"hi {i}")] if i == 0 else [],
                "custom": [10 - i],
            },
        )
        g.add_edge("src", f"w{i}")
    g.add_node("join", lambda s: {"items": ["join"], "total": 100})
    g.add_edge([f"w{i}" for i in range(4)], "join")
    g.add_edge(START, "src")
    g.add_edge("join", END)
    return g.compile(checkpointer=saver)


def _no_msg_ids(out: Any) -> Any:
    """add_messages gives new messages random ids: compare the rest."""
    if isinstance(out, dict) and "messages" in out:
        out = {**out, "messages": [(m.type, m.content) for m in out["messages"]]}
    return out


def test_fan_out_fan_in_with_reducers() -> None:
    assert_same(
        lambda: (fan_graph(), None),
        lambda g: _no_msg_ids(g.invoke({"items": [], "total": 0, "messages": [], "custom": []})),
    )


def test_fan_out_async_max_concurrency() -> None:
    assert_same(
        lambda: (fan_graph(), None),
        lambda g: _amap(
            g.ainvoke({"items": [], "total": 0, "messages": [], "custom": []}, {"max_concurrency": 2}),
            _no_msg_ids,
        ),
    )


async def _amap(coro: Any, f: Any) -> Any:
    return f(await coro)


class Router(TypedDict):
    n: int
    path: Annotated[list[str], operator.add]


def router_graph(saver: Any = None, **kw: Any) -> Any:
    def step(s: Router) -> dict:
        return {"n": s["n"] + 1, "path": [f"step{s['n']}"]}

    def route(s: Router) -> str:
        return "done" if s["n"] >= 3 else "again"

    g = StateGraph(Router)
    g.add_node("step", step)
    g.add_node("finish", lambda s: {"path": ["finish"]})
    g.add_edge(START, "step")
    g.add_conditional_edges("step", route, {"again": "step", "done": "finish"})
    g.add_edge("finish", END)
    return g.compile(checkpointer=saver, **kw)


def test_conditional_edges_loop() -> None:
    def build():
        saver = InMemorySaver()
        return router_graph(saver), saver

    assert_same(build, lambda g: list(g.stream({"n": 0, "path": []}, CFG, stream_mode=["updates", "values"])))


def test_recursion_limit_error_and_limit_minus_one_succeeds() -> None:
    assert_same(lambda: (router_graph(), None), lambda g: g.invoke({"n": 0, "path": []}, {"recursion_limit": 2}))
    # a chain of L-1 nodes succeeds with limit L (start + 3 nodes = 4 supersteps)
    assert_same(lambda: (chain_graph(), None), lambda g: g.invoke({"value": 0, "log": []}, {"recursion_limit": 4}))
    assert_same(lambda: (chain_graph(), None), lambda g: g.invoke({"value": 0, "log": []}, {"recursion_limit": 3}))


class MapState(TypedDict):
    subjects: list[str]
    jokes: Annotated[list[str], operator.add]


def send_graph(saver: Any = None) -> Any:
    def fan(s: MapState) -> list[Send]:
        return [Send("joke", {"subject": x}) for x in s["subjects"]]

    def joke(s: dict) -> dict:
        return {"jokes": [f"joke about {s['subject']}"]}

    g = StateGraph(MapState)
    g.add_node("joke", joke)
    g.add_conditional_edges(START, fan, ["joke"])
    g.add_edge("joke", END)
    return g.compile(checkpointer=saver)


def test_send_map_reduce_with_checkpoints() -> None:
    def build():
        saver = InMemorySaver()
        return send_graph(saver), saver

    # parallel tasks finish in any order, on either engine: compare the events as a set
    assert_same(
        build,
        lambda g: sorted(
            g.stream({"subjects": ["cats", "dogs", "owls"], "jokes": []}, CFG, stream_mode="tasks"),
            key=repr,
        ),
    )


def command_graph(saver: Any = None) -> Any:
    def a(s: Router) -> Command:
        return Command(goto=["b", "c"] if s["n"] == 0 else "c", update={"n": s["n"] + 1, "path": ["a"]})

    g = StateGraph(Router)
    g.add_node("a", a, destinations=("b", "c"))
    g.add_node("b", lambda s: {"path": ["b"]})
    g.add_node("c", lambda s: {"path": ["c"]})
    g.add_edge(START, "a")
    return g.compile(checkpointer=saver)


def test_command_goto_and_update() -> None:
    assert_same(lambda: (command_graph(), None), lambda g: list(g.stream({"n": 0, "path": []}, stream_mode="updates")))


def test_command_parent_from_subgraph() -> None:
    def build():
        def child(s: Router) -> Command:
            return Command(graph=Command.PARENT, goto="after", update={"path": ["child"]})

        sub = StateGraph(Router)
        sub.add_node("child", child)
        sub.add_edge(START, "child")
        parent = StateGraph(Router)
        parent.add_node("sub", sub.compile(), destinations=("after",))
        parent.add_node("after", lambda s: {"path": ["after"]})
        parent.add_edge(START, "sub")
        saver = InMemorySaver()
        return parent.compile(checkpointer=saver), saver

    assert_same(build, lambda g: list(g.stream({"n": 0, "path": []}, CFG, subgraphs=True)))


def test_defer_node_runs_last() -> None:
    def build():
        g = StateGraph(Router)
        g.add_node("a", lambda s: {"path": ["a"]})
        g.add_node("b", lambda s: {"path": ["b"]})
        g.add_node("b2", lambda s: {"path": ["b2"]})
        g.add_node("final", lambda s: {"path": ["final"]}, defer=True)
        g.add_edge(START, "a")
        g.add_edge(START, "b")
        g.add_edge("b", "b2")
        g.add_edge("a", "final")
        g.add_edge("b2", "final")
        return g.compile(), None

    assert_same(build, lambda g: list(g.stream({"n": 0, "path": []}, stream_mode="updates")))


class In(TypedDict):
    question: str


class Out(TypedDict):
    answer: str


class Full(In, Out):
    scratch: str


def test_input_output_schemas_and_context_runtime() -> None:
    class Ctx(TypedDict):
        suffix: str

    def build():
        def think(s: In, runtime: Runtime[Ctx]) -> dict:
            return {"scratch": s["question"] + runtime.context["suffix"]}

        def answer(s: Full, config: RunnableConfig) -> dict:
            return {"answer": s["scratch"] + "|" + config["metadata"]["langgraph_node"]}

        g = StateGraph(Full, input_schema=In, output_schema=Out, context_schema=Ctx)
        g.add_node("think", think)
        g.add_node("answer", answer)
        g.add_edge(START, "think")
        g.add_edge("think", "answer")
        return g.compile(), None

    assert_same(build, lambda g: g.invoke({"question": "why"}, context={"suffix": "?"}))


def test_managed_values() -> None:
    class M(TypedDict):
        n: int
        last: IsLastStep
        remaining: RemainingSteps
        seen: Annotated[list, operator.add]

    def build():
        def loop(s: M) -> dict:
            return {"n": s["n"] + 1, "seen": [(s["last"], s["remaining"])]}

        g = StateGraph(M)
        g.add_node("loop", loop)
        g.add_edge(START, "loop")
        g.add_conditional_edges("loop", lambda s: END if s["remaining"] <= 2 else "loop")
        return g.compile(), None

    assert_same(build, lambda g: g.invoke({"n": 0, "seen": []}, {"recursion_limit": 6}))


def test_overwrite_and_concurrent_last_value_error() -> None:
    def build():
        g = StateGraph(State)
        g.add_node("a", lambda s: {"log": Overwrite(["reset"])})
        g.add_node("b", lambda s: {"value": 1})
        g.add_node("c", lambda s: {"value": 2})
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        g.add_edge("a", "c")
        return g.compile(), None

    out = assert_same(build, lambda g: g.invoke({"value": 0, "log": ["x"]}))
    assert out.error is not None and out.error[0].__name__ == "InvalidUpdateError"


def test_node_error_empty_input_and_command_on_new_thread() -> None:
    def build():
        def boom(s: State) -> dict:
            raise ValueError("node failed")

        g = StateGraph(State)
        g.add_node("boom", boom)
        g.add_edge(START, "boom")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    out = assert_same(build, lambda g: g.invoke({"value": 0, "log": []}, CFG))
    assert out.error == (ValueError, "node failed")
    out = assert_same(build, lambda g: g.invoke(None, CFG))
    assert out.error is not None and out.error[0].__name__ == "EmptyInputError"
    out = assert_same(build, lambda g: g.invoke(Command(goto="nowhere"), CFG))


@pytest.mark.parametrize("where", ["compile", "invoke"])
def test_interrupt_before_after_and_resume(where: str) -> None:
    def build():
        saver = InMemorySaver()
        kw = {"interrupt_before": ["b"], "interrupt_after": ["c"]} if where == "compile" else {}
        return chain_graph(saver, **kw), saver

    def scenario(g: Any) -> list:
        kw = {} if where == "compile" else {"interrupt_before": ["b"], "interrupt_after": ["c"]}
        out = [list(g.stream({"value": 1, "log": []}, CFG, **kw))]
        out.append(list(g.stream(None, CFG, **kw)))
        out.append(g.get_state(CFG))
        out.append(list(g.stream(None, CFG, **kw)))
        return out

    assert_same(build, scenario)


def test_interrupt_in_node_and_command_resume_multiple() -> None:
    def build():
        def ask(s: Router) -> dict:
            first = interrupt("first?")
            second = interrupt({"second": first})
            return {"path": [first, second]}

        g = StateGraph(Router)
        g.add_node("ask", ask)
        g.add_node("other", lambda s: {"path": ["other"]})
        g.add_edge(START, "ask")
        g.add_edge(START, "other")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    def scenario(g: Any) -> list:
        out = [g.invoke({"n": 0, "path": []}, CFG)]
        out.append(g.invoke(Command(resume="one"), CFG))
        out.append(g.invoke(Command(resume="two"), CFG))
        out.append([(t.name, t.id) for t in g.get_state(CFG).tasks])
        return out

    assert_same(build, scenario)


def test_update_state_then_continue() -> None:
    def build():
        saver = InMemorySaver()
        return chain_graph(saver, interrupt_before=["c"]), saver

    def scenario(g: Any) -> list:
        out = [g.invoke({"value": 1, "log": []}, CFG)]
        g.update_state(CFG, {"log": ["edited"]}, as_node="b")
        out.append(g.invoke(None, CFG))
        out.append([s.values for s in g.get_state_history(CFG)])
        return out

    assert_same(build, scenario)


def test_subgraph_node_and_subgraph_called_in_node() -> None:
    def build():
        sub = StateGraph(State)
        sub.add_node("inner", lambda s: {"value": s["value"] + 10, "log": ["inner"]})
        sub.add_edge(START, "inner")
        compiled = sub.compile()

        def call_sub(s: State) -> dict:
            out = compiled.invoke({"value": s["value"], "log": []})
            return {"value": out["value"], "log": ["called"]}

        g = StateGraph(State)
        g.add_node("as_node", compiled)
        g.add_node("caller", call_sub)
        g.add_edge(START, "as_node")
        g.add_edge("as_node", "caller")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    assert_same(
        build,
        lambda g: list(g.stream({"value": 1, "log": []}, CFG, subgraphs=True, stream_mode=["updates", "values"])),
    )


def test_injected_writer_store_and_runtime() -> None:
    def build():
        def node(s: State, *, writer: Any, store: Any, config: RunnableConfig) -> dict:
            store.put(("ns",), "k", {"v": s["value"]})
            writer({"stored": store.get(("ns",), "k").value})
            return {"log": [config["configurable"]["thread_id"]]}

        g = StateGraph(State)
        g.add_node("node", node)
        g.add_edge(START, "node")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver, store=InMemoryStore()), saver

    assert_same(build, lambda g: list(g.stream({"value": 7, "log": []}, CFG, stream_mode=["custom", "values"])))


def test_retry_policy_and_cache_policy() -> None:
    def build():
        calls = {"flaky": 0, "cached": 0}

        def flaky(s: State) -> dict:
            calls["flaky"] += 1
            if calls["flaky"] < 3:
                raise ConnectionError("try again")
            return {"log": [f"flaky after {calls['flaky']}"]}

        def cached(s: State) -> dict:
            calls["cached"] += 1
            return {"log": [f"cached call {calls['cached']}"]}

        g = StateGraph(State)
        g.add_node("flaky", flaky, retry_policy=RetryPolicy(initial_interval=0.0, jitter=False))
        g.add_node("cached", cached, cache_policy=CachePolicy())
        g.add_edge(START, "flaky")
        g.add_edge("flaky", "cached")
        return g.compile(cache=InMemoryCache()), None

    def scenario(g: Any) -> list:
        return [g.invoke({"value": 1, "log": []}), g.invoke({"value": 1, "log": []})]

    assert_same(build, scenario)


def test_batch_with_config_and_runnable_composition() -> None:
    def build():
        return chain_graph(), None

    def scenario(g: Any) -> list:
        inputs = [{"value": i, "log": []} for i in range(3)]
        composed = g.with_config(tags=["t"]) | RunnableLambda(lambda out: out["value"])
        return [g.batch(inputs), composed.invoke({"value": 5, "log": []})]

    assert_same(build, scenario)

    async def ascenario(g: Any) -> list:
        return await g.abatch([{"value": i, "log": []} for i in range(3)])

    assert_same(build, ascenario)


def test_async_interrupt_resume_and_checkpoints() -> None:
    def build():
        async def ask(s: Router) -> dict:
            return {"path": [interrupt("why?")]}

        g = StateGraph(Router)
        g.add_node("ask", ask)
        g.add_edge(START, "ask")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    async def scenario(g: Any) -> list:
        first = [c async for c in g.astream({"n": 0, "path": []}, CFG, stream_mode=["updates", "checkpoints"])]
        second = await g.ainvoke(Command(resume="because"), CFG)
        return [first, second]

    assert_same(build, scenario)

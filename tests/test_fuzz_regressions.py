"""Divergences the differential fuzzer (``python -m tests.fuzz``) found, each pinned
by a small program run on both engines."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Annotated, Any

import operator

import pytest
from langgraph.channels import BinaryOperatorAggregate, LastValue
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.func import entrypoint, task
from langgraph.graph import START, StateGraph
from langgraph.pregel import NodeBuilder, Pregel
from typing_extensions import TypedDict

from tests.diff import assert_same, run_both
from tests.fuzz.support import apause, pause

CFG = {"configurable": {"thread_id": "a"}}


def test_task_calls_started_together_are_all_announced_before_a_fast_one_finishes() -> None:
    """Found as `--replay 1000040` (functional). LangGraph submits ``@task`` calls
    with ``next_tick`` (the worker yields the GIL first), so the entrypoint starts
    both calls -- and both ``task`` debug events are emitted -- before the instant
    one reports its result. That is a race LangGraph almost always wins (it
    loses now and then on a loaded machine), so the runs are compared by their
    usual order: the engine used to report the fast result first every time."""

    def build() -> tuple[Any, Any]:
        saver = InMemorySaver()

        @task
        def fast(x: int) -> int:
            return x + 2

        @task
        def slow(x: int) -> int:
            pause(2)
            return x + 3

        @entrypoint(checkpointer=saver)
        def workflow(n: int) -> dict:
            futs = [fast(n), slow(n + 1)]
            return {"acc": n + sum(f.result() for f in futs)}

        return workflow, saver

    def scenario(graph: Any) -> list:
        orders = []
        for n in range(12):
            cfg = {"configurable": {"thread_id": str(n)}}
            chunks = graph.stream(n, cfg, stream_mode="debug")
            orders.append(tuple((c["type"], c["payload"]["name"]) for c in chunks if c["type"] != "checkpoint"))
        return orders

    stock, ours = run_both(build, scenario, {"configurable": {"thread_id": "0"}})
    assert ours.error == stock.error is None
    assert ours.history == stock.history
    usual = Counter(stock.value).most_common(1)[0][0]
    assert usual[:4] == (("task", "workflow"), ("task", "fast"), ("task", "slow"), ("task_result", "fast"))
    assert Counter(ours.value).most_common(1)[0][0] == usual


def test_a_failed_async_entrypoint_cancels_the_task_calls_still_running() -> None:
    """Found as `--replay 1000030` (functional). When an async run's task fails,
    LangGraph's runner cancels every future it tracks, ``@task`` calls included:
    the slow call is saved with a ``CancelledError`` write (and never cached), it
    does not run to completion."""

    def build() -> tuple[Any, Any]:
        saver = InMemorySaver()

        @task
        async def slow(x: int) -> int:
            await apause(3)
            return x + 7

        @task
        async def failing(x: int) -> int:
            await apause(1)
            raise ValueError(f"failing on {x}")

        @entrypoint(checkpointer=saver)
        async def workflow(n: int) -> int:
            futs = [failing(n), slow(n + 1)]
            return sum([await f for f in futs])

        return workflow, saver

    async def scenario(graph: Any) -> list:
        out: list = []
        try:
            async for chunk in graph.astream(1, CFG, stream_mode=["updates", "tasks"]):
                out.append(chunk if chunk[0] != "tasks" else (chunk[0], repr(chunk[1])))
        except ValueError as exc:
            out.append(repr(exc))
        return out

    assert_same(build, scenario)


def test_new_input_discards_the_unfinished_step_of_every_node_like_langgraph() -> None:
    """Found as `--replay 1000019` (pregel). New input on a thread whose last step
    did not finish discards that step's tasks, which LangGraph prepares without
    ``trigger_to_nodes``: every node is a candidate, and a node that never ran
    counts as triggered by any available channel (an int BinaryOperatorAggregate
    is available at 0), so its ``versions_seen`` entry appears."""

    def first(x: int) -> int:
        if x == 1:
            raise ValueError("first input fails")
        return x

    def build() -> tuple[Any, Any]:
        saver = InMemorySaver()
        graph = Pregel(
            nodes={
                "a": NodeBuilder().subscribe_only("inp").do(first).write_to("out"),
                "b": NodeBuilder().subscribe_only("total").do(lambda t: t + 1).write_to("out"),
            },
            channels={
                "inp": LastValue(int),
                "total": BinaryOperatorAggregate(int, operator.add),
                "out": LastValue(int),
            },
            input_channels="inp",
            output_channels="out",
            checkpointer=saver,
        )
        return graph, saver

    def scenario(graph: Any) -> list:
        out: list = []
        for x in (1, 2):
            try:
                out.append(graph.invoke(x, CFG))
            except ValueError as exc:
                out.append(repr(exc))
        return out

    assert_same(build, scenario, CFG)


def test_replaying_from_a_past_checkpoint_saves_the_fork_without_updated_channels() -> None:
    """Found as `--replay 1000012` (stategraph). A replay from a past checkpoint
    first saves a ``source="fork"`` checkpoint; LangGraph saves it while its
    loop's ``updated_channels`` is still unset, so that checkpoint's
    ``updated_channels`` is None (the engine stored the loaded checkpoint's)."""
    from typing import Annotated

    from langgraph.graph import START, StateGraph
    from typing_extensions import TypedDict

    State = TypedDict("State", {"trail": Annotated[list, operator.add]})

    def build() -> tuple[Any, Any]:
        g = StateGraph(State)
        g.add_node("a", lambda s: {"trail": ["a"]})
        g.add_node("b", lambda s: {"trail": ["b"]})
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    def scenario(graph: Any) -> list:
        out = [graph.invoke({"trail": ["in"]}, CFG)]
        for past in list(graph.get_state_history(CFG))[1:]:
            out.append(graph.invoke(None, past.config))
        return out

    assert_same(build, scenario, CFG)


def test_nodes_reading_the_same_channels_share_the_first_ones_input_like_langgraph() -> None:
    """Found as `--replay 1000027` (pregel). LangGraph caches a step's task inputs
    by ``PregelNode.input_cache_key`` (mapper and channel names): a node reading
    ``["inp"]`` as a list gets a copy of what ``subscribe_only("inp")`` read --
    the bare value, not ``{"inp": 3}`` -- when that node is prepared first."""

    def build() -> tuple[Any, Any]:
        graph = Pregel(
            nodes={
                "a": NodeBuilder().subscribe_only("inp").do(lambda x: repr(x)).write_to("a_saw"),
                "b": NodeBuilder().subscribe_to("inp").do(lambda x: repr(x)).write_to("b_saw"),
            },
            channels={"inp": LastValue(int), "a_saw": LastValue(str), "b_saw": LastValue(str)},
            input_channels="inp",
            output_channels=["a_saw", "b_saw"],
        )
        return graph, None

    def scenario(graph: Any) -> list:
        return [graph.invoke(3), list(graph.stream(4, stream_mode="tasks"))]

    assert_same(build, scenario)


@pytest.mark.parametrize(("clash", "named"), [("out", "At key ''"), ("keyed", "At key 'custom'")])
def test_a_raw_pregel_channel_error_names_the_channel_key_like_langgraph(clash: str, named: str) -> None:
    """Found as `--replay 3000053` (pregel). LangGraph's channel errors name the
    channel object's ``key``: StateGraph sets it to the state key, a raw
    ``Pregel``'s channels keep ``""``; the engine named the channel. A channel
    given a key of its own is named by that key."""

    def build() -> tuple[Any, Any]:
        keyed = LastValue(int)
        keyed.key = "custom"
        graph = Pregel(
            nodes={
                "a": NodeBuilder().subscribe_only("inp").do(lambda x: x + 1).write_to(clash),
                "b": NodeBuilder().subscribe_only("inp").do(lambda x: x + 2).write_to(clash),
            },
            channels={"inp": LastValue(int), "out": LastValue(int), "keyed": keyed},
            input_channels="inp",
            output_channels=["out"],
        )
        return graph, None

    outcome = assert_same(build, lambda graph: graph.invoke(1))
    assert outcome.error is not None and outcome.error[1].startswith(named), outcome.error


@pytest.mark.parametrize("modes", [["custom", "values"], ["messages", "values"]])
def test_a_streams_waiter_holds_a_worker_of_the_pool_like_langgraph(modes: list) -> None:
    """Found by tests/test_diff_ecosystem_agents.py (6 parallel tool calls, one
    instant, in a pool of 6). LangGraph's sync runner waits for "custom" /
    "messages" / subgraph output in a job of the task pool, submitted before the
    step's tasks: it holds a worker while the stream is empty, so with
    ``max_concurrency=2`` the Send tasks run one at a time. The engine's waiter
    took no worker, so two ran together."""
    from typing import Annotated, TypedDict

    from langgraph.graph import START, StateGraph
    from langgraph.types import Send

    State = TypedDict("State", {"out": Annotated[list, operator.add]})  # noqa: UP013

    def build() -> tuple[Any, Any]:
        finished: list = []

        def work(i: int) -> dict:
            seen = tuple(finished)  # the tasks finished before this one started
            pause(1)
            finished.append(i)
            return {"out": [(i, seen)]}

        g = StateGraph(State)
        g.add_node("work", work)
        g.add_conditional_edges(START, lambda s: [Send("work", i) for i in range(3)], ["work"])
        return g.compile(), None

    outcome = assert_same(build, lambda g: list(g.stream({"out": []}, {"max_concurrency": 2}, stream_mode=modes)))
    assert outcome.value[-1] == ("values", {"out": [(0, ()), (1, (0,)), (2, (0, 1))]})


@pytest.mark.parametrize("is_async", [False, True])
def test_sync_durability_without_a_checkpointer_fails_like_langgraph(is_async: bool) -> None:
    """Found as `--seed 2026` program 35 (stategraph: a ``checkpointer=False``
    subgraph run with ``durability="sync"``). After each step LangGraph waits
    for the step's checkpoint future, which a loop without a checkpointer never
    made: the run fails with an AttributeError after its first step (after
    that step's output was streamed). The engine ran on."""
    from typing import Annotated, TypedDict

    from langgraph.graph import START, StateGraph

    State = TypedDict("State", {"out": Annotated[list, operator.add]})  # noqa: UP013

    def build() -> tuple[Any, Any]:
        inner = StateGraph(State)
        inner.add_node("c", lambda s: {"out": ["c"]})
        inner.add_edge(START, "c")
        g = StateGraph(State)
        g.add_node("a", lambda s: {"out": ["a"]})
        g.add_node("sub", inner.compile(checkpointer=False))
        g.add_edge(START, "a")
        g.add_edge("a", "sub")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    def scenario(graph: Any) -> Any:
        seen: list = []

        async def consume() -> None:
            async for chunk in graph.astream({"out": []}, CFG, durability="sync", subgraphs=True):
                seen.append(chunk)

        try:
            if is_async:
                asyncio.run(consume())
            else:
                seen.extend(graph.stream({"out": []}, CFG, durability="sync", subgraphs=True))
        except AttributeError as exc:
            return seen, str(exc)
        return seen, None

    outcome = assert_same(build, scenario, CFG)
    assert outcome.value[1] is not None and "_put_checkpoint_fut" in outcome.value[1]


def test_a_sibling_of_a_task_failing_before_it_was_registered_is_waited_for() -> None:
    """Found as `--replay 2026000663` (pregel, ``durability="exit"``). LangGraph's
    sync runner, once a task failed, waits on an event its tasks' done callbacks
    set, and clears it as it registers each task: ``n0`` failed at once, before
    ``n1`` was registered, so the runner waited for ``n1`` to finish -- its
    ``__no_writes__`` marker was saved with the exit checkpoint and its update
    streamed. The engine raised at once and committed ``n1`` after the exit save."""

    def build() -> tuple[Any, Any]:
        def n0_fn(x: int) -> int:
            raise ValueError(f"n0 failed on {x}")

        def n1_fn(x: int) -> int:
            pause(1)
            return x + 2

        saver = InMemorySaver()
        graph = Pregel(
            nodes={
                "n0": NodeBuilder().subscribe_only("inp").do(n0_fn),
                "n1": NodeBuilder().subscribe_to("inp").do(n1_fn),
            },
            channels={"inp": LastValue(int)},
            input_channels=["inp"],
            output_channels=["inp"],
            checkpointer=saver,
        )
        return graph, saver

    def scenario(graph: Any) -> list:
        seen: list = []
        with pytest.raises(ValueError, match="n0 failed on 3"):
            for chunk in graph.stream({"inp": 3}, CFG, durability="exit", stream_mode="updates"):
                seen.append(chunk)
        return seen

    outcome = assert_same(build, scenario, CFG)
    assert outcome.value == [{"n1": None}]
    assert any(ch == "__no_writes__" for _, ch, _ in outcome.history[0][8])


def _slow_and_failing_tasks() -> tuple[Any, Any]:
    """Two ``@task``s: ``failing`` raises 10 ms in, ``slow`` returns 20 ms in."""

    @task
    def slow(x: int) -> int:
        pause(2)
        return x + 7

    @task
    def failing(x: int) -> int:
        pause(1)
        raise ValueError(f"failing({x})")

    return slow, failing


def test_task_calls_cancelled_when_an_async_entrypoint_fails_are_not_saved_at_exit() -> None:
    """Found as `--replay 2026000553` (functional, ``durability="exit"``). An
    async entrypoint gathers two ``@task`` calls and one fails: LangGraph's runner
    cancels the other call, whose future's done callback commits its
    ``CancelledError`` only after the exit save, so it's not among the saved
    writes. The engine committed it before the exit save."""

    def build() -> tuple[Any, Any]:
        saver = InMemorySaver()

        slow, failing = _slow_and_failing_tasks()

        @entrypoint(checkpointer=saver)
        async def workflow(n: int) -> dict:
            return {"acc": n + sum(await asyncio.gather(slow(n), failing(n + 1)))}

        return workflow, saver

    def scenario(graph: Any) -> Any:
        try:
            return asyncio.run(graph.ainvoke(5, CFG, durability="exit"))
        except ValueError as exc:
            return str(exc)

    outcome = assert_same(build, scenario, CFG)
    assert outcome.value == "failing(6)"
    assert [repr(v) for _, _, v in outcome.history[0][8]].count("CancelledError()") == 0


def test_a_task_call_still_running_when_a_sync_entrypoint_fails_is_committed_after_the_exit_save() -> None:
    """Found as `--replay 2026000928` (functional, ``durability="exit"``). A sync
    entrypoint starts two ``@task`` calls and the first one it waits on fails.
    LangGraph's runner tracks the calls with the entrypoint's task and stops on
    its error without waiting for the other call (only cancelling calls not yet
    started): the running call's done callback commits its ``__return__`` after
    the exit save, so it's not among the saved writes. The engine waited for the
    call before raising, and saved its write."""

    def build() -> tuple[Any, Any]:
        saver = InMemorySaver()

        slow, failing = _slow_and_failing_tasks()

        @entrypoint(checkpointer=saver)
        def workflow(n: int) -> dict:
            futs = [failing(n), slow(n + 1)]
            return {"acc": n + sum(f.result() for f in futs)}

        return workflow, saver

    def scenario(graph: Any) -> Any:
        try:
            return graph.invoke(5, CFG, durability="exit")
        except ValueError as exc:
            return str(exc)

    outcome = assert_same(build, scenario, CFG)
    assert outcome.value == "failing(5)"
    assert [ch for _, ch, _ in outcome.history[0][8]] == ["__error__", "__error__"]


class Trail(TypedDict):
    trail: Annotated[list, operator.add]
    note: str


@pytest.mark.usefixtures("spaced_pauses")
def test_a_finished_task_streams_before_a_subgraph_running_beside_it() -> None:
    """Found as `--replay 2026000612` (stategraph). LangGraph's sync runner
    commits a task from its done callback, in the task's own thread, as soon as
    it finishes: ``fast``'s update streams before the checkpoints of the
    subgraph ``sub`` that started beside it. The engine committed tasks from the
    driver thread, which got the GIL only after ``sub`` had streamed its first
    chunks. (``w1``/``w2`` start the pool's workers first: in LangGraph the first
    parallel step races with the threads it starts.)"""

    def build() -> tuple[Any, Any]:
        def work(state: Trail) -> dict:
            pause(1)
            return {"note": f"sub/{len(state['trail'])}"}

        sub = StateGraph(Trail)
        sub.add_node("work", work)
        sub.add_edge(START, "work")

        def w2(state: Trail) -> dict:
            pause(1)
            return {"trail": ["w2"]}

        def fast(state: Trail) -> dict:
            return {"trail": [f"fast/{len(state['trail'])}"]}

        def route(state: Trail) -> Any:
            return "__end__" if len(state["trail"]) >= 6 else ["fast", "sub"]

        g = StateGraph(Trail)
        g.add_node("w1", lambda state: {"trail": ["w1"]})
        g.add_node("w2", w2)
        g.add_node("fast", fast)
        g.add_node("sub", sub.compile())
        g.add_edge(START, "w1")
        g.add_edge(START, "w2")
        g.add_edge(["w1", "w2"], "fast")
        g.add_conditional_edges("fast", route)
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    def scenario(graph: Any) -> list:
        return [
            (ns[0].split(":")[0] if ns else "", mode, list(chunk) if mode == "updates" else None)
            for ns, mode, chunk in graph.stream(
                {"trail": []}, CFG, stream_mode=["updates", "checkpoints"], subgraphs=True
            )
        ]

    outcome = assert_same(build, scenario, CFG)
    assert ("", "updates", ["fast"]) in outcome.value


def test_an_async_subgraph_runs_on_until_it_awaits_before_its_sibling() -> None:
    """Found as `--replay 2026000743` (stategraph, async). LangGraph's astream
    drains its queue after each step of the runner without awaiting, so a
    subgraph whose nodes never wait takes all its checkpoint ids before the
    subgraph started beside it gets any. The engine awaited ``asyncio.sleep(0)``
    there in subgraphs too, so the two took turns and their checkpoints (and the
    ids of the tasks planned from them) differed."""

    def build() -> tuple[Any, Any]:
        def make(name: str) -> Any:
            async def work(state: Trail) -> dict:
                return {"trail": [f"{name}/{len(state['trail'])}"]}

            sub = StateGraph(Trail)
            sub.add_node("work", work)
            sub.add_edge(START, "work")
            return sub.compile()

        g = StateGraph(Trail)
        g.add_node("n1", make("n1"))
        g.add_node("n2", make("n2"))
        g.add_edge(START, "n1")
        g.add_edge(START, "n2")
        saver = InMemorySaver()
        return g.compile(checkpointer=saver), saver

    def scenario(graph: Any) -> Any:
        return asyncio.run(graph.ainvoke({"trail": []}, CFG))

    outcome = assert_same(build, scenario, CFG)
    assert outcome.value == {"trail": ["n1/0", "n2/0"]}


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_a_failed_delta_channel_write_fails_the_next_checkpoint_like_langgraph(durability: str) -> None:
    """Found by LangGraph's own test_delta_channel_write_failures under the strict
    swap, once saver failures were deferred as LangGraph's background saves
    are: LangGraph's next checkpoint waits on the saves of DeltaChannel writes,
    so a failed one fails that checkpoint and every later one (a checkpoint is
    never saved without the delta writes it reads)."""
    from typing import Annotated, TypedDict

    from langgraph.channels.delta import DeltaChannel
    from langgraph.graph import START, StateGraph

    def append(current: list, writes: list) -> list:
        return [*current, *(item for write in writes for item in write)]

    State = TypedDict(  # noqa: UP013
        "State", {"log": Annotated[list, DeltaChannel(append)], "plain": Annotated[list, operator.add]}
    )

    class FailsTheWriteOfB(InMemorySaver):
        failed = False

        def put_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
            if not self.failed and ("log", ["b"]) in writes:
                self.failed = True
                raise ConnectionError("b's write was not saved")
            super().put_writes(config, writes, task_id, task_path)

    def build() -> tuple[Any, Any]:
        g = StateGraph(State)
        for name in "abc":
            g.add_node(name, lambda s, name=name: {"log": [name], "plain": [name]})
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        g.add_edge("b", "c")
        saver = FailsTheWriteOfB()
        return g.compile(checkpointer=saver), saver

    def scenario(graph: Any) -> Any:
        try:
            graph.invoke({"log": [], "plain": []}, CFG, durability=durability)
        except ConnectionError as exc:
            first = str(exc)
        else:
            first = None
        # exit durability saved nothing before the failed write: the retry starts over
        again = {"log": [], "plain": []} if durability == "exit" else None
        return first, graph.invoke(again, CFG, durability=durability), graph.get_state(CFG).values

    outcome = assert_same(build, scenario, CFG)
    assert outcome.value[0] == "b's write was not saved"


def test_a_barrier_expecting_no_names_finishes_when_the_run_ends() -> None:
    """Found as `--replay 8000002483` (Pregel). A ``NamedBarrierValueAfterFinish``
    expecting no names is never written, yet the step that triggers no node
    finishes it (``seen == names``): it gets a version and is saved as
    ``(set(), True)``. The engine only visited barriers something was written to."""
    from langgraph.channels import AnyValue, NamedBarrierValueAfterFinish

    def build() -> tuple[Any, Any]:
        saver = InMemorySaver()
        node = NodeBuilder().subscribe_only("inp").do(lambda x: x + 1).write_to("out")
        graph = Pregel(
            nodes={"n": node},
            channels={
                "inp": AnyValue(int),
                "out": LastValue(int),
                "gate": NamedBarrierValueAfterFinish(str, set()),
            },
            input_channels=["inp"],
            output_channels=["out"],
            checkpointer=saver,
        )
        return graph, saver

    out = assert_same(build, lambda g: g.invoke({"inp": 1}, CFG), CFG)
    assert out.value == {"out": 2}
    assert "gate" in out.history[0][4]  # the last checkpoint's channel values

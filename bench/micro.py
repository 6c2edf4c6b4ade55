"""Small graphs: a 3-node chain, fan-out 5 + join, the per-step cost of a
100-node chain with and without InMemorySaver, and the saver's own cost alone;
and a chain whose nodes and saver do I/O (the saver's overlapping the steps).
"""

from __future__ import annotations

import operator
import threading
import time
import uuid
from typing import Annotated, Any

from harness import Case, Cfg, Row, seconds_per_call, timed_row
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

GROUP = "micro"


class S(TypedDict):
    x: int


class Fan(TypedDict):
    xs: Annotated[list, operator.add]


def bump(s: S) -> dict:
    return {"x": s["x"] + 1}


async def abump(s: S) -> dict:
    return {"x": s["x"] + 1}


def chain_builder(n: int, node: Any = bump) -> StateGraph:
    g = StateGraph(S)
    prev = START
    for i in range(n):
        g.add_node(f"n{i}", node)
        g.add_edge(prev, f"n{i}")
        prev = f"n{i}"
    g.add_edge(prev, END)
    return g


def chain(n: int, **compile_kwargs: Any) -> Any:
    return chain_builder(n).compile(**compile_kwargs)


def src(s: Fan) -> dict:
    return {"xs": [0]}


def join(s: Fan) -> dict:
    return {"xs": [-1]}


def worker(i: int) -> Any:
    def w(s: Fan) -> dict:
        return {"xs": [i]}

    return w


def fan_out(k: int = 5) -> Any:
    g = StateGraph(Fan)
    g.add_node("src", src)
    g.add_edge(START, "src")
    for i in range(k):
        g.add_node(f"w{i}", worker(i))
        g.add_edge("src", f"w{i}")
    g.add_node("join", join)
    g.add_edge([f"w{i}" for i in range(k)], "join")
    g.add_edge("join", END)
    return g.compile()


# A StateGraph chain of N nodes runs N + 1 supersteps: __start__, then each node.
CHAIN_STEPS = 100 + 1


def thread() -> dict:
    return {"configurable": {"thread_id": str(uuid.uuid4())}}


def clear(saver: InMemorySaver) -> None:
    saver.storage.clear()
    saver.writes.clear()
    saver.blobs.clear()


def chain3(cfg: Cfg) -> Row:
    g = chain(3)
    return timed_row("chain3_invoke", GROUP, lambda e, n: seconds_per_call(lambda: g.invoke({"x": 0}), n),
                     cfg, note="µs per invoke")


def fanout5(cfg: Cfg) -> Row:
    g = fan_out(5)
    return timed_row("fanout5_join_invoke", GROUP,
                     lambda e, n: seconds_per_call(lambda: g.invoke({"xs": []}), n), cfg,
                     note="µs per invoke")


def chain100(cfg: Cfg) -> Row:
    g = chain(100)
    return timed_row("chain100_per_step", GROUP,
                     lambda e, n: seconds_per_call(lambda: g.invoke({"x": 0}), n), cfg,
                     per=CHAIN_STEPS, note=f"µs per superstep ({CHAIN_STEPS} per invoke)")


def chain100_saver(cfg: Cfg) -> Row:
    saver = InMemorySaver()
    g = chain(100, checkpointer=saver)

    def batch(engine: str, n: int) -> float:
        clear(saver)  # outside the timing: each batch starts from an empty saver
        configs = [thread() for _ in range(n)]
        it = iter(configs)
        return seconds_per_call(lambda: g.invoke({"x": 0}, next(it)), n)

    row = timed_row("chain100_saver_per_step", GROUP, batch, cfg, per=CHAIN_STEPS,
                    note="µs per superstep, InMemorySaver, default durability; floor = saver alone")
    row.floor, row.extra["saver_calls_per_invoke"] = saver_floor(cfg)
    clear(saver)
    return row


class Recorder(InMemorySaver):
    """An InMemorySaver that keeps the arguments of every put/put_writes."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple, dict]] = []

    def put(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.calls.append(("put", args, kwargs))
        return super().put(*args, **kwargs)

    def put_writes(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.calls.append(("put_writes", args, kwargs))
        return super().put_writes(*args, **kwargs)


def saver_floor(cfg: Cfg) -> tuple[float, dict[str, int]]:
    """µs per superstep that InMemorySaver's put + put_writes take alone: the calls
    one 100-node invoke makes on stock LangGraph, replayed on a bare saver."""
    import harness

    harness.use("stock")
    rec = Recorder()
    chain(100, checkpointer=rec).invoke({"x": 0}, thread())
    calls = rec.calls
    saver = InMemorySaver()

    def replay() -> None:
        clear(saver)
        for method, args, kwargs in calls:
            getattr(saver, method)(*args, **kwargs)

    replay()
    n = max(1, int(cfg.target_s / max(seconds_per_call(replay, 1), 1e-9)))
    best = sorted(seconds_per_call(replay, n) for _ in range(cfg.rounds))
    counts = {m: sum(1 for c in calls if c[0] == m) for m in ("put", "put_writes")}
    return best[len(best) // 2] * 1e6 / CHAIN_STEPS, counts


IO_STEPS = 20
NODE_IO_S = 0.001  # what a node waits on (a model call, a tool)
SAVER_IO_S = 0.0005  # what each saver call waits on, one at a time (a connection)


def io_node(s: S) -> dict:
    time.sleep(NODE_IO_S)
    return {"x": s["x"] + 1}


class IOSaver(InMemorySaver):
    """InMemorySaver behind one connection: each put / put_writes waits
    ``SAVER_IO_S`` under a lock, as a database round trip would."""

    def __init__(self) -> None:
        super().__init__()
        self.connection = threading.Lock()

    def put(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        with self.connection:
            time.sleep(SAVER_IO_S)
            return super().put(*args, **kwargs)

    def put_writes(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        with self.connection:
            time.sleep(SAVER_IO_S)
            return super().put_writes(*args, **kwargs)


def chain_io_saver(cfg: Cfg) -> Row:
    saver = IOSaver()
    g = chain_builder(IO_STEPS, io_node).compile(checkpointer=saver)

    def batch(engine: str, n: int) -> float:
        clear(saver)
        configs = [thread() for _ in range(n)]
        it = iter(configs)
        return seconds_per_call(lambda: g.invoke({"x": 0}, next(it)), n)

    row = timed_row(
        f"chain{IO_STEPS}_io_saver_per_step", GROUP, batch, cfg, per=IO_STEPS + 1,
        note=f"µs per superstep; nodes wait {NODE_IO_S * 1e3:g} ms, each saver call "
        f"{SAVER_IO_S * 1e3:g} ms on one connection; default durability (saves overlap the steps)",
    )
    clear(saver)
    return row


def cases(cfg: Cfg) -> list[Case]:
    return [
        Case("chain3_invoke", GROUP, chain3, "3-node chain, invoke"),
        Case("fanout5_join_invoke", GROUP, fanout5, "fan-out 5 + join, invoke"),
        Case("chain100_per_step", GROUP, chain100, "100-node chain, per superstep"),
        Case("chain100_saver_per_step", GROUP, chain100_saver,
             "100-node chain with InMemorySaver, per superstep; floor: the saver's put+put_writes alone"),
        Case(f"chain{IO_STEPS}_io_saver_per_step", GROUP, chain_io_saver,
             "chain whose nodes and saver do I/O, per superstep"),
    ]

"""The GIL and the run state's lock: no thread may wait for one while holding
the other.

A run's state sits behind a Rust mutex. The thread that holds it may be running
Python code (a reducer, the saver's ``get_next_version``), and Python code gives
the GIL away (``time.sleep``, I/O, or just the interpreter's switch interval);
a thread that then waited for the mutex with the GIL held would deadlock both.

A deadlock that holds the GIL freezes the whole interpreter, so no in-process
timeout could end it: each scenario runs in a child interpreter with a deadline.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

DEADLINE = 120


def _run(script: str) -> list[str]:
    try:
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script)],
            capture_output=True,
            text=True,
            timeout=DEADLINE,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"deadlock: the scenario did not finish in {DEADLINE}s") from exc
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_parallel_routers_read_the_state_while_a_reducer_gives_the_gil_away() -> None:
    """Routers of parallel tasks read the state (with their task's writes applied
    through a slow reducer) at once, in sync and async runs; results as stock's."""
    lines = _run(
        """
        import asyncio, time
        from typing import Annotated
        from typing_extensions import TypedDict
        import langgraph_rs
        from langgraph.graph import END, START, StateGraph

        def slow_add(a, b):
            time.sleep(0.02)  # gives the GIL away, as I/O would
            return a + b

        class S(TypedDict):
            items: Annotated[list, slow_add]

        g = StateGraph(S)
        for name in "abcdef":
            g.add_node(name, lambda s, name=name: {"items": [name]})
            g.add_edge(START, name)
            g.add_conditional_edges(name, lambda s: END if len(s["items"]) > 0 else name)

        for label, app in (("stock", g.compile()), ("rs", langgraph_rs.compile(g))):
            print(label, "invoke", app.invoke({"items": []}))
            print(label, "ainvoke", asyncio.run(app.ainvoke({"items": []})))
        """
    )
    assert lines == [
        "stock invoke {'items': ['a', 'b', 'c', 'd', 'e', 'f']}",
        "stock ainvoke {'items': ['a', 'b', 'c', 'd', 'e', 'f']}",
        "rs invoke {'items': ['a', 'b', 'c', 'd', 'e', 'f']}",
        "rs ainvoke {'items': ['a', 'b', 'c', 'd', 'e', 'f']}",
    ]


def test_a_thread_waiting_for_the_run_state_lets_its_holder_run_python() -> None:
    """One thread applies writes through a reducer that sleeps while it holds the
    state; others read the state meanwhile. All finish, with the right values."""
    lines = _run(
        """
        import threading, time
        from langgraph_rs import _native

        inside = threading.Event()

        def slow_add(a, b):
            inside.set()
            time.sleep(0.2)  # the state is held; the GIL is given away
            return a + b

        graph = _native.Graph(
            [("items", "binop", (slow_add, list)), ("x", "last_value", None)], [], {}
        )
        state = _native.State(graph, None, None)
        state.apply_writes([("n", ("a",), (), [("x", 1)])])
        seen = []

        def writer():
            state.apply_writes([("n", ("a",), (), [("items", [1]), ("x", 2)])])

        def reader():
            inside.wait()
            seen.append((state.get("x"), state.read(["x"]), state.versions()["x"]))

        threads = [threading.Thread(target=writer)] + [
            threading.Thread(target=reader) for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(state.get("items"), state.get("x"))
        print(len(seen), *{repr(s) for s in seen})
        """
    )
    # readers wait for the writer to finish: they see its whole step, never half
    assert lines == ["[1] 2", "4 (2, {'x': 2}, 2)"]

"""Programs whose divergence is known and open: the seed, and why.

A known seed still runs and its outcome is printed (``KNOWN``), but it does not
fail the run; once it no longer diverges the run says so (``FIXED``), so the
entry is removed. Every entry is a defect to fix, not a difference to accept:
each names what the engine does not model yet.
"""

from __future__ import annotations

KNOWN: dict[int, str] = {
    1000254: (
        "a task failing at once in a parallel step of 3 with a checkpointer (durability "
        "async): LangGraph's runner waits for a sibling whose registration started a "
        "worker thread (its event is cleared on each registration); the engine models "
        "that only for a pool that ran no saves, not stock's count of idle workers"
    ),
    1000154: (
        "not deterministic on stock LangGraph: parallel steps in which a node fails at "
        "once (durability exit, a cache, interrupt_before); most likely the race of "
        "1000254 on stock's side (whether its runner waits for a sibling)"
    ),
    1000123: (
        "not deterministic on stock LangGraph: parallel subgraphs take checkpoint ids from "
        "the harness's one deterministic counter in an order set by stock's thread starts "
        "(each subgraph saves in a pool of its own), so task and interrupt ids vary; the "
        "fuzzer needs ids that don't depend on that interleaving"
    ),
    1000281: (
        "not deterministic on stock LangGraph: whether a finished sibling's update streams "
        "before a subgraph's first chunk depends on which thread gets the GIL first "
        "(both engines commit in the worker thread); the generator needs a wider gap here"
    ),
}

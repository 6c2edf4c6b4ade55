"""Instructions per call, counted by valgrind's callgrind: the figure that does
not move with the machine's load.

Wall times on a shared 2-core machine move by ±25% from run to run; the
instructions a call executes do not. Each engine runs in a child process under
``valgrind --tool=callgrind`` that writes a profile as each measured window
(a ``functools.reduce`` over the calls) begins and ends
(``--dump-before``/``--dump-after``): the profile written at a window's end
holds what every thread executed during the window, with the hash
seed fixed. Everything the call does is counted, on every thread: the engine,
the node functions (on the worker threads of a step with several tasks), the
saver, the garbage collector when it runs. (Counting switched on by
``--toggle-collect`` would count the calling thread only.) The two engines'
children run side by side; the ratio is stock's instructions over ours.

Listed only where valgrind is installed.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import micro
from harness import ENGINES, Case, Cfg, Row

GROUP = "instructions"
HERE = Path(__file__).resolve().parent

# (name, calls measured, steps per call: the figure is per step when > 1)
KINDS = (
    ("chain3_invoke", 20, 1),
    ("fanout5_join_invoke", 10, 1),
    ("chain100_per_step", 2, 100),
    ("chain100_saver_per_step", 2, 100),
)


def _calls() -> dict[str, Any]:
    from langgraph.checkpoint.memory import InMemorySaver

    chain3, fan, chain100 = micro.chain(3), micro.fan_out(5), micro.chain(100)
    saved = micro.chain(100, checkpointer=InMemorySaver())
    return {
        "chain3_invoke": lambda: chain3.invoke({"x": 0}),
        "fanout5_join_invoke": lambda: fan.invoke({"xs": []}),
        "chain100_per_step": lambda: chain100.invoke({"x": 0}),
        "chain100_saver_per_step": lambda: saved.invoke(
            {"x": 0}, {"configurable": {"thread_id": str(uuid.uuid4())}}
        ),
    }


def child(engine: str) -> None:
    """Runs in the child under callgrind: one measured window per kind."""
    import gc

    import langgraph_rs

    if engine == "ours":
        langgraph_rs.install()
    calls = _calls()
    for name, n, _ in KINDS:
        call = calls[name]
        for _ in range(3):  # warm-up: first-call caches, templates
            call()
        gc.collect()
        functools.reduce(lambda _acc, _i: call(), range(n), None)


_SUMMARY = re.compile(rb"^(?:summary|totals): (\d+)", re.M)


def _count(engine: str) -> list[int]:
    """Instructions of each window of one engine's child, in KINDS order."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        subprocess.run(
            ["valgrind", "--tool=callgrind",
             "--dump-before=functools_reduce", "--dump-after=functools_reduce",
             f"--callgrind-out-file={out}", sys.executable, str(Path(__file__).resolve()), engine],
            cwd=HERE, env=env, check=True, capture_output=True, timeout=1800,
        )
        # dumps cg.out.1, cg.out.2, ...: each window's start writes what came
        # before it (odd numbers), its end the window itself (even numbers);
        # cg.out, written at exit, holds what came after the last window
        dumps = sorted(Path(tmp).glob("cg.out.*"), key=lambda p: int(p.suffix[1:]))
        counts = []
        for dump in dumps[1::2]:
            m = _SUMMARY.search(dump.read_bytes())
            counts.append(int(m.group(1)) if m else 0)
        if len(dumps) != 2 * len(KINDS):
            raise RuntimeError(f"{engine}: {len(dumps)} callgrind dumps, expected {2 * len(KINDS)}")
    return counts


def measure(cfg: Cfg) -> list[Row]:
    with ThreadPoolExecutor(len(ENGINES)) as pool:
        counts = dict(zip(ENGINES, pool.map(_count, ENGINES)))
    rows = []
    for i, (name, n, steps) in enumerate(KINDS):
        per = {e: counts[e][i] / n / steps for e in ENGINES}
        rows.append(Row(
            f"instr_{name}", GROUP, "instructions", per["stock"], per["ours"], rounds=1, calls=n,
            note="callgrind instructions per " + ("step" if steps > 1 else "call") + ", collector included",
        ).finish())
    return rows


def cases(cfg: Cfg) -> list[Case]:
    if shutil.which("valgrind") is None:
        return []
    return [Case("instructions", GROUP, measure, "callgrind instructions per call or step, both engines")]


if __name__ == "__main__":
    child(sys.argv[1])

"""``python -m tests.fuzz --graphs N --seed S``: fuzz both engines.

Program ``i`` of a run has seed ``S * 1_000_000 + i``; every divergent program is
shrunk and written as a standalone reproducer under ``--out``. The last line is
``fuzz: N graphs, D divergences``; the exit status is non-zero on any divergence
(or on a program the fuzzer itself could not run).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tests.fuzz import available, program
from tests.fuzz.known import KNOWN
from tests.fuzz.runner import check


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    ap.add_argument("--graphs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--replay", type=int, action="append", help="run only this program seed (repeatable)")
    ap.add_argument("--family", action="append", help="only these families (repeatable)")
    ap.add_argument("--out", type=Path, default=Path("fuzz-failures"), help="where reproducers go")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--shrink-seconds", type=float, default=60.0)
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds one program may take (a hang fails the run)")
    ap.add_argument("--print-source", action="store_true", help="with --replay: print the program's source")
    args = ap.parse_args(argv)

    families = args.family or available()
    seeds = args.replay or [args.seed * 1_000_000 + i for i in range(args.graphs)]
    if args.print_source:
        for seed in seeds:
            print(program(seed, families)[2])
        return 0
    started = time.monotonic()
    divergences = errors = known = 0
    per_family: dict[str, int] = {}
    n = 0
    jobs = [(s, families, args.out, args.shrink_seconds, args.timeout, s in KNOWN) for s in seeds]
    results = _in_pools(jobs, args.jobs) if args.jobs > 1 else (check(*j) for j in jobs)
    try:
        for n, (seed, name, diff, note) in enumerate(results, 1):
            per_family[name] = per_family.get(name, 0) + 1
            if seed in KNOWN:
                state = "KNOWN" if diff is not None or note is not None else "FIXED (remove it from tests/fuzz/known.py)"
                print(f"{state} seed={seed} family={name}: {KNOWN[seed]}", flush=True)
                known += 1
            elif diff is not None:
                divergences += 1
                print(f"DIVERGENCE seed={seed} family={name}: {diff}\n  reproducer: {note}", flush=True)
            elif note is not None:
                errors += 1
                print(f"ERROR seed={seed} family={name}: {note}", flush=True)
            if n % 100 == 0:
                print(f"... {n} graphs, {divergences} divergences, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    except concurrent.futures.process.BrokenProcessPool:
        # a worker exited: a hang (its seed and stacks are on stderr) or a crash
        print("ERROR: a fuzz worker died; its last words are on stderr", flush=True)
        errors += 1
    if n < len(seeds):
        errors += 1
        print(f"ERROR: {len(seeds) - n} of {len(seeds)} programs were not run", flush=True)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(per_family.items()))
    print(f"({counts}; {time.monotonic() - started:.1f} s; {errors} fuzzer errors; {known} known, not counted)")
    print(f"fuzz: {n} graphs, {divergences} divergences")
    return 1 if divergences or errors else 0


def _in_pools(jobs: list[tuple], workers: int, batch: int = 400) -> Iterator[tuple]:
    """Results in order, from a fresh pool of worker processes per ``batch``
    programs (a worker's memory grows with every graph it runs). Not
    ``max_tasks_per_child``: CPython 3.11's executor can hang for good while it
    replaces a retired worker."""
    for start in range(0, len(jobs), batch):
        with concurrent.futures.ProcessPoolExecutor(workers) as pool:
            yield from pool.map(check, *zip(*jobs[start:start + batch]), chunksize=4)


if __name__ == "__main__":
    raise SystemExit(main())

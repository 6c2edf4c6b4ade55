"""Stock LangGraph vs langgraph_rs, side by side in one process.

    python bench/run.py                   # every case (tens of minutes on 2 cores)
    python bench/run.py --quick           # small counts: a smoke run of every case family
    python bench/run.py --only chain3_invoke --only 'lg/sequential*'
    python bench/run.py --list            # the case names
    python bench/run.py --rss-invokes 1000000   # adds the long flat-RSS run

Prints a table (case, unit, LangGraph median, ours median, stock/ours, floor,
peak RSS) and writes it as JSON plus a PNG chart of the ratios
(``bench/results/latest.{json,png}`` unless ``--out`` says otherwise). Figures
are medians over rounds; within a round both engines run the case back to back,
in alternating order, so machine load hits both alike. The ratio is how many
times faster ours is (stock/ours for times; ours/stock for rates such as docs/s).
Compare ratios, not absolute times, across machines.

Cases (``--list`` shows every name):
- ``lg/*``: every case of LangGraph's own benchmark suite (``bench/`` of its
  sdist): async on uvloop as the suite runs them, and ``_sync``;
  first-event latency, compilation and serde-allowlist cases (the last two do
  not depend on the engine: they show the noise level);
- micro: 3-node chain, fan-out 5 + join, 100-node chain per superstep with and
  without InMemorySaver (floor: the saver's put + put_writes alone);
- concurrency: N concurrent 3-node ``ainvoke`` runs (floor: bare asyncio making
  the same awaits; peak RSS from a subprocess per engine), and with
  ``--rss-invokes`` the RSS of a long sequential run;
- swarm: N documents through a langgraph-supervisor graph with 3 worker agents
  (fake models awaiting 10 ms per call): documents/s and CPU ms per document;
- state_api: ``get_state`` and the whole ``get_state_history`` of a chat-like
  thread of 1,000 checkpoints (InMemorySaver), both engines reading the same;
- frames: engine Python frames per superstep (sys.setprofile) of a 10-node
  chain, sync, with InMemorySaver, and async;
- instructions (where valgrind is installed): callgrind instructions per call
  (or per step) of the micro cases, each engine in a child process: figures
  that do not move with the machine's load.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the modules beside this file (not LangGraph's `bench`)
    sys.path.insert(0, str(HERE))

import concurrency  # noqa: E402
import frames  # noqa: E402
import instructions  # noqa: E402
import micro  # noqa: E402
import report  # noqa: E402
import state_api  # noqa: E402
import swarm  # noqa: E402
import upstream  # noqa: E402
from harness import Case, Cfg, Row, run_case  # noqa: E402

MODULES = (micro, frames, instructions, concurrency, swarm, state_api, upstream)


def all_cases(cfg: Cfg) -> list[Case]:
    return [c for m in MODULES for c in m.cases(cfg)]


def selected(case: Case, only: list[str]) -> bool:
    if not only:
        return True
    return any(t == case.group or t in case.name or fnmatch.fnmatchcase(case.name, t) for t in only)


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="small counts and the smallest variant of each LangGraph suite workload")
    ap.add_argument("--only", action="append", default=[], metavar="NAME",
                    help="run the cases whose name contains NAME, matches it as a glob, "
                    "or whose group is NAME (micro, frames, concurrency, swarm, langgraph-suite); "
                    "repeatable, or comma-separated")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--rounds", type=int, help="timing rounds per case (default 5; 3 with --quick)")
    ap.add_argument("--batch-ms", type=float,
                    help="a timing batch lasts about this long (default 300; 50 with --quick)")
    ap.add_argument("--concurrent", type=int, help="concurrent ainvoke runs (default 10000; 500 with --quick)")
    ap.add_argument("--docs", type=int, help="swarm documents (default 1000; 50 with --quick)")
    ap.add_argument("--rss-invokes", type=int, default=0, metavar="N",
                    help="also run N sequential invokes per engine and report RSS growth")
    ap.add_argument("--sdist-dir", help="an extracted LangGraph sdist (default: fetched into .conformance/)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "latest.json",
                    help="the JSON file to write; the chart goes beside it as .png")
    ap.add_argument("--no-chart", action="store_true", help="write no PNG")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    only = [t for item in args.only for t in item.split(",") if t]
    if args.rss_invokes:
        only = only and [*only, "rss_long"]
    cfg = Cfg.make(
        args.quick, rounds=args.rounds, concurrent=args.concurrent, docs=args.docs,
        rss_invokes=args.rss_invokes, sdist_dir=args.sdist_dir,
        target_s=args.batch_ms / 1e3 if args.batch_ms else None,
    )
    cases = [c for c in all_cases(cfg) if selected(c, only)]
    if args.list:
        for c in all_cases(cfg):
            print(f"{c.group:16} {c.name}")
        return 0
    if not cases:
        print(f"no case matches {only}; see --list", file=sys.stderr)
        return 2
    warnings.simplefilter("ignore")  # e.g. the suite's `durability` without a checkpointer
    started = time.time()
    rows: list[Row] = []
    for n, case in enumerate(cases, 1):
        t0 = time.perf_counter()
        print(f"[{n}/{len(cases)}] {case.name} ...", end="", file=sys.stderr, flush=True)
        got = run_case(case, cfg)
        rows += got
        summary = ", ".join(f"{r.ratio:.2f}x" if r.ratio else (r.error or "-") for r in got)
        print(f" {summary} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    print(report.table(rows))
    doc = report.document(rows, cfg, started, ["bench/run.py", *argv])
    report.write_json(doc, args.out)
    print(f"\nJSON: {args.out}")
    if not args.no_chart:
        png = args.out.with_suffix(".png")
        title = (f"langgraph_rs vs LangGraph {doc['environment']['langgraph']} "
                 f"({'quick, ' if cfg.quick else ''}{cfg.rounds} rounds, {doc['environment']['cpus']} CPUs)")
        if report.write_chart(rows, png, title):
            print(f"chart: {png}")
    print(f"{len(rows)} rows in {doc['seconds']:.0f} s; {sum(1 for r in rows if r.error)} errors")
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

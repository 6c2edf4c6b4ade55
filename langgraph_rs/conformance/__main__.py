"""``python -m langgraph_rs.conformance``: LangGraph's test suite on langgraph_rs.

    python -m langgraph_rs.conformance                 # run, print counts
    python -m langgraph_rs.conformance --check         # the CI ratchet
    python -m langgraph_rs.conformance --compare-stock # ratio against stock LangGraph
    python -m langgraph_rs.conformance --all           # every file of its tests/
    python -m langgraph_rs.conformance --all --services --compare-stock
        # ... with PostgreSQL and Redis (started on loopback from Debian's
        # packages where the suite looks for them), both engines
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from langgraph_rs.conformance import LANGGRAPH_VERSION, services

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "expected_pass.txt"
DEFAULT_FILES = ["tests/test_pregel.py", "tests/test_pregel_async.py"]


def sdist_dir(cache: Path, given: str | None) -> Path:
    """The extracted sdist (downloaded with pip into ``cache`` once)."""
    if given:
        path = Path(given)
        if not (path / "tests").is_dir():
            sys.exit(f"{path} has no tests/ directory")
        return path
    target = cache / f"langgraph-{LANGGRAPH_VERSION}"
    if (target / "tests").is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / f"langgraph-{LANGGRAPH_VERSION}.tar.gz"
    if not archive.exists():
        subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                "--no-binary", ":all:", f"langgraph=={LANGGRAPH_VERSION}",
                "--dest", str(cache),
            ],
            check=True,
        )
    with tarfile.open(archive) as tar:
        tar.extractall(cache, filter="data")
    if not (target / "tests").is_dir():
        sys.exit(f"the sdist did not contain {target}/tests")
    return target


def run(
    src: Path, files: list[str], *, stock: bool, workers: int, extra: list[str], docker: bool = False
) -> dict[str, str]:
    """Run pytest in the sdist; return {node id: outcome}. ``docker``: the
    suite's PostgreSQL and Redis are up (its ``NO_DOCKER`` unset)."""
    with tempfile.TemporaryDirectory() as tmp:
        results = os.path.join(tmp, "results")
        env = {
            **os.environ,
            "NO_DOCKER": "false" if docker else "true",
            "LANGGRAPH_RS_CONFORMANCE_RESULTS": results,
            "LANGGRAPH_RS_CONFORMANCE_STOCK": "1" if stock else "0",
        }
        cmd = [
            sys.executable, "-m", "pytest", *files,
            "-p", "langgraph_rs.conformance.plugin",
            "-p", "no:cacheprovider",
            "-q", "--no-header", "-rN", "--tb=no",
        ]
        if workers > 0:
            cmd += ["-n", str(workers)]
        cmd += extra
        label = "stock LangGraph" if stock else "langgraph_rs"
        print(f"running {len(files)} file(s) of LangGraph {LANGGRAPH_VERSION}'s tests on {label}", flush=True)
        proc = subprocess.run(cmd, cwd=src, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        tail = proc.stdout.strip().splitlines()[-1:] if proc.stdout.strip() else []
        if tail:
            print("  pytest:", tail[0])
        if proc.returncode == 5:
            print("  pytest collected no tests", file=sys.stderr)
        elif proc.returncode not in (0, 1):
            print(proc.stdout[-4000:], file=sys.stderr)
            sys.exit(f"pytest failed to run (exit code {proc.returncode})")
        outcomes: dict[str, str] = {}
        for path in glob.glob(results + ".*"):
            with open(path) as f:
                for line in f:
                    rec = json.loads(line)
                    # a failing teardown after a pass still counts as the call's outcome
                    outcomes.setdefault(rec["nodeid"], rec["outcome"])
        return outcomes


def summarize(outcomes: dict[str, str], title: str, show: bool) -> None:
    counts: dict[str, int] = {}
    for o in outcomes.values():
        counts[o] = counts.get(o, 0) + 1
    print(
        f"{title}: {counts.get('passed', 0)} passed, {counts.get('failed', 0)} failed, "
        f"{counts.get('skipped', 0)} skipped, {counts.get('error', 0)} errors"
    )
    if show:
        for nodeid, o in sorted(outcomes.items()):
            if o in ("failed", "error"):
                print(f"  {o.upper()} {nodeid}")


def passing(outcomes: dict[str, str]) -> set[str]:
    return {n for n, o in outcomes.items() if o == "passed"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m langgraph_rs.conformance", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", help=f"test files inside the sdist (default: {' '.join(DEFAULT_FILES)})")
    ap.add_argument("--all", action="store_true", help="run every file of the sdist's tests/")
    ap.add_argument("--sdist-dir", help="an already extracted sdist to use")
    ap.add_argument("--cache", default=os.environ.get("LANGGRAPH_RS_CONFORMANCE_CACHE", ".conformance"),
                    help="where the sdist is downloaded (default: .conformance)")
    ap.add_argument("-n", "--workers", type=int, default=2, help="pytest-xdist workers (0: none)")
    ap.add_argument("-k", dest="keyword", help="pytest -k expression")
    ap.add_argument("--stock", action="store_true", help="run on stock LangGraph (no swap, no guard)")
    ap.add_argument("--compare-stock", action="store_true", help="also run stock LangGraph and print the ratio")
    ap.add_argument("--check", action="store_true", help="fail if a test in expected_pass.txt did not pass")
    ap.add_argument("--update-expected", action="store_true", help="write the passing tests to expected_pass.txt")
    ap.add_argument("--list", action="store_true", help="list every failed test")
    ap.add_argument("--services", action="store_true",
                    help="with PostgreSQL on 127.0.0.1:5442 and Redis on 127.0.0.1:6379, started "
                    "(from Debian's packages) unless already listening, and stopped after")
    args = ap.parse_args(argv)
    with contextlib.ExitStack() as stack:
        if args.services:
            started = stack.enter_context(services.suite_services())
            print("services: " + (", ".join(started) if started else "already running"), flush=True)
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    src = sdist_dir(Path(args.cache).resolve(), args.sdist_dir)
    files = ["tests"] if args.all else (args.files or DEFAULT_FILES)
    extra = ["-k", args.keyword] if args.keyword else []
    expected = (
        {line.strip() for line in EXPECTED.read_text().splitlines() if line.strip() and not line.startswith("#")}
        if EXPECTED.exists()
        else set()
    )
    if args.check and not args.all and not args.files:
        # the ratchet runs exactly the files its list names
        files = sorted({n.split("::", 1)[0] for n in expected}) or files

    docker = args.services
    outcomes = run(src, files, stock=args.stock, workers=args.workers, extra=extra, docker=docker)
    summarize(outcomes, "stock LangGraph" if args.stock else "langgraph_rs (strict swap)", args.list)
    status = 0
    if args.compare_stock and not args.stock:
        stock = run(src, files, stock=True, workers=args.workers, extra=extra, docker=docker)
        summarize(stock, "stock LangGraph", False)
        base = passing(stock)
        ours = passing(outcomes) & base
        pct = 100.0 * len(ours) / len(base) if base else 0.0
        print(f"{len(ours)} of {len(base)} stock-passing tests pass under the swap ({pct:.1f}%)")
        if args.list:
            for n in sorted(base - ours):
                print(f"  NOT PASSING {n}")
    if args.update_expected:
        EXPECTED.write_text(
            f"# LangGraph {LANGGRAPH_VERSION} tests that pass on langgraph_rs under the strict swap.\n"
            "# Written by `python -m langgraph_rs.conformance --update-expected`; `--check` fails\n"
            "# when one of them stops passing.\n" + "".join(f"{n}\n" for n in sorted(passing(outcomes)))
        )
        print(f"wrote {len(passing(outcomes))} tests to {EXPECTED}")
    if args.check:
        if not outcomes:
            print("ratchet: no test ran", file=sys.stderr)
            return 1
        ran = {n for n in expected if n.split("::", 1)[0] in {f for f in files} or args.all}
        lost = sorted(n for n in ran if outcomes.get(n) != "passed")
        if lost and len(lost) <= 50:
            # timing-sensitive tests can lose a race on a loaded machine: one more try, alone
            print(f"ratchet: re-running {len(lost)} test(s) that did not pass")
            again = run(src, lost, stock=False, workers=0, extra=[], docker=docker)
            lost = [n for n in lost if again.get(n) != "passed"]
        if lost:
            print(f"ratchet: {len(lost)} expected test(s) no longer pass:", file=sys.stderr)
            for n in lost:
                print(f"  {outcomes.get(n, 'not run')}: {n}", file=sys.stderr)
            status = 1
        else:
            print(f"ratchet: all {len(ran)} expected tests pass")
    return status


if __name__ == "__main__":
    sys.exit(main())

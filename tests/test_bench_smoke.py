"""The benchmark (bench/run.py) runs end to end on tiny counts and writes a
well-formed table, JSON and chart. No timing is asserted: figures from a test
run mean nothing; this only keeps the benchmark's machinery from rotting."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "bench" / "run.py"
CASES = [
    "chain3_invoke",
    "chain100_saver_per_step",
    "frames_chain10_sync",
    "async_concurrent",
    "swarm",
    "state_api",
    "lg/sequential_10_sync",
    "lg/serde_allowlist_small",
]
KEYS = {"case", "group", "unit", "stock", "ours", "ratio", "floor", "rss_stock_mb", "rss_ours_mb",
        "rounds", "calls", "samples", "extra", "note", "error"}


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(RUN), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)


def test_lists_every_case_family() -> None:
    out = bench("--list")
    assert out.returncode == 0, out.stderr
    names = {line.split()[1] for line in out.stdout.splitlines()}
    suite = [f"{family}_{size}{cp}" for family, size in [
        ("fanout_to_subgraph", "10x"), ("fanout_to_subgraph", "100x"), ("react_agent", "10x"),
        ("react_agent", "100x"), ("wide_state", "9x1200"), ("wide_dict", "15x600"),
        ("pydantic_state", "25x300"),
    ] for cp in ("", "_checkpoint")] + ["sequential_10", "sequential_1000"]
    for case in suite:  # async and sync, as LangGraph's suite defines them
        assert {f"lg/{case}", f"lg/{case}_sync"} <= names, case
    assert {"chain3_invoke", "fanout5_join_invoke", "chain100_per_step", "chain100_saver_per_step",
            "async_concurrent", "swarm", "frames_chain10_sync", "frames_chain10_saver",
            "frames_chain10_async", "get_state_1000_checkpoints",
            "get_state_history_1000_checkpoints", "snapshot_1000_checkpoints",
            "get_state_wide", "update_state_wide"} <= names
    # the instruction counts need valgrind, and are listed only where it is
    assert ("instructions" in names) == (shutil.which("valgrind") is not None)


def test_tiny_run_writes_table_json_and_chart(tmp_path: Path) -> None:
    out_json = tmp_path / "bench.json"
    out = bench("--quick", "--rounds", "1", "--batch-ms", "1", "--concurrent", "20", "--docs", "2",
                "--rss-invokes", "30", "--only", ",".join(CASES), "--out", str(out_json))
    assert out.returncode == 0, out.stdout + out.stderr
    doc = json.loads(out_json.read_text())
    rows = doc["rows"]
    names = [r["case"] for r in rows]
    for expected in ("chain3_invoke", "chain100_saver_per_step", "frames_chain10_sync",
                     "async_20_concurrent", "swarm_2_docs_per_s", "swarm_2_cpu_per_doc",
                     "lg/sequential_10_sync", "lg/serde_allowlist_small", "rss_30_invokes",
                     "get_state_100_checkpoints", "get_state_history_100_checkpoints",
                     "snapshot_100_checkpoints", "get_state_wide", "update_state_wide"):
        assert expected in names, names
    for row in rows:
        assert set(row) == KEYS
        assert row["error"] is None, row
        for key in ("stock", "ours"):
            assert isinstance(row[key], (int, float)) and math.isfinite(row[key]) and row[key] >= 0, row
        if row["ratio"] is not None:
            assert row["ratio"] > 0
    by = {r["case"]: r for r in rows}
    assert by["chain100_saver_per_step"]["floor"] > 0
    assert by["async_20_concurrent"]["floor"] > 0
    assert by["async_20_concurrent"]["rss_stock_mb"] > 0
    assert set(by["frames_chain10_sync"]["extra"]) == {"stock", "ours"}
    assert by["get_state_100_checkpoints"]["extra"]["checkpoints"] >= 99
    # the printed table: a header, a rule, one line per row
    lines = out.stdout.splitlines()
    assert lines[0].split()[:5] == ["case", "unit", "LangGraph", "ours", "stock/ours"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    table = lines[2:2 + len(rows)]
    assert [line.split()[0] for line in table] == names
    png = out_json.with_suffix(".png")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        pytest.skip("matplotlib (the bench extra) is not installed: chart not checked")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

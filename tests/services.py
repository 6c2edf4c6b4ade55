"""Real services for the tests, started on loopback from the test setup.

``postgres_dsn``: a throwaway PostgreSQL cluster (Debian's ``postgresql``
package: installed with apt-get when missing and we are root) in a temporary
directory, on a free port, owned by the ``postgres`` user when running as root.
Tests using it are skipped, with the reason, only when no server can be had.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest


def _pg_bin() -> str | None:
    for pattern in ("/usr/lib/postgresql/*/bin",):
        for d in sorted(glob.glob(pattern), reverse=True):
            if os.path.exists(os.path.join(d, "initdb")):
                return d
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _ensure_postgres() -> str | None:
    bindir = _pg_bin()
    if bindir or os.geteuid() != 0 or not shutil.which("apt-get"):
        return bindir
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "postgresql"],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return _pg_bin()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    bindir = _ensure_postgres()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries are not installed (Debian package postgresql)")
    root = os.geteuid() == 0
    tmp = tempfile.mkdtemp(prefix="lgrs-pg-")
    data = os.path.join(tmp, "data")
    if root:
        shutil.chown(tmp, user="postgres")

    def run(*cmd: str) -> None:
        full = ["runuser", "-u", "postgres", "--", *cmd] if root else list(cmd)
        subprocess.run(full, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    port = _free_port()
    run(os.path.join(bindir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres")
    run(
        os.path.join(bindir, "pg_ctl"), "-D", data, "-l", os.path.join(tmp, "log"), "-w", "start",
        "-o", f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off",
    )
    try:
        dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 30
        import psycopg

        while True:
            try:
                psycopg.connect(dsn, autocommit=True).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield dsn
    finally:
        try:
            run(os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

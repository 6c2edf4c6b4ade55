"""PostgreSQL and Redis on loopback, from Debian's packages, for tests.

LangGraph's test suite looks for PostgreSQL on ``localhost:5442`` (user and
password ``postgres``) and Redis on ``localhost:6379``. :func:`suite_services`
starts each there unless something already listens on its port, and stops
what it started. :func:`postgres` is one throwaway cluster in a temporary
directory (the project's own tests put it on a free port). The binaries come
from the ``postgresql`` and ``redis-server`` packages, installed with apt-get
when missing and running as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator

SUITE_POSTGRES_PORT = 5442
SUITE_REDIS_PORT = 6379


def _apt_install(package: str) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", package]
    if subprocess.run(cmd, check=False, capture_output=True, env=env).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True, env=env)
        subprocess.run(cmd, check=False, capture_output=True, env=env)


def postgres_bin() -> str | None:
    """The directory of PostgreSQL's server binaries (installed if missing)."""

    def find() -> str | None:
        for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
            if os.path.exists(os.path.join(d, "initdb")):
                return d
        initdb = shutil.which("initdb")
        return os.path.dirname(initdb) if initdb else None

    if find() is None:
        _apt_install("postgresql")
    return find()


def redis_bin() -> str | None:
    """``redis-server`` (installed if missing)."""
    if shutil.which("redis-server") is None:
        _apt_install("redis-server")
    return shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(ready: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {seconds:g} s")
        time.sleep(0.1)


@contextlib.contextmanager
def postgres(port: int) -> Iterator[str]:
    """A PostgreSQL cluster on 127.0.0.1:``port`` (any password accepted for
    user ``postgres``), removed on exit; yields its DSN."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries are not installed (Debian package postgresql)")
    root = os.geteuid() == 0
    tmp = tempfile.mkdtemp(prefix="lgrs-pg-")
    data = os.path.join(tmp, "data")
    if root:  # the server refuses to run as root
        shutil.chown(tmp, user="postgres")

    def run(*cmd: str) -> None:
        full = ["runuser", "-u", "postgres", "--", *cmd] if root else list(cmd)
        subprocess.run(full, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    try:
        run(os.path.join(bindir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres")
        run(
            os.path.join(bindir, "pg_ctl"), "-D", data, "-l", os.path.join(tmp, "log"), "-w", "start",
            "-o", f"-p {port} -k {tmp} -c listen_addresses=localhost -c fsync=off -c max_connections=300",
        )
        try:
            _wait(lambda: listening(port), f"PostgreSQL on port {port}")
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "stop")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def redis(port: int) -> Iterator[str]:
    """A Redis server on 127.0.0.1:``port`` keeping nothing on disk, stopped
    on exit; yields its URL."""
    binary = redis_bin()
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian package redis-server)")
    tmp = tempfile.mkdtemp(prefix="lgrs-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", tmp, "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: listening(port) or proc.poll() is not None, f"Redis on port {port}")
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {proc.returncode}")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def suite_services() -> Iterator[list[str]]:
    """PostgreSQL and Redis where LangGraph's tests look for them, for the
    duration; yields what was started (a port already listening is used as
    it is)."""
    started: list[str] = []
    with contextlib.ExitStack() as stack:
        if not listening(SUITE_POSTGRES_PORT):
            stack.enter_context(postgres(SUITE_POSTGRES_PORT))
            started.append(f"postgresql on 127.0.0.1:{SUITE_POSTGRES_PORT}")
        if not listening(SUITE_REDIS_PORT):
            stack.enter_context(redis(SUITE_REDIS_PORT))
            started.append(f"redis on 127.0.0.1:{SUITE_REDIS_PORT}")
        yield started

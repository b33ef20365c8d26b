"""History stores to test against: an SQLite file, and a real PostgreSQL server started for the session.

The server is Debian's `postgresql` (initdb + pg_ctl) in a temporary directory, on a free port of
127.0.0.1, owned by an unprivileged user when the tests run as root (PostgreSQL refuses to run as
root). It runs in its own process group and is stopped, with its children, even when tests fail.
Under CI=true it must start; elsewhere the PostgreSQL cases skip, saying why, when it is not installed.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _pg_tool(name: str) -> str | None:
    for folder in PG_BIN_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    return shutil.which(name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unprivileged() -> tuple[int, int] | None:
    """(uid, gid) to run the server as when we are root; None when we are not."""
    if os.geteuid() != 0:
        return None
    user = pwd.getpwnam("nobody")
    return user.pw_uid, user.pw_gid


class PostgresServer:
    def __init__(self) -> None:
        self.initdb, self.postgres = _pg_tool("initdb"), _pg_tool("postgres")
        self.folder = Path(tempfile.mkdtemp(prefix="opskit-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.user = _unprivileged()

    def _popen(self, args: list[str], **kwargs) -> subprocess.Popen:
        extra = {"user": self.user[0], "group": self.user[1], "extra_groups": []} if self.user else {}
        return subprocess.Popen(args, start_new_session=True, cwd=self.folder, **extra, **kwargs)

    def start(self) -> str:
        if self.user:
            os.chown(self.folder, *self.user)
        log = (self.folder / "initdb.log").open("w")
        init = self._popen(
            [self.initdb, "-D", str(self.data), "-U", "opskit", "--auth=trust", "-E", "UTF8", "--no-sync"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if init.wait(timeout=120) != 0:
            raise RuntimeError(f"initdb failed: {(self.folder / 'initdb.log').read_text()[-2000:]}")
        server_log = (self.folder / "server.log").open("w")
        # `postgres` itself (what pg_ctl would start), so this process group is exactly the server and its children
        self.proc = self._popen(
            [
                self.postgres,
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.folder),
                "-c",
                "fsync=off",
                "-c",
                "max_connections=40",
            ],
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.folder / 'server.log').read_text()[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("postgres did not listen within 60 s")
        self._wait_ready()
        return f"postgresql+psycopg://opskit@127.0.0.1:{self.port}/postgres"

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(host="127.0.0.1", port=self.port, user="opskit", dbname="postgres").close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="opskit", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
        return f"postgresql+psycopg://opskit@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)  # fast shutdown of the server and its children
                self.proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    missing = [n for n in ("initdb", "postgres") if _pg_tool(n) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not installed ({', '.join(missing)} missing); .ci/run installs it")
        pytest.skip(f"PostgreSQL is not installed ({', '.join(missing)} missing): apt-get install postgresql")
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


_databases = iter(range(1, 10_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """A fresh, empty history store: an SQLite file, or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'opskit-history.sqlite'}"
    server = request.getfixturevalue("postgres_server")
    return server.database(f"opskit_{next(_databases)}")

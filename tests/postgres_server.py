"""A throwaway PostgreSQL server for the warehouse tests: initdb in a temporary directory,
a loopback port, password auth, stopped (and its files removed) by `stop()`."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

USER = "warehouse"
PASSWORD = "warehouse-secret"
DATABASE = "warehouse"
# The server's own time zone is not UTC on purpose: the loads must not depend on it.
SERVER_TIME_ZONE = "America/New_York"
# Debian's `postgresql` package keeps initdb and pg_ctl out of PATH.
DEBIAN_BIN = Path("/usr/lib/postgresql")


def server_bin() -> Path:
    """The directory holding initdb and pg_ctl: on PATH, else Debian's newest version."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(DEBIAN_BIN.glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if versions:
        return versions[-1].parent
    message = "PostgreSQL server programs (initdb, pg_ctl) not found: install the Debian "
    message += "`postgresql` package (.ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError  # unreachable: skip raises


class PostgresServer:
    """One server: `start()` returns once it accepts connections; `stop()` in a finalizer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.bin = server_bin()
        self.root = Path(tempfile.mkdtemp(prefix="tap-zendesk-pg-"))
        self.data = self.root / "data"
        # initdb refuses to run as root: then the server runs as the package's `postgres` user.
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            [str(self.bin / command[0]), *command[1:]],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout}\n{result.stderr}"

    def start(self) -> PostgresServer:
        password_file = self.root / "password"
        password_file.write_text(PASSWORD, encoding="utf-8")
        if self.user:
            account = pwd.getpwnam(self.user)
            os.chown(self.root, account.pw_uid, account.pw_gid)
            os.chown(password_file, account.pw_uid, account.pw_gid)
        self._run(
            "initdb",
            f"--pgdata={self.data}",
            f"--username={USER}",
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            f"-c fsync=off -c synchronous_commit=off -c timezone={SERVER_TIME_ZONE}"
        )
        self._run(
            "pg_ctl",
            "start",
            "--wait",
            f"--pgdata={self.data}",
            f"--options={options}",
            f"--log={self.root / 'server.log'}",
        )
        with self.connect(dbname="postgres") as connection:
            connection.autocommit = True
            connection.execute(f"CREATE DATABASE {DATABASE}")
        return self

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "stop", f"--pgdata={self.data}", "--mode=immediate", "--wait")
        shutil.rmtree(self.root, ignore_errors=True)

    def connect(self, dbname: str = DATABASE) -> psycopg.Connection[Any]:
        """A connection whose session time zone is UTC (the README's advice for readers)."""
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=USER,
            password=PASSWORD,
            dbname=dbname,
            options="-c timezone=UTC",
        )

    @property
    def target_env(self) -> dict[str, str]:
        """The TARGET_POSTGRES_* settings pointing meltano's target-postgres here."""
        return {
            "TARGET_POSTGRES_HOST": "127.0.0.1",
            "TARGET_POSTGRES_PORT": str(self.port),
            "TARGET_POSTGRES_USER": USER,
            "TARGET_POSTGRES_PASSWORD": PASSWORD,
            "TARGET_POSTGRES_DATABASE": DATABASE,
        }


def serve(port: int) -> Iterator[PostgresServer]:
    """Body of a fixture: a started server, stopped afterwards whatever happened."""
    server = PostgresServer(port)
    try:
        yield server.start()
    finally:
        server.stop()

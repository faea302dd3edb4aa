"""Shared pieces of the benchmark scripts: sandbox config, measured child processes, git info."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import floor

if TYPE_CHECKING:
    from collections.abc import Sequence

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
FLOOR_SCRIPT = HERE / "floor.py"
MEASURE_SCRIPT = HERE / "measure.py"
START_DATE = "2024-01-01"
START_TIME = 1_704_067_200  # START_DATE as Unix seconds
PER_PAGE = 1000  # the tap's default `per_page`
KIB_PER_MIB = 1024


@dataclass(frozen=True)
class Measured:
    """One child process from start to exit: wall seconds, CPU seconds, peak RSS."""

    seconds: float
    cpu_seconds: float
    max_rss_mib: float
    returncode: int
    stderr: str


def run_measured(
    command: Sequence[str],
    stdout: int | IO[Any] = subprocess.DEVNULL,
    env: dict[str, str] | None = None,
) -> Measured:
    """Run `command` in a fresh child of the small `measure.py`: wall, CPU and peak RSS."""
    with tempfile.TemporaryDirectory() as scratch, tempfile.TemporaryFile() as errors:
        figures_file = Path(scratch) / "figures.json"
        subprocess.run(
            [sys.executable, str(MEASURE_SCRIPT), str(figures_file), *command],
            stdout=stdout,
            stderr=errors,
            stdin=subprocess.DEVNULL,
            env=env,
            check=True,
        )
        figures = json.loads(figures_file.read_text())
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    return Measured(
        seconds=figures["seconds"],
        cpu_seconds=figures["cpu_seconds"],
        max_rss_mib=figures["max_rss_kib"] / KIB_PER_MIB,
        returncode=figures["returncode"],
        stderr=stderr,
    )


def check(measured: Measured, what: str) -> Measured:
    """Stop the benchmark when a child failed, showing the end of its stderr."""
    if measured.returncode != 0:
        tail = "\n".join(measured.stderr.splitlines()[-20:])
        sys.exit(f"{what} exited with {measured.returncode}:\n{tail}")
    return measured


def write_config(sandbox: Any, directory: Path) -> Path:
    """The tap's config for this sandbox (no rate-limit headers: the cap paces)."""
    config = {
        "api_url": sandbox.url,
        "email": sandbox.email,
        "api_token": sandbox.api_token,
        "start_date": START_DATE,
        "max_requests_per_minute": 10_000,  # the most the tap accepts: pages never wait
    }
    path = directory / "config.json"
    path.write_text(json.dumps(config))
    return path


def hold_all_pages(sandbox: Any) -> bool:
    """Let the sandbox's page cache keep every page (it drops the oldest past 64 MiB).

    200,000 tickets make about 500 MB of pages; without this the timed pass would find the
    early pages evicted by the warm-up and the server would build them again (a few ms each).
    The cache is the sandbox's private part: if it moved, say so instead of failing.
    """
    cache = getattr(getattr(sandbox, "_api", None), "cache", None)
    if cache is None or not hasattr(cache, "max_bytes"):
        return False
    cache.max_bytes = 1 << 40
    return True


def warm_up(sandbox: Any, export: str = "tickets") -> int:
    """Fetch every page once, in this process, so the sandbox has encoded them; returns pages."""
    credentials = (sandbox.url, sandbox.email, sandbox.api_token)
    return sum(1 for _ in floor.pages(*credentials, START_TIME, PER_PAGE, export))


def tap_command(config: Path, catalog: Path | None = None) -> list[str]:
    """The tap installed next to this interpreter, as a user runs it.

    Not `python -m`: that puts the working directory first on sys.path, so from the repository
    root it would run the checkout instead of what is installed (or what PYTHONPATH names).
    """
    installed = shutil.which("tap-zendesk-incremental", path=str(Path(sys.executable).parent))
    launcher = [installed] if installed else [sys.executable, "-m", "tap_zendesk_incremental"]
    selection = ["--catalog", str(catalog)] if catalog else []
    return [*launcher, *selection, "--config", str(config)]


def floor_command(sandbox: Any, export: str = "tickets") -> list[str]:
    """The standard-library floor over the same export pages."""
    return [
        sys.executable,
        str(FLOOR_SCRIPT),
        sandbox.url,
        sandbox.email,
        sandbox.api_token,
        str(START_TIME),
        str(PER_PAGE),
        export,
    ]


def floor_counts(measured: Measured) -> tuple[int, int]:
    """`records pages` as the floor prints them on its last stderr line."""
    records, pages = measured.stderr.split()[-2:]
    return int(records), int(pages)


def count_messages(stream: IO[bytes]) -> dict[str, Any]:
    """Singer messages by type, and the RECORD ids: are they unique?"""
    counts: dict[str, int] = {}
    ids: set[Any] = set()
    records = 0
    for line in stream:
        message = json.loads(line)
        kind = message["type"]
        counts[kind] = counts.get(kind, 0) + 1
        if kind == "RECORD":
            records += 1
            ids.add(message["record"].get("id"))
    return {"by_type": counts, "records": records, "unique_ids": len(ids)}


def git_info() -> dict[str, Any]:
    """The commit measured, and whether the tap's files differ from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.rstrip("\n")

    changed = git("status", "--porcelain", "--", "tap_zendesk_incremental", "pyproject.toml")
    return {
        "commit": git("rev-parse", "HEAD"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "subject": git("log", "-1", "--format=%s"),
        "uncommitted": [line[3:] for line in changed.splitlines()],
    }


def environment() -> dict[str, Any]:
    """What the figures depend on besides the commit."""

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "singer_sdk": version("singer-sdk"),
        "msgspec": version("msgspec"),
        "tap": version("tap-zendesk-incremental"),
        "tap_path": _tap_path(),
    }


def _tap_path() -> str | None:
    """Where the tap is imported from: a benchmark of another checkout would be misleading."""
    try:
        import tap_zendesk_incremental  # noqa: PLC0415 - only to locate it

    except ImportError:
        return None
    return str(Path(tap_zendesk_incremental.__file__).resolve().parent)


def timestamp() -> str:
    """UTC, sortable, safe in file names."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())

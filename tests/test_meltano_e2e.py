"""End to end as a data team runs it: a throwaway copy of the project, meltano, target-jsonl.

The tests that build virtualenvs and run meltano are marked `slow`; CI runs them too. The
meltano (and Dagster) virtualenvs are built once and cached under
`~/.cache/tap-zendesk-incremental-tests/` for local runs; with `CI` set they are built fresh.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tap_zendesk_incremental.sandbox import ZendeskSandbox

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
MELTANO_SPEC = "meltano>=4.4.1,<5"
DAGSTER_SPEC = "dagster-meltano>=1.5,<2"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
CACHE = CACHE / "tap-zendesk-incremental-tests"
PROD_STATE_ID = "prod:tap-zendesk-incremental-to-target-jsonl"
SANDBOX_STATE_ID = "sandbox:tap-zendesk-incremental-to-target-jsonl"
EXPORT = "/api/v2/incremental/tickets"
TICKETS = 400
# Whatever the outer shell exports must not leak into the runs under test.
SCRUBBED = ("TAP_ZENDESK_", "TARGET_", "PG", "MELTANO_", "DAGSTER_", "VIRTUAL_ENV")
SCRUBBED_EXACT = ("PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")


def log(message: str) -> None:
    """Timings: shown with `pytest -s`, and in the captured output of a failure."""
    print(f"[e2e] {message}", file=sys.stderr)


def run(
    command: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout: float = 600,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    shown = " ".join(Path(command[0]).name if i == 0 else part for i, part in enumerate(command))
    log(f"{shown[:120]} -> exit {result.returncode} in {time.monotonic() - started:.1f}s")
    assert result.returncode == 0 or not check, (
        f"{command} failed with {result.returncode}\n--- stdout\n{result.stdout[-4000:]}"
        f"\n--- stderr\n{result.stderr[-8000:]}"
    )
    return result


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(SCRUBBED) and key not in SCRUBBED_EXACT
    }
    env.update(MELTANO_SEND_ANONYMOUS_USAGE_STATS="false", NO_COLOR="1", **extra)
    return env


def tool_venv(spec: str, name: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin directory of a virtualenv holding `spec`: cached per spec and Python version,
    under CI built fresh once per test session (every module asking for it shares it)."""
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", spec).strip("-")
    python = f"py{sys.version_info.major}{sys.version_info.minor}"
    cache = tmp_path_factory.getbasetemp() / "venvs" if os.environ.get("CI") else CACHE
    root = cache / f"{slug}-{python}"
    done = root / ".complete"
    if done.exists():
        log(f"reusing {root}")
        return root / "bin"
    shutil.rmtree(root, ignore_errors=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    run([sys.executable, "-m", "venv", str(root)], cwd=ROOT, env=clean_env())
    pip = [str(root / "bin" / "python"), "-m", "pip", "install", "-q"]
    run([*pip, "--disable-pip-version-check", spec], cwd=ROOT, env=clean_env(), timeout=900)
    log(f"built the {name} virtualenv in {time.monotonic() - started:.1f}s")
    done.write_text(spec, encoding="utf-8")
    return root / "bin"


def project_files() -> list[str]:
    """The project's files as a fresh clone has them (plus new files not yet committed)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        pytest.skip("the project is not a git checkout: cannot tell which files are its own")
    return [name for name in listed.stdout.decode().split("\0") if name]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def versions(records: list[dict[str, Any]]) -> dict[int, int]:
    """id -> generated_timestamp (the last one wins)."""
    return {record["id"]: record["generated_timestamp"] for record in records}


def latest_versions(sb: ZendeskSandbox) -> dict[int, int]:
    return {ticket_id: ticket["generated_timestamp"] for ticket_id, ticket in sb.tickets.items()}


# Fixtures: one meltano virtualenv, one project copy with its plugins installed


@pytest.fixture(scope="module")
def meltano_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tool_venv(MELTANO_SPEC, "meltano", tmp_path_factory)


def copy_project(tmp_path_factory: pytest.TempPathFactory, meltano_bin: Path) -> Path:
    """A throwaway copy of the project with its meltano plugins installed."""
    copy = tmp_path_factory.mktemp("project") / "tap-zendesk-incremental"
    for name in project_files():
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    run([str(meltano_bin / "meltano"), "install"], cwd=copy, env=clean_env(), timeout=900)
    return copy


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, meltano_bin: Path) -> Path:
    return copy_project(tmp_path_factory, meltano_bin)


@pytest.fixture
def sb() -> Iterator[ZendeskSandbox]:
    with ZendeskSandbox(tickets=TICKETS, seed=4, port=0) as sandbox:
        yield sandbox


class Meltano:
    """`meltano ...` in the project copy, settings only from TAP_ZENDESK_INCREMENTAL_* vars."""

    def __init__(self, project: Path, bin_dir: Path, env: dict[str, str]) -> None:
        self.project, self.bin_dir, self.env = project, bin_dir, env

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run([str(self.bin_dir / "meltano"), *args], cwd=self.project, env=self.env)

    def state(self, state_id: str = PROD_STATE_ID) -> dict[str, Any]:
        return json.loads(self("state", "get", state_id).stdout)


def tap_env(sb: ZendeskSandbox, meltano_bin: Path, destination: str) -> dict[str, str]:
    return clean_env(
        PATH=f"{meltano_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        TAP_ZENDESK_INCREMENTAL_API_URL=sb.url,
        TAP_ZENDESK_INCREMENTAL_EMAIL=sb.email,
        TAP_ZENDESK_INCREMENTAL_API_TOKEN=sb.api_token,
        TAP_ZENDESK_INCREMENTAL_START_DATE="2000-01-01",
        TAP_ZENDESK_INCREMENTAL_PER_PAGE="100",
        TAP_ZENDESK_INCREMENTAL_MAX_RETRY_SECONDS="30",
        TARGET_JSONL_DESTINATION_PATH=destination,
    )


def export_start_times(sb: ZendeskSandbox, since: int = 0) -> list[int]:
    """`start_time` of each time-based export request the sandbox served, from index `since`."""
    return [
        int(request.params["start_time"])
        for request in list(sb.requests)[since:]
        if request.path.removesuffix(".json") == EXPORT and "start_time" in request.params
    ]


def readme_dagster_definitions(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's Dagster definitions saved as `orchestrate/definitions.py` in the project;
    returns a fresh DAGSTER_HOME (telemetry off)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(
        r"<!-- dagster-definitions:start -->\n```python\n(.*?)```\n<!-- dagster-definitions:end",
        readme,
        re.DOTALL,
    )
    assert block, "README.md has no dagster-definitions block"
    definitions = project / "orchestrate" / "definitions.py"
    definitions.parent.mkdir(exist_ok=True)
    definitions.write_text(block.group(1), encoding="utf-8")
    home = tmp_path_factory.mktemp("dagster-home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    return home


# The tests


@pytest.mark.slow
def test_two_meltano_runs_export_everything_then_only_what_changed(
    project: Path, meltano_bin: Path, sb: ZendeskSandbox
) -> None:
    meltano = Meltano(project, meltano_bin, tap_env(sb, meltano_bin, "out-env-vars"))
    output = project / "out-env-vars" / "tickets.jsonl"
    meltano("state", "clear", "--force", PROD_STATE_ID)

    # No --environment: the default `prod` one, whose settings all come from env vars.
    meltano("run", "tap-zendesk-incremental", "target-jsonl")
    first = read_jsonl(output)
    assert versions(first) == latest_versions(sb)
    assert len(first) == len(sb.tickets)  # each ticket exactly once
    # meltano.yml selects `tickets` only: the sideload streams stay opt-in.
    assert [path.name for path in output.parent.iterdir()] == ["tickets.jsonl"]
    assert not any("include" in request.params for request in sb.requests)

    bookmark = meltano.state()["singer_state"]["bookmarks"]["tickets"]
    assert bookmark["replication_key"] == "end_time"
    assert bookmark["replication_key_value"] == max(latest_versions(sb).values())
    assert bookmark["replication_key_value"] == max(record["end_time"] for record in first)

    changed = sorted(sb.tickets)[7::50]
    sb.touch(changed)
    served_before = len(sb.requests)
    meltano("run", "tap-zendesk-incremental", "target-jsonl")

    # The second run asked for pages from the stored bookmark on, and got what changed.
    start_times = export_start_times(sb, served_before)
    assert start_times, "the second run sent no export request"
    assert start_times[0] == bookmark["replication_key_value"]
    second = read_jsonl(output)[len(first) :]
    appended = versions(second)
    for ticket_id in changed:
        assert appended[ticket_id] == sb.tickets[ticket_id]["generated_timestamp"]
        assert appended[ticket_id] > versions(first)[ticket_id]
    # Besides the changed tickets, only tickets of the bookmark's own second may come again.
    again = set(appended) - set(changed)
    assert all(versions(first)[i] == bookmark["replication_key_value"] for i in again), again
    assert versions(first + second) == latest_versions(sb)

    later = meltano.state()["singer_state"]["bookmarks"]["tickets"]
    assert later["replication_key"] == "end_time"
    assert later["replication_key_value"] == max(latest_versions(sb).values())
    # With written_ids, even the bookmark's second is not written again: each version once.
    assert not again


@pytest.mark.slow
def test_meltano_config_list_masks_the_secrets(
    project: Path, meltano_bin: Path, sb: ZendeskSandbox
) -> None:
    env = tap_env(sb, meltano_bin, "out-config")
    env["TAP_ZENDESK_INCREMENTAL_ACCESS_TOKEN"] = "oauth-secret-4c1d"
    listed = Meltano(project, meltano_bin, env)("config", "list", "tap-zendesk-incremental")
    output = listed.stdout + listed.stderr
    assert "api_token" in output
    assert "access_token" in output
    assert sb.api_token not in output
    assert "oauth-secret-4c1d" not in output


@pytest.mark.slow
def test_the_readme_sandbox_command_runs_the_job_in_the_sandbox_environment(
    project: Path, meltano_bin: Path
) -> None:
    """The README's last step: the sandbox CLI serving while `meltano --environment=sandbox
    run zendesk-to-jsonl` runs. Only the port differs (a free one, not 8675), so `api_url` is
    the one setting overridden; credentials and start_date come from meltano.yml."""
    port = free_port()
    env = clean_env(
        TAP_ZENDESK_INCREMENTAL_API_URL=f"http://127.0.0.1:{port}",
        TARGET_JSONL_DESTINATION_PATH="out-sandbox-env",
    )
    meltano = [str(meltano_bin / "meltano"), "--environment=sandbox"]
    sandbox = [sys.executable, "-m", "tap_zendesk_incremental.sandbox", "--port", str(port)]
    run([*meltano, "state", "clear", "--force", SANDBOX_STATE_ID], cwd=project, env=env)
    result = run(
        [*sandbox, "--tickets", "300", "--", *meltano, "run", "zendesk-to-jsonl"],
        cwd=project,
        env=env,
    )
    assert f"Zendesk sandbox at http://127.0.0.1:{port}" in result.stdout
    records = read_jsonl(project / "out-sandbox-env" / "tickets.jsonl")
    assert len({record["id"] for record in records}) == len(records) == 300
    state = json.loads(
        run([*meltano, "state", "get", SANDBOX_STATE_ID], cwd=project, env=env).stdout
    )
    bookmark = state["singer_state"]["bookmarks"]["tickets"]
    assert bookmark["replication_key_value"] == max(r["end_time"] for r in records)


@pytest.mark.slow
def test_the_readme_dagster_definitions_run_the_meltano_job(
    project: Path, meltano_bin: Path, sb: ZendeskSandbox, tmp_path_factory: pytest.TempPathFactory
) -> None:
    dagster_bin = tool_venv(DAGSTER_SPEC, "dagster", tmp_path_factory)
    env = tap_env(sb, meltano_bin, "out-dagster")
    env["DAGSTER_HOME"] = str(readme_dagster_definitions(project, tmp_path_factory))
    Meltano(project, meltano_bin, env)("state", "clear", "--force", PROD_STATE_ID)
    dagster = [str(dagster_bin / "dagster"), "job", "execute"]
    run(
        [*dagster, "-f", "orchestrate/definitions.py", "-j", "zendesk_to_jsonl"],
        cwd=project,
        env=env,
    )
    records = read_jsonl(project / "out-dagster" / "tickets.jsonl")
    assert versions(records) == latest_versions(sb)
    assert len(records) == len(sb.tickets)


def test_the_sandbox_cli_serves_while_a_command_runs_and_returns_its_exit_code() -> None:
    port = free_port()
    probe = (
        "import sys, urllib.request\n"
        f"request = urllib.request.Request('http://127.0.0.1:{port}{EXPORT}?start_time=0')\n"
        "request.add_header('Authorization', 'Bearer sandbox-oauth-token')\n"
        "page = urllib.request.urlopen(request, timeout=30).read()\n"
        "sys.exit(7 if b'end_of_stream' in page else 1)\n"
    )
    sandbox = [sys.executable, "-m", "tap_zendesk_incremental.sandbox", "--port", str(port)]
    result = subprocess.run(
        [*sandbox, "--tickets", "20", "--", sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 7, result.stderr
    with socket.socket() as after:  # and nothing listens there any more: the sandbox stopped
        after.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        after.bind(("127.0.0.1", port))


@pytest.mark.slow
def test_a_failing_meltano_run_shows_the_tap_error_line_at_error_level(
    project: Path, meltano_bin: Path, sb: ZendeskSandbox
) -> None:
    env = tap_env(sb, meltano_bin, "out-wrong-token")
    env["TAP_ZENDESK_INCREMENTAL_API_TOKEN"] = "wrong-token"
    command = [str(meltano_bin / "meltano"), "run", "tap-zendesk-incremental", "target-jsonl"]
    result = run(command, cwd=project, env=env, check=False)
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).splitlines()
    tap_error = [line for line in lines if "Zendesk answered 401 Unauthorized" in line]
    assert tap_error, result.stderr[-4000:]
    # structured-logging: Meltano renders the tap's own level, not `[info]` for every line.
    assert all("[error" in line for line in tap_error), tap_error
    assert "wrong-token" not in result.stdout + result.stderr

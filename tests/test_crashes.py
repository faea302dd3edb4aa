"""Crashes: `kill -9` at any moment, SIGTERM or SIGINT mid-page. The last STATE on stdout never
covers a ticket that was not written before it, and a run from it completes the export.

Each scenario runs the installed command with stdout read as it comes, stops it at a moment
told by what the sandbox served or what stdout showed, then resumes from the last complete STATE
line. The sandbox answers every page after a short delay (its "timeout" fault, far below the
tap's `request_timeout`), so an export of 3,000 tickets takes a few seconds and a stop lands
mid-export. Scenarios are independent (a sandbox each, same tickets), so a module fixture runs
them all at once; every wait is bounded.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest
from helpers import TAP, Run, config_for, parse_lines, run_cli

from tap_zendesk_incremental.sandbox import Faults, ZendeskSandbox

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

TICKETS = 3000
SEED = 13
PER_PAGE = 100
WAIT = 30.0  # seconds any one wait may take before the test fails instead of hanging


def slow(seconds: float) -> Faults:
    """Every export request answered after `seconds`, as by a busy Zendesk."""
    return Faults(fail_rate=1.0, fail_kinds=("timeout",), timeout_seconds=seconds)


class LiveTap:
    """The tap as a command, its stdout read line by line while it runs.

    With `read=False` nobody reads until the stop: the pipe fills and the tap blocks writing,
    as behind a target slower than the tap.
    """

    def __init__(
        self,
        config: dict[str, Any],
        folder: Path,
        *,
        read: bool = True,
        args: tuple[str, ...] = (),
    ) -> None:
        config_file = folder / "config.json"
        config_file.write_text(json.dumps(config))
        self.stderr_file = folder / "stderr.txt"
        command = [*TAP, "--config", str(config_file), *args]
        with self.stderr_file.open("wb") as stderr:  # a file: a full pipe would stall the tap
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr)
        self.lines: list[bytes] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        if read:
            self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_until(self, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError("the tap ended before the moment to stop it came")
            if time.monotonic() > deadline:
                raise AssertionError("the moment to stop the tap never came")
            time.sleep(0.002)

    def stop(self, signum: int) -> int | None:
        """Send `signum`; the exit code, or None if the tap did not exit in time."""
        self.process.send_signal(signum)
        if not self.reader.ident:  # not started yet
            self.reader.start()
        try:
            code = self.process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=WAIT)
            code = None
        self.reader.join(timeout=WAIT)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return code

    def messages(self) -> list[dict[str, Any]]:
        """The complete lines written (a line cut by the stop is not a message)."""
        text = b"".join(self.lines).decode("utf-8", errors="replace")
        return parse_lines(text[: text.rfind("\n") + 1])

    @property
    def stderr(self) -> str:
        return self.stderr_file.read_text(errors="replace")


@dataclass
class Moment:
    """When to send which signal, and how slowly the sandbox answers meanwhile."""

    signum: int
    when: Callable[[ZendeskSandbox], bool]
    delay: float = 0.0  # seconds after `when` holds
    latency: float = 0.05  # seconds the sandbox takes for each page
    per_page: int = PER_PAGE
    read: bool = True  # False: stdout is not read until the stop, the tap blocks writing
    crowd: int = 0  # tickets on one second, served by a server that stalls on it (cursor)


@dataclass
class Outcome:
    stopped: list[dict[str, Any]]  # what the stopped run wrote, complete lines only
    exit_code: int | None
    stderr: str
    resumed: Run
    tickets: dict[int, int] = field(default_factory=dict)  # id -> latest generated_timestamp


def served(pages: int, *, by_cursor: bool = False) -> Callable[[ZendeskSandbox], bool]:
    """True once the sandbox has sent `pages` pages (it logs each just before sending it)."""
    return lambda sb: (
        sum(1 for r in sb.requests if r.status == 200 and (not by_cursor or "cursor" in r.path))
        >= pages
    )


KILLS = {
    # Page 1 served: the tap is reading it, perhaps before any bookmark.
    "kill-9-on-the-first-page": Moment(signal.SIGKILL, served(1)),
    "kill-9-mid-export": Moment(signal.SIGKILL, served(12), delay=0.02),
    "kill-9-near-the-end": Moment(signal.SIGKILL, served(25), delay=0.04),
}
# After a page of 100 is served the tap takes a few hundredths of a second to write it, then
# asks for the next, which the sandbox holds for 0.3 s: 0.15 s later it is waiting for that page.
# A page of 1,000 takes it a few tenths of a second to write: 0.1 s after it is served, the
# tap is writing it.
INTERRUPTS = {
    "sigterm-waiting-for-a-page": Moment(signal.SIGTERM, served(5), 0.15, latency=0.3),
    "sigint-waiting-for-a-page": Moment(signal.SIGINT, served(5), 0.15, latency=0.3),
    "sigterm-writing-a-page": Moment(signal.SIGTERM, served(2), 0.1, latency=0.3, per_page=1000),
    # 64 KiB of pipe hold a few dozen records: 0.5 s after the first page the tap is blocked.
    "sigterm-blocked-writing-to-a-full-pipe": Moment(
        signal.SIGTERM, served(1), 0.5, per_page=1000, read=False
    ),
    # At moments spread over the writing of a page: between a RECORD and its STATE entry.
    **{
        f"sigterm-writing-a-page-after-{delay}s": Moment(
            signal.SIGTERM, served(2), delay, latency=0.3, per_page=1000
        )
        for delay in (0.03, 0.07, 0.13, 0.2)
    },
    # Inside a crowded second, read through the cursor export.
    "sigterm-inside-a-crowded-second": Moment(
        signal.SIGTERM, served(2, by_cursor=True), 0.1, latency=0.3, per_page=1000, crowd=4000
    ),
}
SCENARIOS = KILLS | INTERRUPTS


def last_state(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    return states[-1] if states else None


def records_before_last_state(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last = max((i for i, m in enumerate(messages) if m["type"] == "STATE"), default=-1)
    return [
        m["record"] for m in messages[:last] if m["type"] == "RECORD" and m["stream"] == "tickets"
    ]


def tickets_bookmark(state: dict[str, Any] | None) -> dict[str, Any]:
    return ((state or {}).get("bookmarks") or {}).get("tickets") or {}


def latest(records: list[dict[str, Any]]) -> dict[int, int]:
    versions: dict[int, int] = {}
    for record in records:
        second = record["generated_timestamp"]
        versions[record["id"]] = max(second, versions.get(record["id"], second))
    return versions


def stop_and_resume(moment: Moment, folder: Path) -> Outcome:
    with ZendeskSandbox(tickets=TICKETS, seed=SEED, port=0, same_second_tickets=moment.crowd) as sb:
        sb.faults = slow(moment.latency)
        sb.faults.same_second = "stall"
        config = config_for(sb, per_page=moment.per_page)
        tap = LiveTap(config, folder, read=moment.read)
        try:
            tap.wait_until(lambda: moment.when(sb))
            time.sleep(moment.delay)
            code = tap.stop(moment.signum)
        finally:
            if tap.process.poll() is None:
                tap.process.kill()
                tap.process.wait(timeout=WAIT)
        stopped = tap.messages()
        sb.faults = Faults(same_second="stall")
        resume_folder = folder / "resume"
        resume_folder.mkdir()
        resumed = run_cli(config, resume_folder, state=last_state(stopped), timeout=60)
        tickets = {i: t["generated_timestamp"] for i, t in sb.tickets.items()}
        return Outcome(stopped, code, tap.stderr, resumed, tickets)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every scenario of this module, run at once."""
    with ThreadPoolExecutor(max_workers=len(SCENARIOS)) as pool:
        futures = {
            name: pool.submit(partial(stop_and_resume, moment, tmp_path_factory.mktemp(name)))
            for name, moment in SCENARIOS.items()
        }
        return {name: future.result(timeout=120) for name, future in futures.items()}


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_stop_came_mid_export(name, outcomes):
    # Otherwise the tests below would prove nothing: the stopped run must have missed tickets.
    outcome = outcomes[name]
    assert len(latest(records_before_last_state(outcome.stopped))) < len(outcome.tickets)


@pytest.mark.parametrize("name", KILLS)
def test_kill_9_ends_the_run_at_once(name, outcomes):
    assert outcomes[name].exit_code == -signal.SIGKILL


@pytest.mark.parametrize("name", INTERRUPTS)
def test_sigterm_and_sigint_end_the_run_without_a_traceback(name, outcomes):
    outcome = outcomes[name]
    assert outcome.exit_code is not None, "the tap did not exit"
    assert "Traceback" not in outcome.stderr


@pytest.mark.parametrize("name", INTERRUPTS)
def test_a_stopped_export_does_not_exit_as_a_success(name, outcomes):
    # As a shell reports a signal: 143 after SIGTERM, 130 after SIGINT; a scheduler retries.
    assert outcomes[name].exit_code == 128 + SCENARIOS[name].signum


@pytest.mark.parametrize("name", INTERRUPTS)
def test_a_state_is_written_on_the_way_out(name, outcomes):
    stopped = outcomes[name].stopped
    assert stopped
    assert stopped[-1]["type"] == "STATE"
    assert tickets_bookmark(stopped[-1]["value"]).get("replication_key_value") is not None


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_last_state_covers_only_records_written_before_it(name, outcomes):
    outcome = outcomes[name]
    bookmark = tickets_bookmark(last_state(outcome.stopped))
    position = bookmark.get("replication_key_value")
    written = set(latest(records_before_last_state(outcome.stopped)))
    if position is not None:
        older = {i for i, second in outcome.tickets.items() if second < position}
        assert not older - written, "the STATE covers tickets that were never written"
    named = set((bookmark.get("written_ids") or {}).get("ids", ()))
    assert not named - written, "the STATE names tickets as written that were not"


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_run_from_the_last_state_completes_the_export(name, outcomes):
    outcome = outcomes[name]
    assert outcome.resumed.exit_code == 0, outcome.resumed.stderr[-2000:]
    before = records_before_last_state(outcome.stopped)
    assert latest(before + outcome.resumed.records()) == outcome.tickets


@pytest.mark.parametrize("name", INTERRUPTS)
def test_a_run_after_sigterm_or_sigint_repeats_no_ticket_version(name, outcomes):
    # The STATE written on the way out names every ticket written, even mid-page.
    outcome = outcomes[name]
    before = {
        (r["id"], r["generated_timestamp"]) for r in records_before_last_state(outcome.stopped)
    }
    again = {(r["id"], r["generated_timestamp"]) for r in outcome.resumed.records()}
    assert not before & again


def test_a_stop_inside_a_crowded_second_leaves_its_cursor_in_the_state(outcomes):
    stopped = outcomes["sigterm-inside-a-crowded-second"].stopped
    assert tickets_bookmark(last_state(stopped))["written_ids"].get("cursor")

"""Bad input, through the real command: a non-zero exit, one ERROR line naming the problem and
the fix, no traceback, no request where none should be made, and nothing lost mid-export.

Every case is a run of the installed command (`run_cli`). The runs are independent (each case
has a sandbox of its own), so a module fixture starts them all at once and the tests read the
outcomes: one interpreter start costs a second or two, and there are eighteen runs.
"""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest
from helpers import Run, config_for, error_lines, run_cli

from tap_zendesk_incremental.sandbox import ZendeskSandbox

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tap_zendesk_incremental.sandbox import RequestRecord

EXPORT = "/api/v2/incremental/tickets"
PAGES_BEFORE_FAILURE = 3


class Tripwire:
    """A loopback port posing as every HTTP(S) proxy: a request the tap makes reaches it.

    Nothing accepts, so a connection waits in the backlog (and the tap times out): whether one
    was made is read from the backlog after the run.
    """

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0), backlog=16)
        proxy = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.env = {name: proxy for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")}
        self.env |= {name.lower(): proxy for name in self.env}
        self.env |= {"NO_PROXY": "", "no_proxy": ""}

    def tripped(self) -> bool:
        self.socket.setblocking(False)
        try:
            connection, _ = self.socket.accept()
        except BlockingIOError:
            return False
        connection.close()
        return True

    def close(self) -> None:
        self.socket.close()


@dataclass
class Case:
    """One bad input: the settings (or a sandbox fault) and the words its ERROR line must hold."""

    words: tuple[str, ...]  # the problem and the fix, case-insensitive
    config: dict[str, Any] | None = None  # settings without a sandbox, behind the tripwire
    sandbox: Callable[[ZendeskSandbox], dict[str, Any]] | None = None  # faults in, config out
    fails_mid_export: bool = False


@dataclass
class Outcome:
    run: Run
    requests: list[RequestRecord] = field(default_factory=list)  # export requests served
    tickets: dict[int, int] = field(default_factory=dict)  # id -> latest generated_timestamp
    tripped: bool = False


SETTINGS = {
    "subdomain": "acme",
    "email": "admin@acme.example",
    "api_token": "a-token-that-is-never-checked",
    "start_date": "2024-01-01",
    "max_retry_seconds": 0,
    "request_timeout": 1,
}


def settings(**changes: Any) -> dict[str, Any]:
    """A config the tap accepts, but for `changes` (None removes a setting)."""
    merged = {**SETTINGS, **changes}
    return {name: value for name, value in merged.items() if value is not None}


def wrong_api_token(sb: ZendeskSandbox) -> dict[str, Any]:
    return config_for(sb, api_token="not-the-token")


def forbidden(sb: ZendeskSandbox) -> dict[str, Any]:
    sb.faults.forbidden = True
    return config_for(sb)


def unknown_subdomain(sb: ZendeskSandbox) -> dict[str, Any]:
    sb.faults.unknown_subdomain = True
    return config_for(sb)


def bad_request_json(sb: ZendeskSandbox) -> dict[str, Any]:
    sb.fail_next("400json")
    return config_for(sb)


def html_200_until_retries_are_spent(sb: ZendeskSandbox) -> dict[str, Any]:
    sb.fail_next("html200", 1000)
    return config_for(sb, max_retry_seconds=2)


def after_pages(sb: ZendeskSandbox, fail: Callable[[], None]) -> None:
    """Call `fail` once the sandbox has served the first few pages.

    The sandbox's budget of PAGES_BEFORE_FAILURE requests per 3 s window makes the tap wait
    about 3 s after them: time enough to switch the fault on before the next request.
    """
    sb.faults.rate_limit, sb.faults.rate_window = PAGES_BEFORE_FAILURE, 3.0

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(export_requests(sb)) >= PAGES_BEFORE_FAILURE:
                fail()
                return
            time.sleep(0.005)

    threading.Thread(target=watch, daemon=True).start()


def server_errors_after_three_pages(sb: ZendeskSandbox) -> dict[str, Any]:
    after_pages(sb, lambda: sb.fail_next("500", 1000))
    return config_for(sb, per_page=100, max_retry_seconds=2)


def forbidden_after_three_pages(sb: ZendeskSandbox) -> dict[str, Any]:
    after_pages(sb, lambda: setattr(sb.faults, "forbidden", True))
    return config_for(sb, per_page=100)


CONFIG_CASES = {
    "no-subdomain": Case(("subdomain", "missing", "acme"), settings(subdomain=None)),
    "host-as-subdomain": Case(
        ("subdomain", "acme.zendesk.com", "`acme`"), settings(subdomain="acme.zendesk.com")
    ),
    "url-path-as-subdomain": Case(
        ("subdomain", "evil.com/x", "`acme`"), settings(subdomain="evil.com/x")
    ),
    "both-auth-methods": Case(
        ("both", "api_token", "access_token", "exactly one"), settings(access_token="oauth")
    ),
    "no-auth-method": Case(
        ("no credentials", "email", "api_token", "access_token"),
        settings(email=None, api_token=None),
    ),
    "bad-start-date": Case(
        ("start_date", "01/02/2024", "2024-01-01"), settings(start_date="01/02/2024")
    ),
    "per-page-0": Case(("per_page", " 0", "1 to 1000"), settings(per_page=0)),
    "per-page-5000": Case(("per_page", " 5000", "1 to 1000"), settings(per_page=5000)),
    "http-to-a-remote-api-url": Case(
        ("api_url", "http", "zendesk.example.com", "use https"),
        settings(subdomain=None, api_url="http://zendesk.example.com"),
    ),
}
HTTP_CASES = {
    "401-wrong-api-token": Case(("401", "api_token"), sandbox=wrong_api_token),
    "403-not-an-admin": Case(("403", "admin"), sandbox=forbidden),
    "404-plain-text-wrong-subdomain": Case(("404", "subdomain"), sandbox=unknown_subdomain),
    "400-with-zendesk-error-json": Case(
        ("400", "InvalidValue", "Invalid start_time"), sandbox=bad_request_json
    ),
    "html-200-after-retries": Case(
        ("200", "html", "retrying", "resume"), sandbox=html_200_until_retries_are_spent
    ),
    "5xx-mid-export-after-retries": Case(
        ("500", "retrying", "resume"),
        sandbox=server_errors_after_three_pages,
        fails_mid_export=True,
    ),
    "403-mid-export": Case(
        ("403", "admin"), sandbox=forbidden_after_three_pages, fails_mid_export=True
    ),
}
CASES = CONFIG_CASES | HTTP_CASES
MID_EXPORT = [name for name, case in CASES.items() if case.fails_mid_export]
# Runs outside CASES: the tripwire's own check, and a valid config with fractional seconds.
REACHES_NETWORK = settings(subdomain=None, api_url="https://zendesk.example.com")
FRACTIONAL_SECONDS = "fractional-seconds"


def export_requests(sb: ZendeskSandbox) -> list[RequestRecord]:
    return [r for r in sb.requests if r.path.startswith(EXPORT)]


def run_against_sandbox(
    setup: Callable[[ZendeskSandbox], dict[str, Any]], tmp_path: Path
) -> Outcome:
    with ZendeskSandbox(tickets=600, seed=9, port=0) as sb:
        run = run_cli(setup(sb), tmp_path, timeout=60)
        tickets = {i: t["generated_timestamp"] for i, t in sb.tickets.items()}
        return Outcome(run, export_requests(sb), tickets)


def run_behind_tripwire(config: dict[str, Any], tmp_path: Path) -> Outcome:
    tripwire = Tripwire()
    try:
        run = run_cli(config, tmp_path, env=tripwire.env, timeout=60)
        return Outcome(run, tripped=tripwire.tripped())
    finally:
        tripwire.close()


def fractional_seconds(sb: ZendeskSandbox) -> dict[str, Any]:
    return config_for(sb, max_retry_seconds=2.5, request_timeout=2.5)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every run of this module, run at once."""
    jobs: dict[str, Callable[[], Outcome]] = {}
    for name, case in CASES.items():
        folder = tmp_path_factory.mktemp(name)
        if case.sandbox is not None:
            jobs[name] = partial(run_against_sandbox, case.sandbox, folder)
        else:
            jobs[name] = partial(run_behind_tripwire, case.config, folder)
    jobs["network"] = partial(
        run_behind_tripwire, REACHES_NETWORK, tmp_path_factory.mktemp("network")
    )
    jobs[FRACTIONAL_SECONDS] = partial(
        run_against_sandbox, fractional_seconds, tmp_path_factory.mktemp(FRACTIONAL_SECONDS)
    )
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        return {name: future.result(timeout=120) for name, future in futures.items()}


@pytest.mark.parametrize("name", CASES)
def test_bad_input_exits_non_zero(name, outcomes):
    assert outcomes[name].run.exit_code != 0


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_reported_in_exactly_one_error_line(name, outcomes):
    assert len(error_lines(outcomes[name].run.stderr)) == 1, outcomes[name].run.stderr


@pytest.mark.parametrize("name", CASES)
def test_the_error_line_names_the_problem_and_the_fix(name, outcomes):
    lines = error_lines(outcomes[name].run.stderr)
    assert lines, outcomes[name].run.stderr
    message = lines[-1].split(" | ", 3)[-1].lower()  # not the timestamp and logger name
    missing = [word for word in CASES[name].words if word.lower() not in message]
    assert not missing, lines[-1]


@pytest.mark.parametrize("name", CASES)
def test_bad_input_gives_no_traceback(name, outcomes):
    assert "Traceback" not in outcomes[name].run.stderr


@pytest.mark.parametrize("name", CONFIG_CASES)
def test_bad_settings_are_refused_before_any_request(name, outcomes):
    assert not outcomes[name].tripped


def test_the_tripwire_sees_a_request_that_is_made(outcomes):
    # Without this, "no request reached the tripwire" could mean the tripwire is blind.
    assert outcomes["network"].tripped


def test_http_to_a_remote_api_url_sends_nothing(outcomes):
    outcome = outcomes["http-to-a-remote-api-url"]
    assert not outcome.tripped
    assert not outcome.run.messages  # not even a SCHEMA: it stopped at the settings


def test_wrong_credentials_are_not_retried(outcomes):
    served = outcomes["401-wrong-api-token"].requests
    assert [r.status for r in served] == [401]


@pytest.mark.parametrize("name", MID_EXPORT)
def test_a_failure_mid_export_writes_every_record_of_the_pages_before_it(name, outcomes):
    outcome = outcomes[name]
    served = [r for r in outcome.requests if r.status == 200]
    assert len(served) == PAGES_BEFORE_FAILURE
    records = outcome.run.records()
    assert len(records) >= 100  # at least one page of 100 (another may be a crowded second)
    before = {i for i, second in outcome.tickets.items() if second < outcome.run.bookmark}
    assert before <= {r["id"] for r in records}


@pytest.mark.parametrize("name", MID_EXPORT)
def test_a_failure_mid_export_leaves_a_state_at_the_last_record_written(name, outcomes):
    run = outcomes[name].run
    assert run.messages[-1]["type"] == "STATE"  # nothing written after it
    assert run.bookmark == run.records()[-1]["end_time"]


@pytest.mark.parametrize("name", MID_EXPORT)
def test_a_failure_mid_export_leaves_a_state_that_covers_only_records_written(name, outcomes):
    run, tickets = outcomes[name].run, outcomes[name].tickets
    written = {r["id"] for r in run.records()}
    assert {i for i, second in tickets.items() if second < run.bookmark} <= written
    named = run.state["bookmarks"]["tickets"].get("written_ids", {}).get("ids", [])
    assert set(named) <= written


def test_fractional_seconds_in_the_config_file_are_accepted(outcomes):
    run = outcomes[FRACTIONAL_SECONDS].run
    assert run.exit_code == 0, error_lines(run.stderr)


def test_an_unreachable_api_url_gives_up_with_one_line_naming_the_host(tmp_path):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = {
        "api_url": f"http://127.0.0.1:{port}",
        "email": "a@example.com",
        "api_token": "t0ken",
        "start_date": "2024-01-01",
        "max_retry_seconds": 1,
    }
    run = run_cli(config, tmp_path)
    assert run.exit_code == 1
    errors = error_lines(run.stderr)
    assert len(errors) == 1
    assert f"Gave up after retrying: cannot connect to Zendesk at 127.0.0.1:{port}" in errors[0]
    assert "`api_url`" in errors[0]
    assert "Traceback" not in run.stderr

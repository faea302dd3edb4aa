"""Proxies and links that misbehave: echoed credentials, trickling bodies, Retry-After: 0,
redirects elsewhere and in circles. Each is the installed command against the sandbox.

What a user must see: the secret never, a run that ends in bounded time, and one ERROR line
that names what happened.
"""

from __future__ import annotations

import base64
import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
from helpers import Run, config_for, error_lines, run_cli
from test_secrets import debug_env

from tap_zendesk_incremental.sandbox import Faults, ZendeskSandbox

if TYPE_CHECKING:
    from pathlib import Path

API_TOKEN = "sEcReT-echoed-9a8b7c"
ACCESS_TOKEN = "sEcReT-echoed-bearer-6d5e4f"
EMAIL = "echo-admin@example.com"
BASIC = base64.b64encode(f"{EMAIL}/token:{API_TOKEN}".encode()).decode()
SECRETS = (
    API_TOKEN,
    ACCESS_TOKEN,
    BASIC,
    f"{EMAIL}/token:{API_TOKEN}",
    base64.b64encode(API_TOKEN.encode()).decode().rstrip("="),  # the echo quotes these too
    base64.b64encode(ACCESS_TOKEN.encode()).decode().rstrip("="),
)


def echo_run(tmp_path: Path, status: int, auth: str) -> Run:
    faults = Faults(proxy="echo", echo_status=status)
    with ZendeskSandbox(
        tickets=50, email=EMAIL, api_token=API_TOKEN, access_token=ACCESS_TOKEN, faults=faults
    ) as sb:
        credentials: dict[str, Any] = (
            {"email": None, "api_token": None, "access_token": ACCESS_TOKEN}
            if auth == "bearer"
            else {}
        )
        config = config_for(sb, max_retry_seconds=3, **credentials)
        return run_cli(config, tmp_path, env=debug_env(tmp_path), timeout=60)


ECHOES = [(status, auth) for status in (400, 401, 502) for auth in ("basic", "bearer")]


@pytest.fixture(scope="module")
def echoed(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, str], Run]:
    folders = {case: tmp_path_factory.mktemp(f"echo{case[0]}{case[1]}") for case in ECHOES}
    with ThreadPoolExecutor(3) as pool:
        runs = pool.map(lambda case: echo_run(folders[case], *case), ECHOES)
        return dict(zip(ECHOES, runs, strict=True))


@pytest.mark.parametrize("case", ECHOES, ids=[f"{s}-{a}" for s, a in ECHOES])
def test_a_credential_echoed_by_a_proxy_never_reaches_any_output(echoed, case):
    run = echoed[case]
    output = run.stdout + run.stderr
    assert "DEBUG" in run.stderr  # every level was on
    assert [secret for secret in SECRETS if secret in output] == []


@pytest.mark.parametrize("case", ECHOES, ids=[f"{s}-{a}" for s, a in ECHOES])
def test_an_echoing_proxy_ends_the_run_with_one_error_naming_the_status(echoed, case):
    run = echoed[case]
    assert run.exit_code == 1
    errors = error_lines(run.stderr)
    assert len(errors) == 1
    assert str(case[0]) in errors[0]
    assert "***" in errors[0]  # the proxy's words are quoted, the credential masked


@pytest.mark.parametrize("case", ECHOES, ids=[f"{s}-{a}" for s, a in ECHOES])
def test_line_breaks_in_the_proxy_text_forge_no_log_line(echoed, case):
    run = echoed[case]
    assert not any(line.startswith("2026-01-01") for line in run.stderr.splitlines())
    assert "\x1b" not in run.stderr


def test_retry_warnings_quote_the_proxy_masked(echoed):
    run = echoed[(502, "basic")]
    retries = [line for line in run.stderr.splitlines() if "Retrying" in line]
    assert retries
    assert all("Authorization: ***" in line for line in retries)


@pytest.mark.parametrize(
    ("trickle", "timeout"),
    [(0.05, 1), (2.5, 1)],
    ids=["steady-trickle", "stall-mid-body"],
)
def test_a_body_that_does_not_arrive_in_time_ends_the_run_in_bounded_time(
    tmp_path, trickle, timeout
):
    with ZendeskSandbox(tickets=300, faults=Faults(trickle_seconds=trickle)) as sb:
        config = config_for(sb, per_page=200, request_timeout=timeout, max_retry_seconds=3)
        started = time.monotonic()
        run = run_cli(config, tmp_path, timeout=90)
        took = time.monotonic() - started
    assert run.exit_code == 1
    errors = error_lines(run.stderr)
    assert len(errors) == 1
    assert "within `request_timeout` while reading the body" in errors[0]
    assert took < 30


def test_a_retry_after_of_0_is_not_a_request_storm(tmp_path):
    # Three requests per 3 s window, no budget header, "Retry-After: 0" on each 429.
    faults = Faults(rate_limit=3, rate_window=3, rate_headers="none", retry_after_value="0")
    with ZendeskSandbox(tickets=1200, faults=faults) as sb:
        run = run_cli(config_for(sb, per_page=100, max_retry_seconds=60), tmp_path, timeout=120)
        records = list(sb.requests)
    assert run.exit_code == 0, run.stderr[-2000:]
    gaps = [
        later.time - record.time
        for record, later in itertools.pairwise(records)
        if record.status == 429
    ]
    assert gaps
    assert min(gaps) >= 0.5  # at least the floor's jittered half; "0" meant no wait at all


def test_a_redirect_to_another_host_is_named_in_the_error(tmp_path):
    with (
        ZendeskSandbox(tickets=10, host="127.0.0.2") as elsewhere,
        ZendeskSandbox(tickets=10) as sb,
    ):
        sb.faults.proxy = "redirect"
        sb.faults.redirect_to = f"{elsewhere.url}/api/v2/incremental/tickets?start_time=1"
        run = run_cli(config_for(sb), tmp_path, timeout=60)
    assert run.exit_code == 1
    errors = error_lines(run.stderr)
    assert len(errors) == 1
    assert "redirect" in errors[0]
    assert "127.0.0.2" in errors[0]


@pytest.mark.parametrize("auth", ["basic", "bearer"])
def test_a_redirect_carrying_the_credential_in_its_path_is_named_masked(tmp_path, auth):
    with (
        ZendeskSandbox(tickets=10, host="127.0.0.2") as elsewhere,
        ZendeskSandbox(
            tickets=10, email=EMAIL, api_token=API_TOKEN, access_token=ACCESS_TOKEN
        ) as sb,
    ):
        sb.faults.proxy = "redirect"
        sb.faults.redirect_to = f"{elsewhere.url}/login/{{credential}}/sso"
        credentials: dict[str, Any] = (
            {"email": None, "api_token": None, "access_token": ACCESS_TOKEN}
            if auth == "bearer"
            else {}
        )
        run = run_cli(config_for(sb, **credentials), tmp_path, timeout=60)
    errors = error_lines(run.stderr)
    assert len(errors) == 1
    assert "127.0.0.2" in errors[0]
    assert "/login/***/sso" in errors[0]
    assert [secret for secret in SECRETS if secret in run.stdout + run.stderr] == []


def test_a_redirect_to_a_later_start_time_is_refused_and_loses_nothing(tmp_path):
    # A page from an hour later would move the bookmark over that hour's tickets.
    with ZendeskSandbox(tickets=200, faults=Faults(proxy="shift")) as sb:
        run = run_cli(config_for(sb), tmp_path, timeout=60)
        shifted = [r for r in sb.requests if "shifted" in r.params]
    assert shifted  # the redirected page was served
    assert run.exit_code == 1
    errors = error_lines(run.stderr)
    assert len(errors) == 1
    assert "changed the request" in errors[0]
    assert run.records() == []
    bookmarks = [
        m["value"]["bookmarks"].get("tickets", {}) for m in run.messages if m["type"] == "STATE"
    ]
    assert all("replication_key_value" not in b for b in bookmarks)


def test_a_redirect_loop_ends_at_once_with_one_error_saying_so(tmp_path):
    with ZendeskSandbox(tickets=10, faults=Faults(proxy="loop")) as sb:
        started = time.monotonic()
        run = run_cli(config_for(sb), tmp_path, timeout=60)
        took = time.monotonic() - started
        hops = len(sb.requests)
    assert run.exit_code == 1
    errors = error_lines(run.stderr)
    assert len(errors) == 1
    assert "redirect loop" in errors[0]
    assert hops <= 10
    assert took < 20
    assert "Traceback" not in run.stderr

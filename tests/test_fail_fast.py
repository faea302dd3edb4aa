"""A wrong address fails fast; an outage after Zendesk has answered is retried as long as set."""

from __future__ import annotations

import socket
import time

import pytest
import requests
from helpers import config_for

from tap_zendesk_incremental.client import ZendeskStream, describe_error
from tap_zendesk_incremental.sandbox import ZendeskSandbox
from tap_zendesk_incremental.streams import TicketsStream

FAIL_FAST = 1.0


@pytest.fixture
def fail_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fail-fast time of one second instead of 30, and quick backoff."""
    monkeypatch.setattr(ZendeskStream, "unreachable_give_up_seconds", FAIL_FAST)
    monkeypatch.setattr(ZendeskStream, "retry_base_seconds", 0.1)


def closed_port() -> int:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unreachable_config(port: int, **overrides):
    return {
        "api_url": f"http://127.0.0.1:{port}",
        "email": "a@example.com",
        "api_token": "t0ken",
        "start_date": "2024-01-01",
        "max_retry_seconds": 60,
        **overrides,
    }


def test_a_refused_connection_before_any_answer_gives_up_after_the_fail_fast_time(sync, fail_fast):
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectionError) as raised:
        sync(unreachable_config(closed_port()))
    elapsed = time.monotonic() - started
    # max_retry_seconds is 60: giving up within a few seconds is the fail-fast rule at work.
    assert FAIL_FAST <= elapsed < 15
    assert describe_error(raised.value).startswith("cannot connect to Zendesk at 127.0.0.1:")


def test_the_give_up_line_names_host_and_port_and_the_settings_to_check(sync, fail_fast):
    port = closed_port()
    with pytest.raises(requests.exceptions.ConnectionError) as raised:
        sync(unreachable_config(port))
    line = describe_error(raised.value)
    assert f"at 127.0.0.1:{port} (connection refused)" in line
    assert "`api_url`" in line


def test_an_unknown_host_is_named_as_such(sync, fail_fast):
    # `.invalid` never resolves (RFC 2606); the resolver answers without the network.
    config = unreachable_config(0, api_url=None, subdomain="no-such-account.invalid")
    config["api_url"] = "https://no-such-account.invalid"
    with pytest.raises(requests.exceptions.ConnectionError) as raised:
        sync(config)
    assert "at no-such-account.invalid:443 (unknown host)" in describe_error(raised.value)


def test_after_a_first_answer_a_refused_connection_is_retried_for_max_retry_seconds(
    sync, fail_fast, monkeypatch
):
    max_retry = 4.0
    with ZendeskSandbox(tickets=300, seed=2, port=0) as sb:
        after_page = TicketsStream.after_page

        def then_the_server_goes_away(stream, *args):
            after_page(stream, *args)
            sb.stop()  # idempotent: only the first page's call stops it

        monkeypatch.setattr(TicketsStream, "after_page", then_the_server_goes_away)
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ConnectionError) as raised:
            sync(config_for(sb, per_page=50, max_retry_seconds=max_retry))
        elapsed = time.monotonic() - started
    assert describe_error(raised.value).startswith("cannot connect to Zendesk")
    # Far longer than the fail-fast time: the address answered, so this is an outage.
    assert elapsed >= max_retry - 0.5

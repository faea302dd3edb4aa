"""How long a retry waits: Retry-After within bounds, else the usual backoff (no HTTP)."""

from __future__ import annotations

import pytest
import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_zendesk_incremental.client import MAX_RETRY_AFTER, MIN_RETRY_AFTER
from tap_zendesk_incremental.tap import TapZendeskIncremental

CONFIG = {
    "subdomain": "acme",
    "email": "a@example.com",
    "api_token": "t",
    "start_date": "2024-01-01",
}


def error(status: int, retry_after: str | None) -> RetriableAPIError:
    response = requests.Response()
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return RetriableAPIError("retry", response)


@pytest.fixture
def stream():
    return TapZendeskIncremental(config=CONFIG).streams["tickets"]


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("value", ["0", "-5", "0.01", "-0"])
def test_a_retry_after_below_the_floor_waits_at_least_the_floor(stream, status, value):
    waits = [stream.retry_wait(error(status, value), attempt) for attempt in (1, 2, 3, 4)]
    assert all(wait >= MIN_RETRY_AFTER for wait in waits)


def test_a_retry_after_below_the_floor_backs_off_exponentially(stream):
    waits = [stream.retry_wait(error(429, "0"), attempt) for attempt in (1, 2, 3, 4, 5, 6)]
    assert waits[-1] > waits[0] * 4


@pytest.mark.parametrize("value", ["1e9", "86400", "inf"])
def test_an_absurd_retry_after_is_capped(stream, value):
    assert stream.retry_wait(error(429, value), 1) == MAX_RETRY_AFTER


def test_a_sane_retry_after_is_waited_exactly(stream):
    assert stream.retry_wait(error(429, "93"), 1) == 93.0

"""Rate-limit headers and pacing: pure logic, no HTTP."""

from __future__ import annotations

import pytest

from tap_zendesk_incremental.ratelimit import Pacer, RateLimit, retry_after


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {"Zendesk-RateLimit-incremental-exports": "total=10; remaining=7; resets=43"},
            RateLimit(remaining=7, resets=43.0, total=10),
        ),
        (
            {"zendesk-ratelimit-incremental-exports": "total=30;remaining=0;resets=1.5"},
            RateLimit(remaining=0, resets=1.5, total=30),
        ),
        (
            {"ratelimit-limit": "700", "ratelimit-remaining": "698", "ratelimit-reset": "12"},
            RateLimit(remaining=698, resets=12.0, total=700),
        ),
        (  # the tightest window wins
            {
                "ratelimit-limit": "700",
                "ratelimit-remaining": "698",
                "ratelimit-reset": "12",
                "Zendesk-RateLimit-incremental-exports": "total=10; remaining=2; resets=40",
            },
            RateLimit(remaining=2, resets=40.0, total=10),
        ),
        ({"Zendesk-RateLimit-incremental-exports": "garbage"}, None),
        ({"X-Rate-Limit-Remaining": "3"}, None),  # account-wide, no reset: not a pace
        ({}, None),
    ],
)
def test_rate_limit_is_parsed_from_headers(headers, expected):
    assert RateLimit.from_headers(headers) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("93", 93.0), ("0.5", 0.5), ("-3", 0.0), ("soon", None), (None, None)]
)
def test_retry_after_reads_seconds(value, expected):
    headers = {} if value is None else {"Retry-After": value}
    assert retry_after(headers) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Wed, 02 Dec 2026 15:00:30 GMT", 30.0),
        ("Wed, 02 Dec 2026 14:59:00 GMT", 0.0),  # past: no wait
        ("Wed, 32 Dec 2026 15:00:30 GMT", None),
    ],
)
def test_retry_after_reads_an_http_date(value, expected):
    now = 1796223600.0  # 2026-12-02 15:00:00 UTC
    assert retry_after({"Retry-After": value}, now=now) == expected


def test_an_account_wide_budget_is_not_shown_as_the_export_budget():
    pacer = Pacer(10)
    pacer.after_response({"ratelimit-limit": "700", "ratelimit-remaining": "699"})
    assert pacer.export_limit is None
    pacer.after_response(zendesk(7, 30))
    assert pacer.export_limit == RateLimit(remaining=7, resets=30.0, total=3)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def zendesk(remaining: int, resets: float) -> dict[str, str]:
    return {
        "Zendesk-RateLimit-incremental-exports": f"total=3; remaining={remaining}; resets={resets}"
    }


def test_pacer_sends_at_once_while_budget_remains():
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    pacer.before_request()
    pacer.after_response(zendesk(2, 10))
    pacer.before_request()
    assert clock.slept == []


def test_pacer_waits_for_the_reset_when_nothing_remains():
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    pacer.before_request()
    pacer.after_response(zendesk(0, 7))
    clock.now += 2
    pacer.before_request()
    assert clock.slept == [pytest.approx(5.0)]


def test_pacer_narrows_rounded_resets_within_a_window():
    clock = FakeClock()
    pacer = Pacer(10, clock=clock, sleep=clock.sleep)
    pacer.after_response(zendesk(2, 2))  # reset in (1000, 1002]
    clock.now += 0.6
    pacer.after_response(zendesk(1, 2))  # (1000.6, 1002.6]
    clock.now += 0.7
    pacer.after_response(zendesk(0, 1))  # (1001.3, 1002.3]: upper bound is the tighter one
    pacer.before_request()
    assert clock.now == pytest.approx(1002.0)


ACCOUNT_WIDE = {"ratelimit-limit": "700", "ratelimit-remaining": "698", "ratelimit-reset": "12"}


@pytest.mark.parametrize(
    "headers", [{}, ACCOUNT_WIDE], ids=["no-headers", "only-account-wide-headers"]
)
def test_pacer_caps_requests_per_minute_until_the_export_budget_header_is_seen(headers):
    # An account-wide budget (hundreds a minute) says nothing of the export's 10 a minute.
    clock = FakeClock()
    pacer = Pacer(3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        pacer.before_request()
        pacer.after_response(headers)
        clock.now += 1
    pacer.before_request()
    assert clock.slept == [pytest.approx(58.0)]  # 60 s after the first, and 1 s of margin


def test_pacer_trusts_headers_over_the_setting():
    clock = FakeClock()
    pacer = Pacer(1, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        pacer.before_request()
        pacer.after_response(zendesk(20, 60))
    assert clock.slept == []


def test_pacer_drops_the_cap_once_the_export_budget_header_is_seen():
    clock = FakeClock()
    pacer = Pacer(1, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        pacer.before_request()
        pacer.after_response({**ACCOUNT_WIDE, **zendesk(20, 60)})
    assert clock.slept == []

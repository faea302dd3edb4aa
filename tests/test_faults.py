"""Transient failures are retried until the export completes; waits follow Retry-After."""

from __future__ import annotations

from collections import Counter

import pytest
from helpers import config_for

from tap_zendesk_incremental.sandbox import TRANSIENT_KINDS, ZendeskSandbox


@pytest.fixture
def sb():
    with ZendeskSandbox(tickets=1500, seed=21, port=0) as sandbox:
        sandbox.faults.timeout_seconds = 1.5  # longer than the tap's request_timeout below
        yield sandbox


def full_set(run, sb) -> bool:
    return Counter(r["id"] for r in run.records()) == Counter(set(sb.tickets))


# Each of these is retried after a short backoff; "429noretry" waits for the rate window and
# has its own test below.
QUICK_KINDS = tuple(kind for kind in TRANSIENT_KINDS if kind != "429noretry")


@pytest.mark.parametrize("kind", QUICK_KINDS)
def test_each_transient_failure_is_retried(kind, sb, sync, fast_retries):
    sb.fail_next(kind, 2)
    run = sync(config_for(sb, per_page=500, request_timeout=1))
    assert full_set(run, sb)
    assert len(sb.requests) >= 3 + 2  # three pages, two of the tries failed


def test_a_quarter_of_requests_failing_still_exports_every_ticket(sb, sync, fast_retries):
    sb.faults.fail_rate, sb.faults.fail_kinds, sb.faults.fault_seed = 0.25, QUICK_KINDS, 4
    run = sync(config_for(sb, per_page=25, request_timeout=1))
    assert full_set(run, sb)
    failed = [r for r in sb.requests if r.status != 200]
    assert len(failed) >= 0.15 * len(sb.requests)  # the faults really happened


def request_gap(sb) -> float:
    first, second = sb.requests[0], sb.requests[1]
    return second.time - first.time


@pytest.mark.parametrize("kind", ["503", "429"])
def test_retry_after_is_waited_exactly(kind, sb, sync):
    sb.fail_next(kind)  # both carry Retry-After: 1
    run = sync(config_for(sb))
    assert full_set(run, sb)
    assert 1.0 <= request_gap(sb) < 1.8  # not the exponential backoff, not more


def test_a_429_without_retry_after_waits_for_the_window_to_reset(sb, sync):
    sb.faults.rate_limit = 1
    sb.faults.rate_window = 2.0
    sb.faults.retry_after_on_429 = False
    sb.fail_next("429noretry")
    run = sync(config_for(sb, per_page=1000))
    assert full_set(run, sb)
    assert sb.count_429 <= 1

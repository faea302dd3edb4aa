"""Pacing from the rate-limit headers: the whole budget used, no 429 provoked."""

from __future__ import annotations

import math
import time
from collections import Counter

import pytest
from helpers import config_for

from tap_zendesk_incremental.sandbox import ZendeskSandbox

LIMIT, WINDOW = 5, 1.0


@pytest.mark.parametrize("headers", ["zendesk", "ratelimit"])
def test_a_long_export_runs_at_the_budget_with_at_most_one_429(headers, sync):
    with ZendeskSandbox(tickets=3600, seed=2, port=0) as sb:
        sb.faults.rate_limit, sb.faults.rate_window, sb.faults.rate_headers = LIMIT, WINDOW, headers
        started = time.monotonic()
        run = sync(config_for(sb, per_page=50))
        elapsed = time.monotonic() - started
        pages = len(sb.requests) - sb.count_429
        assert pages >= 50
        assert Counter(r["id"] for r in run.records()) == Counter(set(sb.tickets))
        assert sb.count_429 <= 1
        ideal = (math.ceil(pages / LIMIT) - 1) * WINDOW  # every window used to the full
        assert elapsed <= ideal * 1.15 + 1.0, f"{elapsed:.1f}s against an ideal {ideal:.1f}s"

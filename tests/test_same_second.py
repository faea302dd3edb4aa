"""A second holding more than a page: never looping, never skipping, in both server behaviours."""

from __future__ import annotations

from collections import Counter

import pytest
from helpers import config_for

from tap_zendesk_incremental.sandbox import ZendeskSandbox

CURSOR = "/api/v2/incremental/tickets/cursor"


@pytest.fixture(params=["grow", "stall"])
def crowded(request):
    """1,500 tickets on one second among others, served the documented or the observed way."""
    with ZendeskSandbox(tickets=1200, seed=5, port=0, same_second_tickets=1500) as sb:
        sb.faults.same_second = request.param
        yield sb


def crowded_second(sb) -> int:
    return Counter(t["generated_timestamp"] for t in sb.tickets.values()).most_common(1)[0][0]


def test_every_ticket_of_a_crowded_second_arrives_once(crowded, sync):
    run = sync(config_for(crowded))
    assert Counter(r["id"] for r in run.records()) == Counter(set(crowded.tickets))
    second = crowded_second(crowded)
    on_second = [r for r in run.records() if r["generated_timestamp"] == second]
    assert len(on_second) >= 1500


def test_the_export_ends_in_a_bounded_number_of_requests(crowded, sync):
    sync(config_for(crowded))
    # 2,700 tickets at 1,000 a page, plus at most the cursor detour through one second.
    assert len(crowded.requests) <= 8


def test_a_stalled_second_is_read_through_the_cursor_export(sync):
    with ZendeskSandbox(tickets=300, seed=5, port=0, same_second_tickets=1500) as sb:
        sb.faults.same_second = "stall"
        sync(config_for(sb))
        cursor_requests = [r for r in sb.requests if r.path.startswith(CURSOR)]
        assert cursor_requests
        assert cursor_requests[0].params["start_time"] == str(crowded_second(sb))
        assert "cursor" in cursor_requests[-1].params


def test_a_grown_page_is_not_taken_as_the_whole_second(sync):
    # Only the cursor export proves a second complete: a page of one second, however large,
    # may be all of it (Zendesk grew it) or the same capped page again (it stalls).
    with ZendeskSandbox(tickets=300, seed=5, port=0, same_second_tickets=1500) as sb:
        run = sync(config_for(sb))
        cursor_requests = [r for r in sb.requests if r.path.startswith(CURSOR)]
        assert cursor_requests[0].params["start_time"] == str(crowded_second(sb))
        time_starts = [int(r.params["start_time"]) for r in sb.requests if "cursor" not in r.path]
        # The cursor page that reaches a later second is written whole; the export goes on
        # from its newest ticket, past the crowded second.
        assert max(time_starts) > crowded_second(sb)
        assert Counter(r["id"] for r in run.records()) == Counter(set(sb.tickets))


def test_small_pages_cut_through_busy_seconds_lose_nothing(sync):
    with ZendeskSandbox(tickets=3000, seed=11, port=0) as sb:
        sb.faults.same_second = "stall"
        run = sync(config_for(sb, per_page=25))
        assert Counter(r["id"] for r in run.records()) == Counter(set(sb.tickets))


def test_the_bookmark_stays_zendesks_end_time_through_the_detour(sync):
    with ZendeskSandbox(tickets=300, seed=5, port=0, same_second_tickets=1500) as sb:
        sb.faults.same_second = "stall"
        run = sync(config_for(sb))
        assert run.bookmark == max(t["generated_timestamp"] for t in sb.tickets.values())
        positions = [r["end_time"] for r in run.records()]
        assert positions == sorted(positions)

"""The export loop's invariants, against a sandbox that misbehaves on purpose.

1. The position never moves backwards, and never past a ticket not yet written.
2. No page can make the run loop: a few pages in a row without a new ticket stop it with one
   ERROR line, a STATE that loses nothing and a non-zero exit.
3. A second that a page does not get past is read through the cursor export, whatever
   `per_page` is; every cursor answer has an outcome that skips nothing.
4. STATE and bookmarks are checked before the first request (see also test_bookmark.py).
5. STATE stays small inside a crowded second and resumes there exactly.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime, timezone

import pytest
from helpers import config_for, error_lines, run_cli

from tap_zendesk_incremental.pagination import MAX_IDLE_PAGES
from tap_zendesk_incremental.sandbox import ZendeskSandbox
from tap_zendesk_incremental.sandbox.export import in_hole
from tap_zendesk_incremental.sandbox.faults import CURSOR_FAULTS, END_TIME_FAULTS

CURSOR = "/api/v2/incremental/tickets/cursor"
# Cursor faults whose `after_cursor` points back at the start of the second.
LYING_CURSORS = ("spin", "same_cursor")


def every_ticket_once(run, sb) -> None:
    counts = Counter((r["id"], r["generated_timestamp"]) for r in run.records())
    assert max(counts.values()) == 1, "a ticket version was written twice"
    assert {i for i, _ in counts} == set(sb.tickets), "tickets are missing"


def crowded(per_page_served: int | None = None, **faults) -> ZendeskSandbox:
    """500 tickets plus 2,500 on one second, served by a server that stalls on it."""
    sb = ZendeskSandbox(tickets=500, seed=3, port=0, same_second_tickets=2500)
    sb.faults.same_second = "stall"
    sb.faults.served_per_page = per_page_served
    for name, value in faults.items():
        setattr(sb.faults, name, value)
    return sb


# 1. The position


@pytest.mark.parametrize("fault", END_TIME_FAULTS)
def test_a_wrong_end_time_never_loses_or_repeats_a_ticket(fault, sync):
    with ZendeskSandbox(tickets=2500, seed=8, port=0) as sb:
        sb.faults.end_time_fault = fault
        run = sync(config_for(sb, per_page=300))
        every_ticket_once(run, sb)
        assert run.bookmark == max(t["generated_timestamp"] for t in sb.tickets.values())


@pytest.mark.parametrize("fault", ["missing", "string", "after_newest", "before_start"])
def test_a_wrong_end_time_is_named_in_one_warning(fault, tmp_path):
    with ZendeskSandbox(tickets=2500, seed=8, port=0) as sb:
        sb.faults.end_time_fault = fault
        run = run_cli(config_for(sb, per_page=300), tmp_path)
        warnings = [line for line in run.stderr.splitlines() if "end_time" in line]
        assert run.exit_code == 0
        assert len(warnings) == 1, warnings
        assert "| WARNING" in warnings[0]


def test_the_bookmark_never_moves_backwards(sync):
    with ZendeskSandbox(tickets=2500, seed=8, port=0) as sb:
        sb.faults.end_time_fault = "before_start"
        run = sync(config_for(sb, per_page=300))
        bookmarks = [s["bookmarks"]["tickets"].get("replication_key_value") for s in run.states]
        bookmarks = [b for b in bookmarks if b is not None]
        assert bookmarks == sorted(bookmarks)


def test_a_server_that_repeats_its_first_page_is_read_through_the_cursor_export(tmp_path):
    # Each repeated page moves nothing; the cursor export then shows the tickets after it.
    with ZendeskSandbox(tickets=3000, seed=8, port=0) as sb:
        sb.faults.repeat_pages = True
        run = run_cli(config_for(sb, per_page=200), tmp_path, timeout=60)
        assert run.exit_code == 0, run.stderr[-1500:]
        every_ticket_once(run, sb)
        assert len(sb.requests) <= 3 * (3000 // 200 + 2)  # bounded: about two per page


def test_a_time_based_export_that_never_moves_stops_the_run_with_one_error(tmp_path):
    with crowded(cursor_fault="empty_not_end") as sb:
        sb.faults.repeat_pages = True
        run = run_cli(config_for(sb), tmp_path, timeout=60)
        assert run.exit_code == 1
        [error] = error_lines(run.stderr)
        assert "stopped moving" in error
        assert "Traceback" not in run.stderr
        counts = Counter(r["id"] for r in run.records())
        assert max(counts.values()) == 1


# 2 and 3. Crowded seconds and the cursor export


@pytest.mark.parametrize(
    ("per_page", "served"),
    [(1000, None), (500, None), (500, 1000), (1000, 400), (37, None), (1000, 100)],
)
def test_a_crowded_second_is_read_whole_whatever_the_page_sizes(per_page, served, sync):
    # `served`: the server's own page size, whatever per_page asks (more, or fewer).
    with crowded(per_page_served=served) as sb:
        run = sync(config_for(sb, per_page=per_page))
        every_ticket_once(run, sb)


@pytest.mark.parametrize("fault", sorted(set(CURSOR_FAULTS) - {"no_cursor"}))
def test_a_misbehaving_cursor_export_stops_the_run_with_one_error_naming_it(fault, tmp_path):
    with crowded(cursor_fault=fault) as sb:
        run = run_cli(config_for(sb), tmp_path, timeout=60)
        assert run.exit_code == 1
        [error] = error_lines(run.stderr)
        assert "cursor" in error
        assert "Traceback" not in run.stderr


@pytest.mark.parametrize("fault", CURSOR_FAULTS)
def test_after_a_cursor_fault_the_next_run_completes_the_export_once(fault, tmp_path):
    with crowded(cursor_fault=fault) as sb:
        second = sb.same_second_gts
        first = run_cli(config_for(sb), _mk(tmp_path / "first"))
        sb.faults.cursor_fault = None
        again = run_cli(config_for(sb), _mk(tmp_path / "again"), state=first.state)
        assert again.exit_code == 0, again.stderr[-1500:]
        counts = Counter(r["id"] for r in first.records() + again.records())
        assert set(counts) == set(sb.tickets)
        if fault not in LYING_CURSORS:
            assert max(counts.values()) == 1
        else:  # a cursor that lies about where it points: that second may come once more
            repeated = {i for i, n in counts.items() if n > 1}
            on_second = {i for i, t in sb.tickets.items() if t["generated_timestamp"] == second}
            assert repeated <= on_second
            assert max(counts.values()) <= 2


def test_a_cursor_page_without_after_cursor_never_moves_on_to_the_next_second(sync):
    with crowded(cursor_fault="no_cursor") as sb:
        second = sb.same_second_gts
        with pytest.raises(Exception, match="stopped moving"):
            sync(config_for(sb))
        time_starts = [int(r.params.get("start_time", 0)) for r in sb.requests]
        assert max(time_starts) == second


def test_pages_without_progress_stop_the_run_within_a_few_requests(tmp_path):
    with crowded(cursor_fault="spin") as sb:
        run_cli(config_for(sb), tmp_path, timeout=60)
        cursor_requests = [r for r in sb.requests if r.path.startswith(CURSOR)]
        assert len(cursor_requests) <= MAX_IDLE_PAGES + 2


def test_a_stale_cursor_in_the_state_restarts_its_second_with_a_warning(tmp_path):
    with crowded() as sb:
        second = sb.same_second_gts
        state = {
            "bookmarks": {
                "tickets": {
                    "replication_key": "end_time",
                    "replication_key_value": second,
                    "written_ids": {"generated_timestamp": second, "ids": [], "cursor": "expired"},
                }
            }
        }
        run = run_cli(config_for(sb), tmp_path, state=state)
        assert run.exit_code == 0, run.stderr[-1500:]
        assert sb.requests[0].params["cursor"] == "expired"
        assert [r for r in run.stderr.splitlines() if "refused" in r and "WARNING" in r]
        on_second = {i for i, t in sb.tickets.items() if t["generated_timestamp"] >= second}
        assert {r["id"] for r in run.records()} == on_second


# 5. STATE inside a crowded second


def test_the_state_stays_small_however_crowded_the_second(sync):
    with ZendeskSandbox(tickets=100, seed=3, port=0, same_second_tickets=30_000) as sb:
        sb.faults.same_second = "stall"
        run = sync(config_for(sb))
        every_ticket_once(run, sb)
        sizes = [len(json.dumps(state)) for state in run.states]
        assert len(sizes) >= 30
        assert max(sizes) < 12_000  # at most one page of ids, never the whole second's
        assert sum(sizes) < 30 * 12_000


def test_a_run_resumed_inside_a_crowded_second_continues_at_its_cursor(tmp_path):
    with crowded() as sb:
        whole = run_cli(config_for(sb), _mk(tmp_path / "whole"))
        # Stop right after the first STATE inside the second: what a target had by then.
        index, state = next(
            (i, m["value"])
            for i, m in enumerate(whole.messages)
            if m["type"] == "STATE"
            and m["value"]["bookmarks"]["tickets"].get("written_ids", {}).get("cursor")
        )
        before = [
            m["record"]
            for m in whole.messages[:index]
            if m["type"] == "RECORD" and m["stream"] == "tickets"
        ]
        sb.requests.clear()
        resumed = run_cli(config_for(sb), _mk(tmp_path / "resumed"), state=state)
        assert resumed.exit_code == 0, resumed.stderr[-1500:]
        cursor = state["bookmarks"]["tickets"]["written_ids"]["cursor"]
        assert sb.requests[0].params.get("cursor") == cursor
        counts = Counter(r["id"] for r in before + resumed.records())
        assert set(counts) == set(sb.tickets)
        assert max(counts.values()) == 1


def _mk(path):
    path.mkdir()
    return path


# 4. The STATE a run starts from


@pytest.mark.parametrize(
    "value",
    [1_609_459_200_000, "2099-01-01T00:00:00Z", -1, 1.5, "soon", None, {"s": 1}],
)
def test_a_bookmark_that_cannot_be_resumed_stops_before_any_request(value, tmp_path):
    with ZendeskSandbox(tickets=50, seed=3, port=0) as sb:
        state = {"bookmarks": {"tickets": {"replication_key_value": value}}}
        run = run_cli(config_for(sb), tmp_path, state=state)
        assert run.exit_code == 1
        [error] = error_lines(run.stderr)
        assert "bookmark" in error
        assert "Traceback" not in run.stderr
        assert sb.requests == []


def test_another_zendesk_taps_bookmark_is_resumed_with_a_line_saying_so(tmp_path):
    with ZendeskSandbox(tickets=300, seed=3, port=0) as sb:
        middle = sorted(t["generated_timestamp"] for t in sb.tickets.values())[150]
        peer = {"bookmarks": {"tickets": {"generated_timestamp": middle}}}
        run = run_cli(config_for(sb), tmp_path, state=peer)
        assert run.exit_code == 0
        assert sb.requests[0].params["start_time"] == str(middle)
        assert "another Zendesk tap" in run.stderr
        newer = {i for i, t in sb.tickets.items() if t["generated_timestamp"] >= middle}
        assert {r["id"] for r in run.records()} == newer


def test_malformed_written_ids_cost_a_warning_not_the_run(tmp_path):
    with ZendeskSandbox(tickets=300, seed=3, port=0) as sb:
        first = run_cli(config_for(sb), _mk(tmp_path / "first"))
        state = first.state
        state["bookmarks"]["tickets"]["written_ids"] = {"ids": "all of them"}
        again = run_cli(config_for(sb), _mk(tmp_path / "again"), state=state)
        assert again.exit_code == 0
        assert [line for line in again.stderr.splitlines() if "written_ids" in line]
        on_bookmark = {
            i for i, t in sb.tickets.items() if t["generated_timestamp"] == first.bookmark
        }
        assert {r["id"] for r in again.records()} == on_bookmark  # that second, once more


# Pages whose tickets disagree with their end_time


def test_a_straggler_far_ahead_on_every_page_skips_nothing(sync):
    # Each page also carries the newest ticket of all; its honest end_time bounds the page.
    with ZendeskSandbox(tickets=2500, seed=8, port=0) as sb:
        sb.faults.rows_fault = "straggler"
        run = sync(config_for(sb, per_page=300))
        every_ticket_once(run, sb)


def test_a_ticket_from_the_future_never_moves_the_position(tmp_path):
    with ZendeskSandbox(tickets=2500, seed=8, port=0) as sb:
        sb.faults.rows_fault = "future"
        run = run_cli(config_for(sb, per_page=300), tmp_path)
        assert run.exit_code == 0
        every_ticket_once(run, sb)  # the future one is not among them: left for a later run
        assert run.bookmark == max(t["generated_timestamp"] for t in sb.tickets.values())
        assert [line for line in run.stderr.splitlines() if "later run" in line]


def test_a_hole_filtered_out_after_paging_neither_stalls_nor_skips(sync):
    # Pages short or empty while end_time runs ahead, as a filter applied after paging would.
    with ZendeskSandbox(tickets=3000, seed=8, port=0) as sb:
        sb.faults.rows_fault = "hole"
        run = sync(config_for(sb, per_page=300))
        counts = Counter(r["id"] for r in run.records())
        assert max(counts.values()) == 1
        assert set(counts) >= {i for i in sb.tickets if not in_hole(i, max(sb.tickets))}


def test_too_recent_for_an_old_start_time_is_an_error_not_caught_up(tmp_path):
    with ZendeskSandbox(tickets=300, seed=8, port=0) as sb:
        sb.faults.clock_behind = 2 * 86_400  # the server's clock two days behind ours
        start = datetime.fromtimestamp(time.time() - 2 * 86_400 - 30, tz=timezone.utc)
        run = run_cli(config_for(sb, start_date=start.isoformat()), tmp_path)
        assert run.exit_code == 1
        [error] = error_lines(run.stderr)
        assert "too recent" in error
        assert "clock" in error

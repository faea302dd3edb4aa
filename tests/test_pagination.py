"""Where the export goes after each page: never backwards, never past a ticket not written."""

from __future__ import annotations

import time

import pytest

from tap_zendesk_incremental.pages import read_page
from tap_zendesk_incremental.pagination import (
    MAX_IDLE_PAGES,
    ExportPaginator,
    ExportPosition,
    ExportStalledError,
    StallGuard,
    plan,
)

OLD = 1_700_000_000
TIME = ExportPosition(OLD)
DRAIN = ExportPosition(OLD, drain=True)


def tickets(*seconds: int) -> list[dict]:
    return [{"id": n + 1, "generated_timestamp": s} for n, s in enumerate(seconds)]


def step_after(requested: ExportPosition, **page):
    page.setdefault("end_of_stream", False)
    facts = read_page(page, requested.start_time, cursor=requested.drain)
    return plan(requested, facts)


def test_the_next_page_starts_at_the_newest_ticket_of_the_page():
    step = step_after(TIME, tickets=tickets(OLD, OLD + 5, OLD + 9), end_time=OLD + 9)
    assert step.upto == OLD + 9
    assert step.following == ExportPosition(OLD + 9)


def test_an_end_time_before_the_newest_ticket_leaves_the_later_ones_for_the_next_page():
    # A straggler far ahead on the page: following it would skip what lies between.
    step = step_after(TIME, tickets=tickets(OLD, OLD + 5, OLD + 900), end_time=OLD + 5)
    assert step.upto == OLD + 5
    assert step.following == ExportPosition(OLD + 5)


@pytest.mark.parametrize(
    "end_time", [None, "1700000009", OLD + 9.0, OLD - 100, OLD + 500, "missing"]
)
def test_an_end_time_the_tickets_do_not_back_never_moves_the_position(end_time):
    page = {"tickets": tickets(OLD, OLD + 9)}
    if end_time != "missing":
        page["end_time"] = end_time
    assert step_after(TIME, **page).following == ExportPosition(OLD + 9)


def test_end_of_stream_stops_even_with_a_next_page():
    step = step_after(TIME, tickets=tickets(OLD), end_time=OLD, end_of_stream=True, next_page="x")
    assert step.following is None
    assert step.upto == OLD


@pytest.mark.parametrize(
    ("what", "page_tickets"),
    [
        ("a page of one second, as large as asked", tickets(*[OLD] * 3)),
        ("a page of one second, larger than asked", tickets(*[OLD] * 2000)),
        ("a page of one second, smaller than asked", tickets(OLD)),
        ("an empty page that is not the end", []),
    ],
)
def test_a_page_that_does_not_move_past_its_first_second_is_read_through_the_cursor(
    what, page_tickets
):
    step = step_after(TIME, tickets=page_tickets, end_time=OLD)
    assert step.following == DRAIN, what
    assert step.upto == OLD, "what it showed of that second is written all the same"


def test_a_cursor_page_inside_the_second_follows_after_cursor():
    step = step_after(DRAIN, tickets=tickets(OLD, OLD), after_cursor="c1")
    assert step.following == ExportPosition(OLD, drain=True, cursor="c1")


def test_a_cursor_page_that_passes_the_second_goes_on_from_its_newest_ticket():
    # In cursor order every ticket before the page's last one is on the page.
    step = step_after(DRAIN, tickets=tickets(OLD, OLD, OLD + 4, OLD + 9), after_cursor="c2")
    assert step.passed
    assert step.upto == OLD + 9
    assert step.following == ExportPosition(OLD + 9)


@pytest.mark.parametrize("after_cursor", [None, "", 42, ["c"]])
def test_a_cursor_page_without_a_usable_after_cursor_asks_again(after_cursor):
    # Never on to the next second: the rest of this one would be skipped.
    position = ExportPosition(OLD, drain=True, cursor="c1")
    step = step_after(position, tickets=[], after_cursor=after_cursor)
    assert step.following == position


def test_a_drain_that_reaches_the_end_of_the_stream_stops():
    step = step_after(DRAIN, tickets=tickets(OLD), after_cursor="c", end_of_stream=True)
    assert step.following is None


def test_never_asks_for_the_last_minute():
    recent = int(time.time()) - 30
    step = step_after(ExportPosition(recent - 100), tickets=tickets(recent), end_time=recent)
    assert step.following is None


@pytest.mark.parametrize("seconds_from_now", [-10, 3600])
def test_a_start_inside_the_last_minute_requests_nothing(seconds_from_now):
    start = int(time.time()) + seconds_from_now
    assert ExportPaginator(ExportPosition(start), lambda response: None).finished


def test_a_resumed_cursor_is_requested_even_for_a_recent_second():
    start = ExportPosition(int(time.time()) - 70, drain=True, cursor="c")
    assert not ExportPaginator(start, lambda response: None).finished


def test_asking_again_for_the_same_position_is_not_the_sdks_loop_error():
    position = ExportPosition(OLD, drain=True, cursor="c1")
    pager = ExportPaginator(position, lambda response: position)
    pager.advance(object())
    pager.advance(object())
    assert pager.current_value == position


def test_pages_that_bring_nothing_new_stop_the_run_after_a_few():
    guard = StallGuard()
    for _ in range(MAX_IDLE_PAGES - 1):
        guard.page(OLD, "an empty cursor page")
    with pytest.raises(ExportStalledError, match=r"2023-11-14T22:13:20Z.*an empty cursor page"):
        guard.page(OLD, "an empty cursor page")


def test_a_page_that_brings_something_starts_the_count_again():
    guard = StallGuard()
    for _ in range(10):
        for _ in range(MAX_IDLE_PAGES - 1):
            guard.page(OLD, "idle")
        guard.page(OLD, None)

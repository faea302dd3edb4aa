"""Where the export goes after each page: never looping, never skipping."""

from __future__ import annotations

import time

import pytest

from tap_zendesk_incremental.pagination import ExportPaginator, ExportPosition

OLD = 1_700_000_000


def paginator(per_page: int = 3) -> ExportPaginator:
    return ExportPaginator(OLD, per_page, read_page=lambda response: None)


def advance(pager: ExportPaginator, page: dict | None) -> ExportPosition | None:
    """Feed one decoded page (None: 'caught up'); the response is a stand-in object."""
    token = object()
    pager.read_page = lambda response: page if response is token else None
    pager.advance(token)
    return None if pager.finished else pager.current_value


def tickets(*seconds: int) -> list[dict]:
    return [{"id": n, "generated_timestamp": s} for n, s in enumerate(seconds)]


def test_next_page_starts_at_end_time():
    pager = paginator()
    page = {"tickets": tickets(OLD, OLD + 5, OLD + 9), "end_time": OLD + 9, "end_of_stream": False}
    assert advance(pager, page) == ExportPosition(OLD + 9)


def test_end_of_stream_stops_even_with_a_next_page():
    pager = paginator()
    page = {"tickets": tickets(OLD), "end_time": OLD, "end_of_stream": True, "next_page": "x"}
    assert advance(pager, page) is None


def test_caught_up_response_stops():
    assert advance(paginator(), None) is None


def test_a_grown_page_holding_the_whole_second_continues_after_it():
    pager = paginator()
    page = {"tickets": tickets(*[OLD] * 5), "end_time": OLD, "end_of_stream": False}
    assert advance(pager, page) == ExportPosition(OLD + 1)


def test_a_stalled_second_is_drained_through_the_cursor_export():
    pager = paginator()
    page = {"tickets": tickets(*[OLD] * 3), "end_time": OLD, "end_of_stream": False}
    assert advance(pager, page) == ExportPosition(OLD, drain=True)
    cursor_page = {"tickets": tickets(*[OLD] * 3), "after_cursor": "c1", "end_of_stream": False}
    assert advance(pager, cursor_page) == ExportPosition(OLD, drain=True, cursor="c1")
    passing = {"tickets": tickets(OLD, OLD, OLD + 4), "after_cursor": "c2", "end_of_stream": False}
    assert advance(pager, passing) == ExportPosition(OLD + 1)


def test_a_drain_that_reaches_the_end_of_the_stream_stops():
    pager = paginator()
    advance(pager, {"tickets": tickets(*[OLD] * 3), "end_time": OLD, "end_of_stream": False})
    assert (
        advance(pager, {"tickets": tickets(OLD), "after_cursor": "c", "end_of_stream": True})
        is None
    )


def test_never_asks_for_the_last_minute():
    pager = paginator()
    recent = int(time.time()) - 30
    page = {"tickets": tickets(recent), "end_time": recent, "end_of_stream": False}
    assert advance(pager, page) is None


@pytest.mark.parametrize("seconds_from_now", [-10, 3600])
def test_a_start_inside_the_last_minute_requests_nothing(seconds_from_now):
    start = int(time.time()) + seconds_from_now
    assert ExportPaginator(start, 1000, read_page=lambda response: None).finished

"""What a page proves: each ticket checked for a usable id and generated_timestamp."""

from __future__ import annotations

import json

import pytest

from tap_zendesk_incremental.conform import SET_ASIDE
from tap_zendesk_incremental.pages import FUTURE_SLACK, read_page

START = 1_700_000_000
NOW = START + 86_400


def facts(*items, cursor=False, **page):
    page = {"tickets": list(items), "end_of_stream": False, "end_time": START, **page}
    return read_page(page, START, cursor=cursor, now=NOW)


def ticket(ticket_id=1, second=START, **fields):
    return {"id": ticket_id, "generated_timestamp": second, **fields}


def test_tickets_come_out_sorted_by_generated_timestamp():
    page = facts(ticket(1, START + 5), ticket(2, START), ticket(3, START + 2), end_time=START + 5)
    assert [t["id"] for t in page.tickets] == [2, 3, 1]
    assert page.newest == START + 5
    assert page.problems == {}


@pytest.mark.parametrize("sent", ["17", 17.0, " 17 "])
def test_an_id_sent_as_a_whole_number_in_another_type_is_read_as_an_integer(sent):
    page = facts(ticket(sent))
    assert page.tickets[0]["id"] == 17
    assert "no_id" not in page.problems


@pytest.mark.parametrize("sent", [None, True, "abc", 1.5, "-3", [1], {"id": 1}])
def test_a_ticket_without_a_usable_id_is_left_out_and_named(sent):
    page = facts(ticket(sent), ticket(2))
    assert [t["id"] for t in page.tickets] == [2]
    assert "without a usable `id`" in page.problems["no_id"]


def test_a_ticket_without_an_id_key_is_left_out():
    page = facts({"generated_timestamp": START, "subject": "x"})
    assert page.tickets == []
    assert "no_id" in page.problems


@pytest.mark.parametrize("sent", [str(START + 3), float(START + 3)])
def test_a_generated_timestamp_in_another_type_is_read_as_an_integer(sent):
    page = facts(ticket(1, sent), end_time=START + 3)
    assert page.tickets[0]["generated_timestamp"] == START + 3
    assert page.problems == {}


@pytest.mark.parametrize(
    "sent", [None, "yesterday", True, NOW + FUTURE_SLACK + 1, 10**13, -5, 0, "1e400"]
)
def test_an_unusable_generated_timestamp_places_the_ticket_at_the_start_time(sent):
    # Kept, and placed where the export cannot skip it; the warning names the ticket.
    page = facts(ticket(7, sent))
    assert page.tickets[0]["generated_timestamp"] == START
    assert "ticket 7" in page.problems["bad_timestamp"]


@pytest.mark.parametrize("sent", ["yesterday", True, -5, 10**13])
def test_an_unusable_generated_timestamp_is_kept_under_schema_mismatches(sent):
    page = facts(ticket(7, sent))
    assert json.loads(page.tickets[0][SET_ASIDE]["generated_timestamp"]) == sent


def test_a_ticket_with_a_null_generated_timestamp_has_nothing_to_keep():
    assert SET_ASIDE not in facts(ticket(7, None)).tickets[0]


def test_a_ticket_older_than_the_start_time_asked_for_is_left_out():
    page = facts(ticket(1, START - 1), ticket(2, START))
    assert [t["id"] for t in page.tickets] == [2]
    assert "ticket 1" in page.problems["too_old"]


@pytest.mark.parametrize("item", [None, 5, "ticket", ["id", 1]])
def test_an_item_that_is_not_an_object_is_left_out(item):
    page = facts(item, ticket(2))
    assert [t["id"] for t in page.tickets] == [2]
    assert "not_object" in page.problems


@pytest.mark.parametrize(
    ("end_time", "says"),
    [
        ("missing", "without `end_time`"),
        (None, "not an integer"),
        (str(START + 9), "not an integer"),
        (START + 9.0, "not an integer"),
        (START - 1, "before the start_time"),
        (START + 10, "later than its newest ticket"),
    ],
)
def test_an_end_time_the_tickets_do_not_back_is_named(end_time, says):
    page = {"tickets": [ticket(1, START + 9)], "end_of_stream": False}
    if end_time != "missing":
        page["end_time"] = end_time
    checked = read_page(page, START, cursor=False, now=NOW)
    assert says in checked.problems["end_time"]
    assert checked.newest == START + 9


@pytest.mark.parametrize("end_time", [START, START + 4, START + 9])
def test_an_end_time_within_the_page_is_not_a_problem(end_time):
    assert facts(ticket(1, START + 9), end_time=end_time).problems == {}


def test_an_empty_page_backs_only_an_end_time_at_its_start():
    assert "end_time" in facts(end_time=START + 1).problems
    assert facts(end_time=START).problems == {}


@pytest.mark.parametrize(("sent", "read"), [("true", True), ("FALSE", False)])
def test_end_of_stream_as_text_is_read_as_a_boolean(sent, read):
    page = facts(end_of_stream=sent)
    assert page.end_of_stream is read
    assert "end_of_stream" in page.problems


@pytest.mark.parametrize("sent", [None, 1, "yes", [True]])
def test_end_of_stream_that_is_not_a_boolean_is_not_the_end(sent):
    page = facts(end_of_stream=sent)
    assert page.end_of_stream is False
    assert "end_of_stream" in page.problems


@pytest.mark.parametrize("sent", [None, "", "   "])
def test_a_missing_or_empty_after_cursor_is_none(sent):
    assert facts(cursor=True, after_cursor=sent).after_cursor is None


def test_a_cursor_page_has_no_end_time_to_check():
    assert facts(cursor=True, after_cursor="c").problems == {}

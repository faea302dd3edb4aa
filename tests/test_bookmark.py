"""The STATE a run starts from: read when unambiguous, refused in one line otherwise."""

from __future__ import annotations

import logging

import pytest

from tap_zendesk_incremental.bookmark import StateError, check_state

NOW = 1_764_000_000.0
JAN_2024 = 1_704_067_200


def tickets_state(**stream) -> dict:
    return {"bookmarks": {"tickets": stream}}


def resumed(state) -> dict:
    return check_state(state, now=NOW).state["bookmarks"]["tickets"]


@pytest.mark.parametrize(
    "value",
    [JAN_2024, float(JAN_2024), str(JAN_2024), "2024-01-01T00:00:00Z", "2024-01-01T01:00:00+01:00"],
)
def test_a_bookmark_read_unambiguously_is_resumed_as_unix_seconds(value):
    stream = resumed(tickets_state(replication_key="end_time", replication_key_value=value))
    assert stream == {"replication_key": "end_time", "replication_key_value": JAN_2024}


def test_a_bookmark_a_little_ahead_of_this_clock_is_resumed_with_a_warning():
    # Written on a machine whose clock runs ahead: no run exports anything until then, briefly.
    ahead = int(NOW) + 600
    checked = check_state(tickets_state(replication_key_value=ahead), now=NOW)
    assert checked.state["bookmarks"]["tickets"]["replication_key_value"] == ahead
    assert [level for level, _ in checked.notes] == [logging.WARNING]


def test_a_bookmark_without_replication_key_is_resumed():
    assert resumed(tickets_state(replication_key_value=JAN_2024))["replication_key_value"] == (
        JAN_2024
    )


@pytest.mark.parametrize("value", ["2024-01-01T00:00:00Z", JAN_2024])
def test_another_zendesk_taps_bookmark_is_resumed_with_a_note(value):
    checked = check_state(tickets_state(generated_timestamp=value), now=NOW)
    assert checked.state["bookmarks"]["tickets"]["replication_key_value"] == JAN_2024
    assert any("another Zendesk tap" in message for _, message in checked.notes)


def test_meltanos_singer_state_wrapper_is_read():
    state = {"singer_state": tickets_state(replication_key_value=JAN_2024)}
    assert resumed(state)["replication_key_value"] == JAN_2024


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (JAN_2024 * 1000, "milliseconds"),
        ("2099-01-01T00:00:00Z", "in the future"),
        (int(NOW) + 2 * 86_400, "in the future"),
        (-5, "before 1970"),
        (JAN_2024 + 0.5, "neither Unix seconds"),
        ("yesterday", "neither Unix seconds"),
        (True, "neither Unix seconds"),
        (None, "neither Unix seconds"),
        ([JAN_2024], "neither Unix seconds"),
    ],
)
def test_a_bookmark_that_cannot_be_resumed_from_is_refused_with_the_fix(value, says):
    with pytest.raises(StateError, match=says) as raised:
        check_state(tickets_state(replication_key_value=value), now=NOW)
    assert "meltano state clear" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_bookmark_on_another_key_is_refused():
    with pytest.raises(StateError, match="'id'"):
        check_state(tickets_state(replication_key="id", replication_key_value=5), now=NOW)


@pytest.mark.parametrize(
    "state",
    [[], "x", {"bookmarks": []}, {"bookmarks": {"tickets": "x"}}, {"singer_state": 5}],
)
def test_a_state_of_the_wrong_shape_is_refused(state):
    with pytest.raises(StateError, match="not a JSON object"):
        check_state(state, now=NOW)


def test_an_empty_state_and_other_streams_start_from_start_date():
    assert check_state({}, now=NOW).state == {}
    assert check_state({"bookmarks": {"users": {"x": 1}}}, now=NOW).state == {
        "bookmarks": {"users": {"x": 1}}
    }


def test_written_ids_for_the_bookmarks_second_are_kept_with_their_cursor():
    written = {"generated_timestamp": JAN_2024, "ids": [3, "4"], "cursor": "abc"}
    stream = resumed(tickets_state(replication_key_value=JAN_2024, written_ids=written))
    assert stream["written_ids"] == {
        "generated_timestamp": JAN_2024,
        "ids": [3, 4],
        "cursor": "abc",
    }


@pytest.mark.parametrize(
    "written",
    [
        "3,4",
        {"generated_timestamp": JAN_2024 - 1, "ids": [3]},
        {"generated_timestamp": JAN_2024},
        {"generated_timestamp": JAN_2024, "ids": "3"},
        {"generated_timestamp": JAN_2024, "ids": [3, None]},
        {"generated_timestamp": JAN_2024, "ids": [True]},
        {"generated_timestamp": JAN_2024, "ids": [3], "cursor": 5},
    ],
)
def test_malformed_written_ids_are_dropped_with_a_warning(written):
    state = tickets_state(replication_key_value=JAN_2024, written_ids=written)
    checked = check_state(state, now=NOW)
    assert "written_ids" not in checked.state["bookmarks"]["tickets"]
    assert [level for level, _ in checked.notes] == [logging.WARNING]


def events_state(**stream) -> dict:
    return {"bookmarks": {"ticket_events": stream}}


def test_the_events_bookmark_is_checked_like_the_tickets_one_with_its_own_written_ids():
    written = {"timestamp": JAN_2024, "ids": [7, "8"]}
    state = events_state(replication_key_value=str(JAN_2024), written_ids=written)
    stream = check_state(state, now=NOW).state["bookmarks"]["ticket_events"]
    assert stream == {
        "replication_key": "end_time",
        "replication_key_value": JAN_2024,
        "written_ids": {"timestamp": JAN_2024, "ids": [7, 8]},
    }


def test_events_written_ids_named_as_for_tickets_are_dropped_with_a_warning():
    written = {"generated_timestamp": JAN_2024, "ids": [7]}
    state = events_state(replication_key_value=JAN_2024, written_ids=written)
    checked = check_state(state, now=NOW)
    assert "written_ids" not in checked.state["bookmarks"]["ticket_events"]
    assert [level for level, _ in checked.notes] == [logging.WARNING]
    assert "ticket_events of" in checked.notes[0][1]


def test_an_events_bookmark_in_milliseconds_is_refused_naming_the_stream():
    with pytest.raises(StateError, match=r"ticket_events bookmark .* in the future"):
        check_state(events_state(replication_key_value=JAN_2024 * 1000), now=NOW)

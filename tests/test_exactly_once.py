"""Across runs too, every ticket version is written exactly once (the STATE's `written_ids`)."""

from __future__ import annotations

from collections import Counter

import pytest
from helpers import Run, config_for

from tap_zendesk_incremental.sandbox import ZendeskSandbox


def versions(*records_lists) -> Counter:
    return Counter(
        (r["id"], r["generated_timestamp"]) for records in records_lists for r in records
    )


def latest_versions(sb) -> set[tuple[int, int]]:
    return {(i, t["generated_timestamp"]) for i, t in sb.tickets.items()}


def records_before(run: Run, state_index: int) -> list[dict]:
    """The records written before the `state_index`-th STATE message."""
    records, states = [], -1
    for message in run.messages:
        if message["type"] == "STATE":
            states += 1
            if states == state_index:
                return records
        elif message["type"] == "RECORD" and message["stream"] == "tickets":
            records.append(message["record"])
    raise AssertionError("no such STATE")


def test_two_runs_with_changes_between_write_each_version_once(sync):
    with ZendeskSandbox(tickets=1500, seed=31, port=0) as sb:
        first = sync(config_for(sb, per_page=100))
        touched = sorted(sb.tickets)[100:140]
        sb.touch(touched)
        second = sync(config_for(sb, per_page=100), state=first.state)
        written = versions(first.records(), second.records())
        assert max(written.values()) == 1
        assert {r["id"] for r in second.records()} == set(touched)


def test_the_bookmark_seconds_tickets_are_not_written_again(sync):
    with ZendeskSandbox(tickets=400, seed=31, port=0) as sb:
        first = sync(config_for(sb))
        bookmark_state = first.state["bookmarks"]["tickets"]
        on_bookmark = {
            i for i, t in sb.tickets.items() if t["generated_timestamp"] == first.bookmark
        }
        assert set(bookmark_state["written_ids"]["ids"]) == on_bookmark
        assert bookmark_state["written_ids"]["generated_timestamp"] == first.bookmark
        again = sync(config_for(sb), state=first.state)
        assert again.records() == []


@pytest.mark.parametrize("mode", ["grow", "stall"])
def test_a_crowded_last_second_is_not_repeated_by_the_next_run(mode, sync):
    with ZendeskSandbox(tickets=300, seed=8, port=0) as sb:
        sb.faults.same_second = mode
        crowded = sb.add_same_second(1500)
        first = sync(config_for(sb))
        assert first.bookmark == crowded
        sb.touch(sorted(sb.tickets)[:3])
        second = sync(config_for(sb), state=first.state)
        assert max(versions(first.records(), second.records()).values()) == 1
        assert len(second.records()) == 3


def test_a_run_stopped_inside_a_crowded_second_resumes_without_repeats(sync):
    with ZendeskSandbox(tickets=300, seed=8, port=0) as sb:
        sb.faults.same_second = "stall"
        crowded = sb.add_same_second(1500)
        sb.add_tickets(50)
        full = sync(config_for(sb, per_page=100))
        inside = [
            i
            for i, s in enumerate(full.states)
            if s["bookmarks"]["tickets"].get("written_ids", {}).get("generated_timestamp")
            == crowded
        ]
        stop_at = inside[len(inside) // 2]  # the last STATE a stopped run left
        kept = records_before(full, stop_at)
        state = full.states[stop_at]
        resumed = sync(config_for(sb, per_page=100), state=state)
        written = versions(kept, resumed.records())
        assert max(written.values()) == 1
        assert set(written) == latest_versions(sb)


def test_a_state_without_written_ids_still_works_repeating_only_the_bookmark_second(sync):
    with ZendeskSandbox(tickets=400, seed=31, port=0) as sb:
        first = sync(config_for(sb))
        old_state = {
            "bookmarks": {
                "tickets": {"replication_key": "end_time", "replication_key_value": first.bookmark}
            }
        }
        again = sync(config_for(sb), state=old_state)
        assert {r["generated_timestamp"] for r in again.records()} == {first.bookmark}

"""The ticket event export: `ticket_events` and `ticket_comments`, each item once."""

from __future__ import annotations

import json
import math
import time
from collections import Counter

import pytest
from helpers import config_for, error_lines, run_cli
from test_sideloads import catalog

from tap_zendesk_incremental.events import COMMENT_KINDS, child_events
from tap_zendesk_incremental.sandbox import ZendeskSandbox
from tap_zendesk_incremental.tap import TapZendeskIncremental

EVENTS, COMMENTS = "ticket_events", "ticket_comments"
CROWDED = 250  # events on one second, more than a page of PER_PAGE
PER_PAGE = 100


def catalog_args(tmp_path, config: dict, *selected: str) -> tuple[str, ...]:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog(config, *selected)))
    return ("--catalog", str(path))


def comments_of(events: list[dict]) -> dict[int, dict]:
    """id -> the Comment child event, from the sandbox's events."""
    return {
        child["id"]: {**child, "ticket_id": event["ticket_id"], "timestamp": event["timestamp"]}
        for event in events
        for child in event["child_events"]
        if child["event_type"] in COMMENT_KINDS
    }


def bookmark(run, stream: str = EVENTS) -> int:
    return run.state["bookmarks"][stream]["replication_key_value"]


@pytest.fixture(scope="module")
def sb():
    with ZendeskSandbox(tickets=900, seed=23, port=0) as sandbox:
        yield sandbox


def test_every_event_is_written_once_with_its_position(sb, sync):
    config = config_for(sb, per_page=PER_PAGE)
    run = sync(config, catalog=catalog(config, EVENTS))
    records, expected = run.records(EVENTS), sb.ticket_events(comments=False)
    assert Counter(r["id"] for r in records) == Counter(e["id"] for e in expected)
    assert all(r["end_time"] >= r["timestamp"] for r in records)
    positions = [r["end_time"] for r in records]
    assert positions == sorted(positions)
    assert bookmark(run) == max(e["timestamp"] for e in expected)
    assert not run.records("tickets")


def test_comments_are_the_comment_child_events_and_move_the_events_bookmark(sb, sync):
    config = config_for(sb, per_page=PER_PAGE)
    run = sync(config, catalog=catalog(config, COMMENTS))
    expected = comments_of(sb.ticket_events())
    written = {r["id"]: r for r in run.records(COMMENTS)}
    assert len(run.records(COMMENTS)) == len(written) == len(expected)
    for comment_id, comment in expected.items():
        record = written[comment_id]
        for key in ("ticket_id", "audit_id", "author_id", "body", "html_body", "plain_body"):
            assert record[key] == comment[key]
        assert record["public"] is comment["public"]
        assert record["via"] == comment["via"]
        assert record["timestamp"] == comment["timestamp"]
    assert not run.records(EVENTS)  # not selected: not written, but its bookmark moves
    assert bookmark(run) == max(e["timestamp"] for e in sb.ticket_events())


def test_comment_events_are_included_only_when_comments_are_selected(sb, sync):
    config = config_for(sb, per_page=300)
    for selected, include in (((EVENTS,), None), ((EVENTS, COMMENTS), "comment_events")):
        sb.requests.clear()
        sync(config, catalog=catalog(config, *selected))
        events_requests = [r for r in sb.requests if "ticket_events" in r.path]
        assert events_requests
        assert {r.params.get("include") for r in events_requests} == {include}


def test_a_second_run_from_the_state_gets_only_the_new_events(sync):
    with ZendeskSandbox(tickets=400, seed=5, port=0) as sb:
        config = config_for(sb, per_page=PER_PAGE)
        first = sync(config, catalog=catalog(config, EVENTS, COMMENTS))
        before = {e["id"] for e in sb.ticket_events()}
        sb.touch(range(1, 41))
        sb.touch(range(41, 61), gts=sb.next_gts())
        new = {e["id"] for e in sb.ticket_events()} - before
        second = sync(config, state=first.state, catalog=catalog(config, EVENTS, COMMENTS))
        assert Counter(r["id"] for r in second.records(EVENTS)) == Counter(new)
        comments = comments_of(sb.ticket_events())
        new_comments = {c for c, v in comments.items() if v["audit_id"] in new}
        assert {r["id"] for r in second.records(COMMENTS)} == new_comments


@pytest.mark.parametrize("selected", [(EVENTS,), (COMMENTS,)])
def test_a_grown_crowded_second_is_written_whole_and_the_export_goes_past_it(selected, sync):
    with ZendeskSandbox(tickets=300, seed=7, same_second_tickets=CROWDED, port=0) as sb:
        config = config_for(sb, per_page=PER_PAGE)
        run = sync(config, catalog=catalog(config, *selected))
        crowded = sb.same_second_gts
        on_second = [r for r in run.records(selected[0]) if r["timestamp"] == crowded]
        assert len(on_second) >= CROWDED
        starts = Counter(int(r.params["start_time"]) for r in sb.requests)
        assert starts[crowded] <= 2  # read whole once (again from a page ending on it)
        if selected == (EVENTS,):
            all_ids = [e["id"] for e in sb.ticket_events(comments=False)]
            assert Counter(r["id"] for r in run.records(EVENTS)) == Counter(all_ids)


def test_a_stalled_crowded_second_is_given_up_with_one_warning(tmp_path):
    with ZendeskSandbox(tickets=300, seed=7, same_second_tickets=CROWDED, port=0) as sb:
        sb.faults.events_same_second = "stall"
        config = config_for(sb, per_page=PER_PAGE)
        run = run_cli(config, tmp_path, args=catalog_args(tmp_path, config, EVENTS))
        assert run.exit_code == 0, run.stderr[-2000:]
        crowded = sb.same_second_gts
        records = run.records(EVENTS)
        assert len({r["id"] for r in records}) == len(records)  # shown events: each once
        assert sum(r["timestamp"] == crowded for r in records) == PER_PAGE
        warnings = [line for line in run.stderr.splitlines() if "stalled on" in line]
        mine = [line for line in warnings if f"({crowded})" in line]
        assert len(mine) == 1, warnings
        assert "WARNING" in mine[0]
        assert f"{PER_PAGE} events of that second were written" in mine[0]
        assert "count=100" in mine[0]
        assert "the tickets stream still has every ticket's state" in mine[0]
        # Every event outside a stalled second is written; the run moved past each one.
        stalled = {int(line.split("(")[1].split(")")[0]) for line in warnings}
        expected = [e for e in sb.ticket_events(comments=False) if e["timestamp"] not in stalled]
        assert {e["id"] for e in expected} <= {r["id"] for r in records}
        newest = max(e["timestamp"] for e in sb.ticket_events(comments=False))
        assert bookmark(run) == max(newest, *(second + 1 for second in stalled))  # past each


def test_tickets_and_events_share_one_budget(sync):
    limit, window = 5, 1.0
    with ZendeskSandbox(tickets=600, seed=2, port=0) as sb:
        sb.faults.rate_limit, sb.faults.rate_window = limit, window
        config = config_for(sb, per_page=50)
        started = time.monotonic()
        run = sync(config, catalog=catalog(config, "tickets", EVENTS, COMMENTS))
        elapsed = time.monotonic() - started
        pages = len(sb.requests) - sb.count_429
        assert any("ticket_events" in r.path for r in sb.requests)
        assert any(r.path.endswith("/tickets") for r in sb.requests)
        assert Counter(r["id"] for r in run.records()) == Counter(set(sb.tickets))
        assert len(run.records(EVENTS)) == len(sb.ticket_events(comments=False))
        assert sb.count_429 <= 1
        ideal = (math.ceil(pages / limit) - 1) * window  # every window used to the full
        print(f"{pages} pages, {sb.count_429} 429s, {elapsed:.1f} s, ideal {ideal:.1f} s")
        assert elapsed <= ideal * 1.15 + 1.0, f"{elapsed:.1f}s against an ideal {ideal:.1f}s"


def test_a_value_of_another_type_is_repaired_and_counted(tmp_path):
    with ZendeskSandbox(tickets=300, seed=3, port=0) as sb:
        sb.faults.hostile = True
        config = config_for(sb, per_page=PER_PAGE)
        run = run_cli(config, tmp_path, args=catalog_args(tmp_path, config, EVENTS))
        assert run.exit_code == 0, run.stderr[-2000:]
        ids = [r["id"] for r in run.records(EVENTS)]
        assert Counter(ids) == Counter(e["id"] for e in sb.ticket_events(comments=False))
        counted = [line for line in run.stderr.splitlines() if "values in ticket_events" in line]
        assert len(counted) == 1
        assert "WARNING" in counted[0]
        assert "Traceback" not in run.stderr


def test_every_stream_is_paced_by_the_taps_one_pacer(sb):
    tap = TapZendeskIncremental(config=config_for(sb))
    pacers = {id(stream.pacer) for stream in tap.streams.values()}
    assert pacers == {id(tap.pacer)}


@pytest.mark.parametrize("fault", ["403", "500"])
def test_a_failing_events_export_ends_in_one_error_line_without_a_secret(fault, tmp_path):
    with ZendeskSandbox(tickets=200, seed=3, port=0) as sb:
        sb.fail_next(fault, 1000)
        config = config_for(sb, per_page=PER_PAGE, max_retry_seconds=1)
        run = run_cli(config, tmp_path, args=catalog_args(tmp_path, config, EVENTS, COMMENTS))
        assert run.exit_code == 1
        assert len(error_lines(run.stderr)) == 1, run.stderr[-2000:]
        assert "ticket_events" in error_lines(run.stderr)[0]
        for secret in (sb.api_token, sb.access_token):
            assert secret not in run.stderr
            assert secret not in run.stdout


@pytest.mark.parametrize("stream", ["tickets", EVENTS])
def test_an_item_repeated_on_its_page_is_written_once(sync, stream):
    with ZendeskSandbox(tickets=300, seed=8, port=0) as sb:
        sb.faults.rows_fault = "repeat"  # each page's last item once more at its end
        config = config_for(sb, per_page=PER_PAGE)
        run = sync(config, catalog=catalog(config, stream, COMMENTS))
        expected = sb.ticket_events() if stream == EVENTS else list(sb.tickets.values())
    ids = [r["id"] for r in run.records(stream)]
    assert len(ids) == len(set(ids)) == len(expected)
    if stream == EVENTS:
        comments = [r["id"] for r in run.records(COMMENTS)]
        assert len(comments) == len(set(comments)) == len(comments_of(expected))


def test_comments_of_child_events_sent_as_an_object_are_written(sync):
    with ZendeskSandbox(tickets=300, seed=8, port=0) as sb:
        sb.faults.rows_fault = "children_object"  # every fifth event's child events by id
        config = config_for(sb, per_page=PER_PAGE)
        run = sync(config, catalog=catalog(config, EVENTS, COMMENTS))
        expected = comments_of(sb.ticket_events())
    assert {r["id"] for r in run.records(COMMENTS)} == set(expected)


@pytest.mark.parametrize(("stream", "noun"), [("tickets", "ticket"), (EVENTS, "event")])
def test_items_without_an_id_are_counted_in_one_warning(tmp_path, stream, noun):
    with ZendeskSandbox(tickets=300, seed=8, port=0) as sb:
        sb.faults.rows_fault = "no_id"  # every tenth item without its id
        config = config_for(sb, per_page=1000)  # one page: each counted once
        expected = sb.ticket_events() if stream == EVENTS else list(sb.tickets.values())
        run = run_cli(config, tmp_path, args=catalog_args(tmp_path, config, stream))
    lost = sum(1 for item in expected if item["id"] % 10 == 3)
    assert lost
    assert len(run.records(stream)) == len(expected) - lost
    counted = [line for line in run.stderr.splitlines() if "were left out this run" in line]
    assert len(counted) == 1
    assert f"{lost} items of {stream} were left out" in counted[0]
    assert f"{lost} without a usable `id`" in counted[0]
    assert run.exit_code == 0


def test_comments_selected_after_events_say_the_earlier_comments_do_not_come(tmp_path):
    with ZendeskSandbox(tickets=200, seed=8, port=0) as sb:
        config = config_for(sb, per_page=1000)
        first = run_cli(config, tmp_path, args=catalog_args(tmp_path, config, EVENTS))
        later = run_cli(
            config, tmp_path, state=first.state, args=catalog_args(tmp_path, config, COMMENTS)
        )
        again = run_cli(
            config, tmp_path, state=later.state, args=catalog_args(tmp_path, config, COMMENTS)
        )
    said = [line for line in later.stderr.splitlines() if "for the first time" in line]
    assert len(said) == 1
    assert "ticket_comments" in said[0]
    assert "without the ticket_events bookmark" in said[0]
    assert "for the first time" not in again.stderr  # said once: its STATE knows it now


def test_comments_that_include_did_not_bring_are_said_in_one_warning(tmp_path):
    with ZendeskSandbox(tickets=200, seed=8, port=0) as sb:
        sb.faults.rows_fault = "no_comments"  # a proxy dropping include=comment_events
        config = config_for(sb, per_page=PER_PAGE)
        run = run_cli(config, tmp_path, args=catalog_args(tmp_path, config, EVENTS, COMMENTS))
    said = [line for line in run.stderr.splitlines() if "include=comment_events" in line]
    assert len(said) == 1
    assert "WARNING" in said[0]
    assert run.exit_code == 0
    assert run.records(EVENTS)


def test_comments_brought_by_include_raise_no_warning(tmp_path):
    with ZendeskSandbox(tickets=200, seed=8, port=0) as sb:
        config = config_for(sb, per_page=PER_PAGE)
        run = run_cli(config, tmp_path, args=catalog_args(tmp_path, config, EVENTS, COMMENTS))
    assert "include=comment_events" not in run.stderr
    assert run.records(COMMENTS)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ([{"id": 1, "event_type": "Comment"}, "junk"], [{"id": 1, "event_type": "Comment"}]),
        ({"id": 1, "event_type": "Comment"}, [{"id": 1, "event_type": "Comment"}]),
        ({"7": {"id": 7, "event_type": "Comment"}, "x": 3}, [{"id": 7, "event_type": "Comment"}]),
        ("Comment", []),
        (None, []),
    ],
    ids=["list", "one-child-event", "by-key", "text", "null"],
)
def test_child_events_are_read_from_whatever_form_they_come_in(sent, expected):
    assert child_events(sent) == expected

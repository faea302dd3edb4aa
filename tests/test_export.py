"""The export, end to end over HTTP against the sandbox: every ticket, once, resumably."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
import urllib.request
from collections import Counter

import pytest
from helpers import config_for, run_cli

from tap_zendesk_incremental.sandbox import ZendeskSandbox
from tap_zendesk_incremental.tap import TapZendeskIncremental

EXPORT = "/api/v2/incremental/tickets"


@pytest.fixture(scope="module")
def sb():
    with ZendeskSandbox(tickets=2500, seed=7, port=0) as sandbox:
        yield sandbox


def export_requests(sb):
    return [r for r in sb.requests if r.path.startswith(EXPORT)]


def test_a_full_export_is_the_sandbox_ticket_set_each_latest_version_once(sb, sync):
    run = sync(config_for(sb, per_page=100))
    records = run.records()
    assert Counter(r["id"] for r in records) == Counter(set(sb.tickets))  # every id, once
    for record in records:
        ticket = sb.tickets[record["id"]]
        assert record["generated_timestamp"] == ticket["generated_timestamp"]
        assert record["subject"] == ticket["subject"]


def test_schema_comes_before_records_with_the_key_and_replication_key(sb, sync):
    run = sync(config_for(sb, per_page=500))
    first_record = next(i for i, m in enumerate(run.messages) if m["type"] == "RECORD")
    schema = next(m for m in run.messages[:first_record] if m["type"] == "SCHEMA")
    assert schema["stream"] == "tickets"
    assert schema["key_properties"] == ["id"]
    assert schema["bookmark_properties"] == ["end_time"]


def served_tickets(sb, request) -> int:
    """Ask the sandbox for a page the tap asked for, and count the tickets in it."""
    query = urllib.parse.urlencode(request.params)
    ask = urllib.request.Request(f"{sb.url}{request.path}?{query}")
    token = base64.b64encode(f"{sb.email}/token:{sb.api_token}".encode()).decode()
    ask.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(ask) as answer:
        return len(json.load(answer)["tickets"])


def test_boundary_second_repeats_are_dropped(sb, sync):
    sb.requests.clear()
    run = sync(config_for(sb, per_page=100))
    pages = [r for r in export_requests(sb) if r.status == 200]
    served = sum(served_tickets(sb, r) for r in pages)
    versions = run.versions()
    assert served > len(versions)  # Zendesk's pages repeated tickets...
    assert len(versions) == len(set(versions)) == len(sb.tickets)  # ...none written twice


def test_each_record_carries_its_own_export_position(sb, sync):
    run = sync(config_for(sb, per_page=100))
    for record in run.records():
        assert record["end_time"] == record["generated_timestamp"]
    positions = [r["end_time"] for r in run.records()]
    assert positions == sorted(positions)


def test_a_state_after_every_page_never_ahead_of_the_records_written(sb, sync):
    run = sync(config_for(sb, per_page=100))
    # The sandbox grows a page of one second to the whole second, as Zendesk documents.
    largest_page = 100 + max(
        Counter(t["generated_timestamp"] for t in sb.tickets.values()).values()
    )
    since_state = 0
    for message in run.messages:  # no page's records wait for a later page's STATE
        if message["type"] in {"STATE", "RECORD"}:
            since_state = 0 if message["type"] == "STATE" else since_state + 1
        assert since_state <= largest_page
    written: set[int] = set()
    for message in run.messages:
        if message["type"] == "RECORD":
            written.add(message["record"]["id"])
        elif message["type"] == "STATE":
            bookmark = message["value"]["bookmarks"]["tickets"].get("replication_key_value")
            if bookmark is None:
                continue
            older = {i for i, t in sb.tickets.items() if t["generated_timestamp"] < bookmark}
            assert older <= written, "a STATE covered tickets not yet written"


def test_the_bookmark_is_the_last_pages_end_time(sb, sync):
    run = sync(config_for(sb, per_page=100))
    assert run.state["bookmarks"]["tickets"]["replication_key"] == "end_time"
    assert run.bookmark == max(t["generated_timestamp"] for t in sb.tickets.values())
    assert isinstance(run.bookmark, int)


def test_end_of_stream_stops_the_run(sb, sync):
    sb.requests.clear()
    sync(config_for(sb, per_page=1000))
    pages = export_requests(sb)
    expected = -(-len(sb.tickets) // 1000)  # ceil: the last page says end_of_stream
    assert len(pages) <= expected + 1
    assert all(r.status == 200 for r in pages)


def test_a_second_run_starts_at_the_bookmark_and_gets_only_what_changed(sync):
    with ZendeskSandbox(tickets=800, seed=3, port=0) as sb:
        first = sync(config_for(sb, per_page=100))
        changed = sorted(sb.tickets)[10:15]
        second_of_change = sb.touch(changed)
        added = sb.add_tickets(3)
        sb.requests.clear()
        second = sync(config_for(sb, per_page=100), state=first.state)
        assert export_requests(sb)[0].params["start_time"] == str(first.bookmark)
        assert {r["id"] for r in second.records()} == set(changed) | set(added)
        assert all(r["generated_timestamp"] == second_of_change for r in second.records()[:5])
        assert second.bookmark >= second_of_change


def test_deleted_tickets_arrive_with_status_deleted(sb, sync):
    run = sync(config_for(sb))
    deleted = {i for i, t in sb.tickets.items() if t["status"] == "deleted"}
    assert deleted
    assert {r["id"] for r in run.records() if r["status"] == "deleted"} == deleted


def test_exclude_deleted_asks_zendesk_to_leave_them_out(sb, sync):
    sb.requests.clear()
    run = sync(config_for(sb, exclude_deleted=True))
    assert all(r.params.get("exclude_deleted") == "true" for r in export_requests(sb))
    assert not [r for r in run.records() if r["status"] == "deleted"]
    alive = {i for i, t in sb.tickets.items() if t["status"] != "deleted"}
    assert {r["id"] for r in run.records()} == alive


def test_a_start_inside_the_last_minute_is_caught_up_without_a_request(sb, sync):
    sb.requests.clear()
    recent = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 20))
    run = sync(config_for(sb, start_date=recent))
    assert run.records() == []
    assert export_requests(sb) == []


def test_a_property_deselected_in_the_catalog_is_left_out(sb, sync):
    config = config_for(sb)
    catalog = TapZendeskIncremental(config=config).catalog_dict
    tickets = next(s for s in catalog["streams"] if s["tap_stream_id"] == "tickets")
    for entry in tickets["metadata"]:
        if entry["breadcrumb"] == ["properties", "description"]:
            entry["metadata"]["selected"] = False
    run = sync(config, catalog=catalog)
    assert run.records()
    assert all("description" not in r and "subject" in r for r in run.records())


@pytest.mark.parametrize("status", [422, 400])
def test_a_too_recent_answer_means_caught_up_not_an_error(status, tmp_path):
    with ZendeskSandbox(tickets=100, seed=3, port=0) as sb:
        sb.faults.too_recent_status = status
        sb.faults.clock_behind = 90  # Zendesk's clock is behind: our start is too recent for it
        bookmark = int(time.time()) - 120
        state = {
            "bookmarks": {
                "tickets": {"replication_key": "end_time", "replication_key_value": bookmark}
            }
        }
        run = run_cli(config_for(sb), tmp_path, state=state)
        assert [r.status for r in export_requests(sb)] == [status]
    assert run.exit_code == 0, run.stderr
    assert run.records() == []
    assert run.bookmark == bookmark
    assert "Caught up" in run.stderr

"""Users, groups, organizations and metric sets from the same export pages, each once."""

from __future__ import annotations

from collections import Counter

import pytest
from helpers import config_for

from tap_zendesk_incremental.sandbox import ZendeskSandbox
from tap_zendesk_incremental.sideloads import TicketMetricSetsStream, UsersStream
from tap_zendesk_incremental.tap import TapZendeskIncremental

SIDELOADS = {
    "users": "users",
    "groups": "groups",
    "organizations": "organizations",
    "ticket_metric_sets": "metric_sets",
}


@pytest.fixture(scope="module")
def sb():
    with ZendeskSandbox(tickets=1200, seed=17, port=0) as sandbox:
        yield sandbox


def catalog(config: dict, *selected: str) -> dict:
    """The discovered catalog with exactly these streams selected."""
    found = TapZendeskIncremental(config=config).catalog_dict
    for stream in found["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] in selected
    return found


def referenced(sb, stream: str) -> set[int]:
    """The ids of `stream`'s objects that the sandbox's tickets refer to."""
    tickets = list(sb.tickets.values())
    if stream == "groups":
        return {t["group_id"] for t in tickets if t["group_id"] is not None}
    if stream == "organizations":
        return {t["organization_id"] for t in tickets if t["organization_id"] is not None}
    if stream == "ticket_metric_sets":
        return {m["id"] for m in sb.metric_sets.values()}
    ids = set()
    for t in tickets:
        ids |= {t["requester_id"], t["submitter_id"], t["assignee_id"]}
        for key in ("collaborator_ids", "follower_ids", "email_cc_ids"):
            ids |= set(t.get(key) or ())
    return (ids - {None}) & set(sb.users)


def includes(sb) -> set[str]:
    return {r.params.get("include", "") for r in sb.requests}


def test_no_include_when_only_tickets_are_selected(sb, sync):
    sb.requests.clear()
    run = sync(config_for(sb, per_page=200))
    assert includes(sb) == {""}
    assert {m["stream"] for m in run.messages if m["type"] == "RECORD"} == {"tickets"}


@pytest.mark.parametrize("stream", sorted(SIDELOADS))
def test_a_selected_sideload_is_included_and_each_object_written_once(stream, sb, sync):
    sb.requests.clear()
    config = config_for(sb, per_page=200)
    run = sync(config, catalog=catalog(config, "tickets", stream))
    assert includes(sb) == {SIDELOADS[stream]}
    ids = Counter(r["id"] for r in run.records(stream))
    assert max(ids.values()) == 1
    assert set(ids) == referenced(sb, stream)
    assert len(run.records("tickets")) == len(sb.tickets)


def test_all_sideloads_together_in_one_request_per_page(sb, sync):
    sb.requests.clear()
    config = config_for(sb, per_page=200)
    run = sync(config, catalog=catalog(config, "tickets", *SIDELOADS))
    assert includes(sb) == {"groups,metric_sets,organizations,users"}
    pages = len(sb.requests)
    sb.requests.clear()
    sync(config)
    assert len(sb.requests) == pages  # no request of its own
    for stream in SIDELOADS:
        assert Counter(r["id"] for r in run.records(stream)).most_common(1)[0][1] == 1


def test_each_sideload_stream_sends_one_schema_with_its_key_before_its_records(sb, sync):
    config = config_for(sb, per_page=200)
    run = sync(config, catalog=catalog(config, "tickets", *SIDELOADS))
    for stream in SIDELOADS:
        schemas = [
            i for i, m in enumerate(run.messages) if m["type"] == "SCHEMA" and m["stream"] == stream
        ]
        first_record = next(
            i for i, m in enumerate(run.messages) if m["type"] == "RECORD" and m["stream"] == stream
        )
        assert len(schemas) == 1
        assert schemas[0] < first_record
        assert run.messages[schemas[0]]["key_properties"] == ["id"]


def test_a_pages_related_objects_come_before_the_state_that_passes_it(sb, sync):
    config = config_for(sb, per_page=200)
    run = sync(config, catalog=catalog(config, "tickets", "groups"))
    first_state_after_records = next(
        i
        for i, m in enumerate(run.messages)
        if m["type"] == "STATE" and "replication_key_value" in m["value"]["bookmarks"]["tickets"]
    )
    before = {
        m["stream"] for m in run.messages[:first_state_after_records] if m["type"] == "RECORD"
    }
    assert before == {"tickets", "groups"}


def test_only_tickets_keeps_a_bookmark(sb, sync):
    config = config_for(sb, per_page=200)
    run = sync(config, catalog=catalog(config, "tickets", *SIDELOADS))
    bookmarks = run.state["bookmarks"]
    assert bookmarks["tickets"]["replication_key"] == "end_time"
    for stream in SIDELOADS:
        assert "replication_key_value" not in bookmarks.get(stream, {})


def test_only_a_newer_version_of_an_object_is_written_again():
    stream = UsersStream.__new__(UsersStream)  # the dedupe alone, without a tap
    stream.written = {}
    assert stream.is_newer({"id": 1, "updated_at": "2024-01-01T00:00:00Z"})
    assert not stream.is_newer({"id": 1, "updated_at": "2024-01-01T00:00:00Z"})
    assert not stream.is_newer({"id": 1, "updated_at": "2023-12-31T00:00:00Z"})
    assert stream.is_newer({"id": 1, "updated_at": "2024-02-01T00:00:00Z"})


def test_metric_sets_are_also_read_from_inside_each_ticket():
    stream = TicketMetricSetsStream.__new__(TicketMetricSetsStream)
    page = {"tickets": [{"id": 1, "metric_set": {"id": 9, "ticket_id": 1}}, {"id": 2}]}
    assert stream.objects(page) == [{"id": 9, "ticket_id": 1}]

"""The sandbox itself, over real HTTP on 127.0.0.1 (urllib only, no tap)."""

from __future__ import annotations

import base64
import http.client
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tap_zendesk_incremental.sandbox import Faults, ZendeskSandbox, generate_tickets

TIME = "/api/v2/incremental/tickets.json"
CURSOR = "/api/v2/incremental/tickets/cursor.json"


def basic(sb: ZendeskSandbox) -> str:
    return "Basic " + base64.b64encode(f"{sb.email}/token:{sb.api_token}".encode()).decode()


def get(url: str, auth: str | None) -> tuple[int, http.client.HTTPMessage, bytes]:
    headers = {"Accept": "application/json"}
    if auth:
        headers["Authorization"] = auth
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def get_json(sb: ZendeskSandbox, path_and_query: str) -> tuple[int, Any]:
    url = path_and_query if path_and_query.startswith("http") else sb.url + path_and_query
    status, _, body = get(url, basic(sb))
    return status, json.loads(body)


def follow_time_export(sb: ZendeskSandbox, query: str) -> list[dict[str, Any]]:
    """Every ticket sent, in order, following next_page until end_of_stream."""
    url, sent = f"{sb.url}{TIME}?{query}", []
    for _ in range(100):
        status, page = get_json(sb, url)
        assert status == 200, page
        sent.extend(page["tickets"])
        if page["end_of_stream"]:
            return sent
        url = page["next_page"]
    raise AssertionError("no end_of_stream after 100 pages")


@pytest.fixture(scope="module")
def shared() -> Any:
    with ZendeskSandbox(tickets=1500, seed=1, same_second_tickets=150) as sb:
        yield sb


@pytest.fixture
def sb(shared: ZendeskSandbox) -> ZendeskSandbox:
    shared.faults = Faults()  # every test starts without faults
    return shared


def test_time_export_delivers_every_latest_ticket(sb: ZendeskSandbox) -> None:
    sent = follow_time_export(sb, "start_time=0&per_page=400")
    latest: dict[int, dict[str, Any]] = {}
    for ticket in sent:
        latest[ticket["id"]] = ticket
    assert latest == dict(sb.tickets)
    assert len(sent) > len(latest)  # boundary seconds came twice
    stamps = [t["generated_timestamp"] for t in sent]
    assert stamps == sorted(stamps)  # each page starts at the previous page's end_time


def test_page_boundary_second_comes_again(sb: ZendeskSandbox) -> None:
    _, first = get_json(sb, f"{TIME}?start_time=0&per_page=50")
    assert first["count"] == 50
    assert not first["end_of_stream"]
    assert first["end_time"] == first["tickets"][-1]["generated_timestamp"]
    boundary = [t["id"] for t in first["tickets"] if t["generated_timestamp"] == first["end_time"]]
    _, second = get_json(sb, first["next_page"])
    assert [t["id"] for t in second["tickets"][: len(boundary)]] == boundary
    assert "per_page=50" in first["next_page"]


def test_same_second_block_grows_or_stalls(sb: ZendeskSandbox) -> None:
    second = sb.same_second_gts
    assert second is not None
    query = f"{TIME}?start_time={second}&per_page=100"
    _, grown = get_json(sb, query)
    assert grown["count"] == len(grown["tickets"]) == 150
    assert {t["generated_timestamp"] for t in grown["tickets"]} == {second}
    sb.faults.same_second = "stall"
    _, stalled = get_json(sb, query)
    _, again = get_json(sb, stalled["next_page"])
    assert stalled["count"] == 100
    assert stalled["end_time"] == second
    assert [t["id"] for t in again["tickets"]] == [t["id"] for t in stalled["tickets"]]


def test_cursor_export_gives_every_ticket_once(sb: ZendeskSandbox) -> None:
    url, ids = f"{sb.url}{CURSOR}?start_time=0&per_page=100", []
    for _ in range(100):
        _, page = get_json(sb, url)
        ids.extend(t["id"] for t in page["tickets"])
        if page["end_of_stream"]:
            break
        url = page["after_url"]
    assert sorted(ids) == sorted(sb.tickets)
    assert len(ids) == len(set(ids))
    status, error = get_json(sb, f"{CURSOR}?cursor=not-a-cursor")
    assert status == 400
    assert error["error"] == "InvalidValue"


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 400),
        ("start_time=abc", 400),
        ("start_time=9999999999", 400),
        ("start_time=0&per_page=1001", 400),
        ("start_time=0&include=last_audits", 400),
        ("start_time=0&include=users,groups", 200),
    ],
)
def test_parameter_validation(sb: ZendeskSandbox, query: str, status: int) -> None:
    assert get_json(sb, f"{TIME}?{query}")[0] == status


def test_too_recent_start_time(sb: ZendeskSandbox) -> None:
    recent = int(time.time()) - 10
    status, error = get_json(sb, f"{TIME}?start_time={recent}")
    assert status == 422
    assert error["error"] == "InvalidValue"
    assert error["description"].startswith("Too recent start_time")
    sb.faults.too_recent_status = 400
    status, error = get_json(sb, f"{TIME}?start_time={recent}")
    assert status == 400
    assert error["error"] == "StartTimeTooRecent"


def test_authentication(sb: ZendeskSandbox) -> None:
    url = f"{sb.url}{TIME}?start_time=0&per_page=1"
    wrong = "Basic " + base64.b64encode(f"{sb.email}/token:nope".encode()).decode()
    status, headers, body = get(url, wrong)
    assert status == 401
    assert json.loads(body) == {"error": "Couldn't authenticate you"}
    assert headers["X-Zendesk-Request-Id"]
    assert get(url, None)[0] == 401
    assert get(url, f"Bearer {sb.access_token}")[0] == 200
    kinds = [r.auth_kind for r in sb.requests[-3:]]
    assert kinds == ["basic", None, "bearer"]
    assert "nope" not in repr(sb.requests)
    assert sb.access_token not in repr(sb.requests)
    assert get(f"{sb.url}/api/v2/tickets.json", basic(sb))[0] == 404


@pytest.mark.parametrize("style", ["zendesk", "ratelimit"])
def test_rate_limit(style: str) -> None:
    faults = Faults(rate_limit=2, rate_window=30, rate_headers=style)
    with ZendeskSandbox(tickets=20, faults=faults) as sb:
        url = f"{sb.url}{TIME}?start_time=0"
        statuses = [get(url, basic(sb)) for _ in range(3)]
    assert [s for s, _, _ in statuses] == [200, 200, 429]
    headers = statuses[2][1]
    assert 1 <= int(headers["Retry-After"]) <= 30
    if style == "zendesk":
        assert headers["Zendesk-RateLimit-incremental-exports"].startswith("total=2; remaining=0;")
    else:
        assert headers["ratelimit-limit"] == "2"
        assert headers["ratelimit-remaining"] == "0"
    assert sb.count_429 == 1


def test_scripted_faults(sb: ZendeskSandbox) -> None:
    url = f"{sb.url}{TIME}?start_time=0&per_page=20"
    sb.fail_next("reset")
    with pytest.raises((ConnectionError, urllib.error.URLError, http.client.HTTPException)):
        get(url, basic(sb))
    sb.fail_next("truncated")
    with pytest.raises(http.client.IncompleteRead):
        get(url, basic(sb))
    sb.fail_next("html502")
    status, headers, body = get(url, basic(sb))
    assert status == 502
    assert headers["Content-Type"].startswith("text/html")
    sb.fail_next("badjson")
    status, _, body = get(url, basic(sb))
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    assert get(url, basic(sb))[0] == 200
    assert [r.fault for r in sb.requests[-5:]] == ["reset", "truncated", "html502", "badjson", None]


def test_random_faults_are_reproducible() -> None:
    def statuses() -> list[int]:
        faults = Faults(fail_rate=0.5, fail_kinds=("500", "503"), fault_seed=4)
        with ZendeskSandbox(tickets=20, faults=faults) as sb:
            return [get(f"{sb.url}{TIME}?start_time=0", basic(sb))[0] for _ in range(12)]

    first = statuses()
    assert first == statuses()
    assert {200, 500, 503} <= set(first)


def test_changes_move_tickets_to_the_end() -> None:
    with ZendeskSandbox(tickets=300, seed=3) as sb:
        before = sb.tickets[5]
        second = sb.touch([5, 7])
        deleted_at = sb.delete([9])
        new_ids = sb.add_tickets(3)
        _, page = get_json(sb, f"{TIME}?start_time={second}")
        assert [t["id"] for t in page["tickets"]] == [5, 7, 9, *new_ids]
        assert page["end_of_stream"]
        assert deleted_at == second + 1
        assert sb.tickets[5]["subject"] != before["subject"]
        assert sb.tickets[9]["status"] == "deleted"
        _, live = get_json(sb, f"{TIME}?start_time={second}&exclude_deleted=true")
        assert 9 not in [t["id"] for t in live["tickets"]]


def test_sideloads_hold_each_referenced_object_once(sb: ZendeskSandbox) -> None:
    query = f"{TIME}?start_time=0&per_page=200&include=users,groups,organizations,metric_sets"
    _, page = get_json(sb, query)
    tickets = page["tickets"]
    wanted_users = {t[k] for t in tickets for k in ("requester_id", "submitter_id", "assignee_id")}
    wanted_users |= {u for t in tickets for u in (t["collaborator_ids"] or [])}
    user_ids = [u["id"] for u in page["users"]]
    assert len(user_ids) == len(set(user_ids))
    assert set(user_ids) == wanted_users - {None}
    assert {g["id"] for g in page["groups"]} == {t["group_id"] for t in tickets} - {None}
    assert {m["ticket_id"] for m in page["metric_sets"]} == {t["id"] for t in tickets}
    assert all(t["metric_set"]["ticket_id"] == t["id"] for t in tickets)
    assert page["users"][0] == sb.users[user_ids[0]]
    assert "include=users,groups,organizations,metric_sets" in page["next_page"]


def test_cli_serves_until_sigterm() -> None:
    command = [
        sys.executable,
        "-m",
        "tap_zendesk_incremental.sandbox",
        "--tickets",
        "50",
        "--port",
        "0",
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as child:
        line = child.stdout.readline()
        url = line.split()[3]
        sb_auth = "Basic " + base64.b64encode(b"admin@example.com/token:sandbox-api-token").decode()
        assert get(f"{url}{TIME}?start_time=0", sb_auth)[0] == 200
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=10) == 0
        assert "Traceback" not in child.stderr.read()


def test_lazily_built_tickets_do_not_depend_on_reading_order() -> None:
    with ZendeskSandbox(tickets=1500, seed=9) as sb:
        backwards = [sb.tickets[i] for i in sorted(sb.tickets, reverse=True)][::-1]
        assert backwards == generate_tickets(1500, seed=9, base_url=sb.url)


def test_data_is_deterministic_and_complete() -> None:
    tickets = generate_tickets(200, seed=5)
    assert tickets == generate_tickets(200, seed=5)
    assert tickets != generate_tickets(200, seed=6)
    assert [t["id"] for t in tickets] == list(range(1, 201))
    required = {"id", "url", "subject", "status", "generated_timestamp", "custom_fields", "via"}
    assert all(required <= t.keys() for t in tickets)
    assert all(
        t["updated_at"] is None or t["created_at"] is None or t["created_at"] <= t["updated_at"]
        for t in tickets
    )

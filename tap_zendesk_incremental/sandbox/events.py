"""The ticket events export: one event per ticket version, built from its (second, id) alone.

Every version the store holds came from an update: a new ticket's from its Create event, a
touch's or a delete's from a Change event at the same second. The log keeps only a small
tuple per event, sorted like the export (`timestamp`, event id); the JSON of an event is built
from its tuple with a random stream of its own, when a page is served. A second holding many
tickets (a burst, `same_second_tickets`, a bulk touch) holds as many events.
"""

# Synthetic data, not secrets: `random` is the right tool.
# ruff: noqa: S311

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right, insort
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlencode

from tap_zendesk_incremental.sandbox.data import STATUSES, encode
from tap_zendesk_incremental.sandbox.directory import USER_BASE, iso
from tap_zendesk_incremental.sandbox.export import (
    VISIBLE_DELAY,
    Options,
    invalid,
    parse_start_time,
    select,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from tap_zendesk_incremental.sandbox.directory import People
    from tap_zendesk_incremental.sandbox.export import Context
    from tap_zendesk_incremental.sandbox.store import Position

EVENTS_PATH = "/api/v2/incremental/ticket_events.json"
EVENT_BASE = 365_000_000_000
COMMENT_BASE = 366_000_000_000
CREATE, CHANGE, DELETE = 0, 1, 2
COMMENT_SHARE = 0.8  # most updates carry a comment
VIAS = ("Web form", "Mail", "API", "Mobile", "Rule")
PRIORITIES = ("low", "normal", "high", "urgent", None)
AFTER_ALL = 2**63


class EventRow(NamedTuple):
    """One event as the log keeps it; sorted as the export is (by second, then id)."""

    gts: int  # the event's `timestamp` (the name `select` pages by)
    id: int
    ticket_id: int
    kind: int
    deleted: bool = False  # no event is deleted (`select` asks)


class EventLog:
    """Every event of the account, sorted; callers hold the store's lock."""

    def __init__(self) -> None:
        self.rows: list[EventRow] = []
        self.next_id = EVENT_BASE + 1

    def plan(self, positions: Iterable[Position]) -> None:
        """A Create event for each initial ticket (their seconds, ids increasing with time)."""
        for gts, ticket_id in sorted(positions):
            self.rows.append(EventRow(gts, self.next_id, ticket_id, CREATE))
            self.next_id += 1
        self.rows.sort()

    def add(self, gts: int, ticket_id: int, kind: int) -> None:
        insort(self.rows, EventRow(gts, self.next_id, ticket_id, kind))
        self.next_id += 1

    def first_at(self, gts: int) -> int:
        return bisect_left(self.rows, (gts,))

    def end_at(self, gts: int) -> int:
        return bisect_right(self.rows, (gts, AFTER_ALL))

    def scan(self, start: int, stop: int, *, skip_deleted: bool) -> Iterator[tuple[int, EventRow]]:
        del skip_deleted  # events are never deleted
        rows = self.rows
        for i in range(start, stop):
            yield i, rows[i]


def event_options(params: Mapping[str, str], per_page_max: int) -> Options:
    raw = params.get("per_page", str(per_page_max))
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= per_page_max:
        raise invalid(f"per_page must be between 1 and {per_page_max}")
    names = [name.strip() for name in params.get("include", "").split(",") if name.strip()]
    for name in names:
        if name != "comment_events":
            raise invalid(f"Sideload {name!r} is not supported by this endpoint")
    return Options(int(raw), exclude_deleted=False, include=tuple(dict.fromkeys(names)))


def events_page(log: EventLog, people: People, params: Mapping[str, str], ctx: Context) -> bytes:
    """A time-based page of events: the same rules as the ticket export, no cursor."""
    start = parse_start_time(params, ctx)
    options = event_options(params, ctx.per_page_max)
    stop = log.end_at(ctx.now - VISIBLE_DELAY)
    grow = ctx.faults.events_same_second == "grow"
    rows, _, end_of_stream = select(log, log.first_at(start), stop, options, grow=grow)  # type: ignore[arg-type]
    end_time = rows[-1].gts if rows else start
    link = urlencode({"start_time": str(end_time), **options.carried()}, safe=",")
    # "no_comments": a proxy that drops `include`, so events carry only comment_present.
    comments = "comment_events" in options.include and ctx.faults.rows_fault != "no_comments"
    events = [build_event(row, people, comments=comments) for row in rows]
    bodies = [encode(event) for event in _break_events(events, ctx.faults.rows_fault)]
    meta = {
        "next_page": f"{ctx.base_url}{EVENTS_PATH}?{link}",
        "count": len(rows),
        "end_of_stream": end_of_stream,
        "end_time": end_time,
    }
    return ('{"ticket_events":[' + ",".join(bodies) + "]," + encode(meta)[1:]).encode()


def _break_events(events: list[dict[str, Any]], fault: str | None) -> list[dict[str, Any]]:
    """The page's events as a faulty server sends them (see Faults.rows_fault)."""
    if not events or fault is None:
        return events
    if fault == "repeat":
        return [*events, events[-1]]
    for event in events:
        if fault == "no_id" and event["id"] % 10 == 3:
            del event["id"]
        elif fault == "children_object" and event["id"] % 5 == 2:
            event["child_events"] = {str(child["id"]): child for child in event["child_events"]}
    return events


def build_event(row: EventRow, people: People, *, comments: bool) -> dict[str, Any]:
    """The event's JSON object, the same on every page for a given row."""
    rng = random.Random(row.id)
    rnd = rng.random
    via = VIAS[int(rnd() * len(VIAS))]
    updater = USER_BASE + 1 + int(rnd() * max(1, len(people.users)))
    children = _changes(row, rnd, via)
    event: dict[str, Any] = {
        "id": row.id,
        "ticket_id": row.ticket_id,
        "timestamp": row.gts,
        "created_at": iso(row.gts),
        "updater_id": updater,
        "via": via,
        "event_type": "Audit",
        "system": {
            "client": "Mozilla/5.0 (sandbox)",
            "ip_address": f"10.0.{int(rnd() * 255)}.{int(rnd() * 255)}",
            "location": "Berlin, BE, Germany",
            "latitude": 52.5,
            "longitude": 13.4,
        },
        "merged_ticket_ids": [],
        "child_events": children,
    }
    if row.kind == CREATE or rnd() < COMMENT_SHARE:
        public = rnd() < 0.7
        if comments:
            children.append(_comment(row, updater, rnd, public=public))
        else:
            event["comment_present"], event["comment_public"] = True, public
    return event


def _changes(row: EventRow, rnd: Any, via: str) -> list[dict[str, Any]]:
    base = row.id * 8
    child = {"via": via, "via_reference_id": None}
    if row.kind == CREATE:
        return [
            {"id": base + 1, **child, "event_type": "Create", "status": "new"},
            {"id": base + 2, **child, "event_type": "Create", "priority": "normal"},
            {"id": base + 3, **child, "event_type": "Create", "tags": ["sandbox"],
             "added_tags": ["sandbox"], "removed_tags": []},
        ]  # fmt: skip
    if row.kind == DELETE:
        return [{"id": base + 1, **child, "event_type": "Change", "status": "deleted",
                 "previous_value": "open"}]  # fmt: skip
    status = STATUSES[int(rnd() * len(STATUSES))]
    changes: list[dict[str, Any]] = [
        {"id": base + 1, **child, "event_type": "Change", "status": status,
         "previous_value": "open"},
    ]  # fmt: skip
    if rnd() < 0.3:
        priority = PRIORITIES[int(rnd() * 5)]
        changes.append({"id": base + 2, **child, "event_type": "Change",
                        "priority": priority, "previous_value": None})  # fmt: skip
    if rnd() < 0.3:
        changes.append({"id": base + 3, **child, "event_type": "Change",
                        "tags": ["sandbox", "sandbox_touched"], "previous_value": ["sandbox"],
                        "added_tags": ["sandbox_touched"], "removed_tags": []})  # fmt: skip
    if rnd() < 0.2:
        changes.append({"id": base + 4, **child, "event_type": "Notification",
                        "subject": "Ticket updated", "body": "Your request was updated.",
                        "recipients": [USER_BASE + 1]})  # fmt: skip
    if rnd() < 0.05:  # a kind this tap does not know of
        changes.append({"id": base + 5, **child, "event_type": "SatisfactionRating",
                        "score": "good", "assignee_id": None})  # fmt: skip
    return changes


def _comment(row: EventRow, author: int, rnd: Any, *, public: bool) -> dict[str, Any]:
    text = f"Update {row.id} on ticket {row.ticket_id}: " + "details " * (1 + int(rnd() * 20))
    attachments = []
    if rnd() < 0.1:
        attachments.append({"id": row.id + 1, "file_name": "screenshot.png", "size": 2048,
                            "content_type": "image/png", "inline": False})  # fmt: skip
    return {
        "id": COMMENT_BASE + row.id - EVENT_BASE,
        "type": "Comment",
        "event_type": "Comment",
        "author_id": author,
        "body": text,
        "html_body": f'<div class="zd-comment"><p>{text}</p></div>',
        "plain_body": text,
        "public": public,
        "attachments": attachments,
        "audit_id": row.id,
        "created_at": iso(row.gts),
        "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
        "via_reference_id": None,
    }

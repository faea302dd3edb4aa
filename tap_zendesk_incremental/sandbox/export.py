"""Zendesk's export rules: validating a request, choosing its tickets, writing the page.

Both endpoints order tickets by (generated_timestamp, id) and never show the last minute.
The time-based one filters `generated_timestamp >= start_time`, so the boundary second of a
page comes again on the next page; the cursor one resumes strictly after a position.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from tap_zendesk_incremental.sandbox.data import encode

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tap_zendesk_incremental.sandbox.data import Row
    from tap_zendesk_incremental.sandbox.directory import People
    from tap_zendesk_incremental.sandbox.faults import Faults
    from tap_zendesk_incremental.sandbox.store import Position, TicketStore

INCLUDABLE = ("users", "groups", "organizations", "metric_sets")
TIME_PATH = "/api/v2/incremental/tickets.json"
CURSOR_PATH = "/api/v2/incremental/tickets/cursor.json"
TOO_RECENT = "Too recent start_time. Use a start_time older than 1 minute"
VISIBLE_DELAY = 60  # the API never returns the most recent minute


class ApiError(Exception):
    """A request Zendesk would refuse: status and JSON body."""

    def __init__(self, status: int, payload: dict[str, Any]) -> None:
        super().__init__(f"{status} {payload}")
        self.status = status
        self.payload = payload


def invalid(description: str, status: int = 400, error: str = "InvalidValue") -> ApiError:
    return ApiError(status, {"error": error, "description": description})


@dataclass(frozen=True)
class Context:
    """What a page depends on besides its query and the data."""

    base_url: str
    now: int
    same_second: str
    too_recent_status: int
    per_page_max: int
    faults: Faults  # the page faults: end_time_fault, cursor_fault, served_per_page...

    def served(self, options: Options) -> Options:
        """The options a page is cut with: `served_per_page` overrides what was asked."""
        size = self.faults.served_per_page
        return replace(options, per_page=size) if size else options


@dataclass(frozen=True)
class Options:
    """The validated parameters both endpoints share; carried along in next-page links."""

    per_page: int
    exclude_deleted: bool
    include: tuple[str, ...]

    def carried(self) -> dict[str, str]:
        query = {"per_page": str(self.per_page)}
        if self.exclude_deleted:
            query["exclude_deleted"] = "true"
        if self.include:
            query["include"] = ",".join(self.include)
        return query


def parse_options(params: Mapping[str, str], per_page_max: int) -> Options:
    raw = params.get("per_page", str(per_page_max))
    per_page = _int(raw, "per_page")
    if not 1 <= per_page <= per_page_max:
        raise invalid(f"per_page must be between 1 and {per_page_max}")
    flag = params.get("exclude_deleted", "false").lower()
    if flag not in {"true", "false", "1", "0"}:
        raise invalid("exclude_deleted must be true or false")
    names = [name.strip() for name in params.get("include", "").split(",") if name.strip()]
    for name in names:
        if name not in INCLUDABLE:
            raise invalid(f"Sideload {name!r} is not supported by this endpoint")
    return Options(per_page, flag in {"true", "1"}, tuple(dict.fromkeys(names)))


def parse_start_time(params: Mapping[str, str], ctx: Context) -> int:
    if "start_time" not in params:
        raise invalid("start_time is required")
    start = _int(params["start_time"], "start_time")
    if start > ctx.now:
        raise invalid("start_time cannot be in the future")
    if start > ctx.now - VISIBLE_DELAY:
        if ctx.too_recent_status == 400:
            raise invalid(TOO_RECENT, 400, "StartTimeTooRecent")
        raise invalid(TOO_RECENT, ctx.too_recent_status)
    return start


def _int(value: str, name: str) -> int:
    if not (value.isascii() and value.isdigit()):
        raise invalid(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def encode_cursor(position: Position) -> str:
    raw = f"v1:{position[0]}:{position[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        version, gts, ticket_id = raw.split(":")
        if version != "v1":
            raise ValueError(version)
        return int(gts), int(ticket_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise invalid("Invalid cursor") from exc


def select(
    store: TicketStore,
    start: int,
    stop: int,
    options: Options,
    *,
    grow: bool,
) -> tuple[list[Row], int | None, bool]:
    """Up to per_page visible rows from index `start`: (rows, index of the last, end_of_stream).

    With `grow`, a full page that holds one second only takes the rest of that second too.
    """
    rows: list[Row] = []
    last = None
    for i, row in store.scan(start, stop, skip_deleted=options.exclude_deleted):
        if len(rows) >= options.per_page:
            one_second = rows[0].gts == rows[-1].gts == row.gts
            if not (grow and one_second):
                return rows, last, False  # `row` is visible and left for the next page
        rows.append(row)
        last = i
    return rows, last, True


def time_page(
    store: TicketStore,
    people: People,
    params: Mapping[str, str],
    ctx: Context,
) -> bytes:
    start = parse_start_time(params, ctx)
    options = parse_options(params, ctx.per_page_max)
    first = 0 if ctx.faults.repeat_pages else start
    with store.lock:
        stop = store.end_at(ctx.now - VISIBLE_DELAY)
        rows, _, end_of_stream = select(
            store, store.first_at(first), stop, ctx.served(options), grow=ctx.same_second == "grow"
        )
        end_time = rows[-1].gts if rows else start
        rows = _break_rows(rows, store, ctx)
    link = urlencode({"start_time": str(end_time), **options.carried()}, safe=",")
    meta: dict[str, Any] = {
        "next_page": f"{ctx.base_url}{TIME_PATH}?{link}",
        "count": len(rows),
        "end_of_stream": end_of_stream,
        "end_time": end_time,
    }
    if ctx.faults.end_time_fault:
        _break_end_time(meta, ctx.faults.end_time_fault, start)
    return render(rows, meta, options.include, people)


def in_hole(ticket_id: int, max_id: int) -> bool:
    """True for the ids the "hole" fault leaves out: the middle third of all ids."""
    return max_id // 3 < ticket_id <= 2 * max_id // 3


def _break_rows(rows: list[Row], store: TicketStore, ctx: Context) -> list[Row]:
    """The page's rows as a faulty server sends them (`end_time` stays the true one)."""
    fault = ctx.faults.rows_fault
    if not rows or fault is None:
        return rows
    if fault == "hole":  # a filter applied after paging (exclude_deleted?): a third of all ids
        return [row for row in rows if not in_hole(row.id, store.max_id)]
    if fault == "repeat":  # the page's last ticket once more at its end
        return [*rows, rows[-1]]
    if fault == "no_id":  # every tenth ticket (by id) without its id: nothing to key it by
        return [_without_id(row) if row.id % 10 == 3 else row for row in rows]
    if fault == "straggler":  # the newest ticket of all, appended to every page
        newest = store.row(store.index[-1][1])
        return rows if newest.id in {row.id for row in rows} else [*rows, newest]
    # "future": a ticket an hour ahead of the server's clock, appended to every page
    future = ctx.now + 3600
    body = json.loads(rows[-1].body) | {"id": store.max_id + 1, "generated_timestamp": future}
    return [*rows, rows[-1]._replace(body=encode(body).encode(), id=body["id"], gts=future)]


def _without_id(row: Row) -> Row:
    body = json.loads(row.body)
    del body["id"]
    return row._replace(body=encode(body).encode())


def _break_end_time(meta: dict[str, Any], fault: str, start: int) -> None:
    end_time = meta["end_time"]
    broken = {
        "null": None,
        "string": str(end_time),
        "float": float(end_time),
        "before_start": start - 3600,
        "after_newest": end_time + 600,
        "stuck": start,
    }
    if fault == "missing":
        del meta["end_time"]
    else:
        meta["end_time"] = broken[fault]


def cursor_page(
    store: TicketStore,
    people: People,
    params: Mapping[str, str],
    ctx: Context,
) -> bytes:
    fault = ctx.faults.cursor_fault
    if fault == "missing_endpoint":
        raise ApiError(404, {"error": "InvalidEndpoint", "description": "Not found"})
    if fault == "invalid_cursor" and "cursor" in params:
        raise invalid("Invalid cursor", 400, "InvalidCursor")
    if "cursor" in params:
        position = decode_cursor(params["cursor"])
    elif "start_time" in params:
        position = (parse_start_time(params, ctx), -1)  # strictly after (S, -1): every id at S
    else:
        raise invalid("start_time or cursor is required")
    options = parse_options(params, ctx.per_page_max)
    with store.lock:
        stop = store.end_at(ctx.now - VISIBLE_DELAY)
        # "spin": a position (S, -n) reads S from its start, and the next cursor is (S, -n-1).
        start = (position[0], -1) if position[1] < 0 else position
        rows, last, end_of_stream = select(
            store, store.first_after(start), stop, ctx.served(options), grow=False
        )
        after = store.index[last] if last is not None else position
    if fault == "spin":
        after = (position[0], min(position[1], 0) - 1)
    # before_cursor: where this page started (re-reads it). Zendesk's points backwards, which
    # no export client uses; it is here so the response has the documented shape.
    before_cursor, after_cursor = encode_cursor(position), encode_cursor(after)
    if fault == "same_cursor":
        after_cursor = params.get("cursor") or before_cursor
    elif fault == "empty_not_end":
        rows, end_of_stream, after_cursor = [], False, None
    elif fault == "no_cursor":
        end_of_stream, after_cursor = False, None
    meta = {
        "after_url": _cursor_url(ctx, after_cursor, options) if after_cursor else None,
        "after_cursor": after_cursor,
        "before_url": _cursor_url(ctx, before_cursor, options),
        "before_cursor": before_cursor,
        "end_of_stream": end_of_stream,
    }
    return render(rows, meta, options.include, people)


def _cursor_url(ctx: Context, cursor: str, options: Options) -> str:
    query = urlencode({"cursor": cursor, **options.carried()}, safe=",")
    return f"{ctx.base_url}{CURSOR_PATH}?{query}"


def render(
    rows: list[Row],
    meta: dict[str, Any],
    include: tuple[str, ...],
    people: People,
) -> bytes:
    """`{"tickets":[...], <meta>, <sideloads>}` from the stored bytes of each ticket."""
    bodies = [row.body for row in rows]
    extra: dict[str, Any] = {}
    if "metric_sets" in include:
        metric_sets = [people.metric_set(json.loads(row.body)) for row in rows]
        # Each ticket also carries its own metric_set, as the export documents for this sideload.
        bodies = [
            b[:-1] + b',"metric_set":' + encode(m).encode() + b"}"
            for b, m in zip(bodies, metric_sets, strict=True)
        ]
        extra["metric_sets"] = metric_sets
    if "users" in include:
        user_ids = dict.fromkeys(uid for row in rows for uid in row.users if uid is not None)
        extra["users"] = [people.users[uid] for uid in user_ids if uid in people.users]
    if "groups" in include:
        group_ids = dict.fromkeys(row.group_id for row in rows if row.group_id is not None)
        extra["groups"] = [people.groups[gid] for gid in group_ids if gid in people.groups]
    if "organizations" in include:
        org_ids = dict.fromkeys(row.org_id for row in rows if row.org_id is not None)
        extra["organizations"] = [
            people.organizations[oid] for oid in org_ids if oid in people.organizations
        ]
    tail = encode({**meta, **extra})
    return b'{"tickets":[' + b",".join(bodies) + b"]," + tail[1:].encode()


class PageCache:
    """Encoded pages by request, for one data version, up to `max_bytes` (least recent out)."""

    def __init__(self, max_bytes: int = 64 * 2**20) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._size = 0
        self._version = -1
        self._lock = threading.Lock()

    def get(self, version: int, key: tuple[Any, ...]) -> bytes | None:
        with self._lock:
            if version != self._version:
                return None
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, version: int, key: tuple[Any, ...], page: bytes) -> None:
        with self._lock:
            if version != self._version:  # data changed: every cached page is stale
                self._pages.clear()
                self._size, self._version = 0, version
            old = self._pages.pop(key, None)
            self._size += len(page) - (len(old) if old is not None else 0)
            self._pages[key] = page
            while self._size > self.max_bytes and len(self._pages) > 1:
                self._size -= len(self._pages.popitem(last=False)[1])

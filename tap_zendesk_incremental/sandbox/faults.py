"""What can go wrong, on purpose: fault switches, scripted and random faults, the rate limit."""

from __future__ import annotations

import math
import random
import threading
from collections import deque
from dataclasses import dataclass

# Faults a client should retry (a proxy, a database timeout, a dropped connection...).
TRANSIENT_KINDS: tuple[str, ...] = (
    "500",
    "502",
    "503",
    "504",
    "html502",
    "html200",
    "reset",
    "timeout",
    "truncated",
    "badjson",
    "429",
    "429noretry",
)
# Faults a client should report clearly and stop on.
PERMANENT_KINDS: tuple[str, ...] = ("401", "403", "404text", "400json")
FAULT_KINDS = TRANSIENT_KINDS + PERMANENT_KINDS
SAME_SECOND_MODES = ("grow", "stall")
# A wrong `end_time` on time-based pages (the link to the next page stays right).
END_TIME_FAULTS = ("missing", "null", "string", "float", "before_start", "after_newest", "stuck")
# A cursor export that misbehaves: an empty page that is not the end (and no cursor), the
# first page again under a new cursor each time, the cursor it was sent, no `after_cursor`,
# 400 InvalidCursor for any cursor, no cursor endpoint at all (404).
CURSOR_FAULTS = (
    "empty_not_end",
    "spin",
    "same_cursor",
    "no_cursor",
    "invalid_cursor",
    "missing_endpoint",
)
RATE_HEADER_STYLES = ("zendesk", "ratelimit", "none")


@dataclass
class Faults:
    """Switches read on every request: tests may flip them while the sandbox runs."""

    fail_rate: float = 0.0  # share of export requests that fail with a kind from fail_kinds
    fail_kinds: tuple[str, ...] = TRANSIENT_KINDS
    fault_seed: int = 0  # makes the random faults reproducible
    timeout_seconds: float = 3.0  # how long the "timeout" fault stalls before answering
    forbidden: bool = False  # every request gets 403 (not an admin, API access off)
    unknown_subdomain: bool = False  # every request gets the plain-text 404 of a free subdomain
    same_second: str = "grow"  # a full one-second page: "grow" (documented) or "stall" (observed)
    events_same_second: str = "grow"  # the same, for the ticket events export (no cursor there)
    too_recent_status: int = 422  # 422 InvalidValue (older accounts) or 400 StartTimeTooRecent
    # Seconds the server's clock runs behind the client's: a start_time the client thinks is
    # old enough is then "too recent" for the server.
    clock_behind: float = 0.0
    rate_limit: int | None = None  # export requests allowed per window; None: no limit, no header
    rate_window: float = 60.0
    rate_headers: str = "zendesk"  # "zendesk", "ratelimit" or "none"
    retry_after_on_429: bool = True
    retry_after_value: str | None = None  # sent as Retry-After instead of the window's reset
    # Legal JSON and odd types mixed into tickets and sideloads (data.hostile_page).
    hostile: bool = False
    large_descriptions: int = 0  # when > 0, every ticket's description is this many bytes
    # Seconds between the chunks of a 200 page's body (a trickling proxy); 0: all at once.
    trickle_seconds: float = 0.0
    # A proxy in front: "echo" answers 400/401/502 echoing the request's Authorization header
    # in the body; "redirect" sends every request to `redirect_to` ("{credential}" in it becomes
    # the request's token, as a login page of some proxies has it); "loop" redirects to itself;
    # "shift" redirects each request to the same path with start_time `shift_seconds` later
    # (a page the tap did not ask for, served normally).
    proxy: str | None = None
    shift_seconds: int = 3600
    echo_status: int = 502  # the status of the echoing proxy's answers
    redirect_to: str = "http://127.0.0.2:9/elsewhere"
    end_time_fault: str | None = None  # one of END_TIME_FAULTS
    cursor_fault: str | None = None  # one of CURSOR_FAULTS
    served_per_page: int | None = None  # pages of this size, whatever `per_page` asks
    repeat_pages: bool = False  # the time-based export ignores start_time: page one again
    # Time-based pages whose rows are not what `end_time` says: "hole" (the middle third of
    # ids filtered out after paging), "straggler" (the newest ticket of all appended to every
    # page), "future" (a ticket an hour ahead of the clock appended to every page); for
    # tickets and events: "repeat" (the page's last item once more at its end), "no_id" (every
    # tenth item, by id, without its id); for events: "children_object" (every fifth event's
    # `child_events` an object keyed by child id, not a list), "no_comments" (`include` ignored).
    rows_fault: str | None = None

    def page_key(self) -> tuple[object, ...]:
        """The switches a page's body depends on (the page cache keys on them)."""
        return (
            self.same_second,
            self.events_same_second,
            self.end_time_fault,
            self.cursor_fault,
            self.served_per_page,
            self.repeat_pages,
            self.rows_fault,
        )


def check_kind(kind: str) -> str:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
    return kind


class FaultPlan:
    """Decides the fault (if any) of each export request: scripted ones first, then random."""

    def __init__(self) -> None:
        self._scripted: deque[str] = deque()
        self._lock = threading.Lock()
        self._rng = random.Random(0)  # noqa: S311 - reproducible faults, not secrets
        self._seed: int | None = None

    def script(self, kind: str, count: int) -> None:
        check_kind(kind)
        with self._lock:
            self._scripted.extend([kind] * count)

    def draw(self, faults: Faults) -> str | None:
        with self._lock:
            if self._scripted:
                return self._scripted.popleft()
            if faults.fail_rate <= 0 or not faults.fail_kinds:
                return None
            if self._seed != faults.fault_seed:  # a new seed restarts the sequence
                self._seed = faults.fault_seed
                self._rng.seed(faults.fault_seed)
            if self._rng.random() >= faults.fail_rate:
                return None
            return self._rng.choice(faults.fail_kinds)


@dataclass(frozen=True)
class Budget:
    """Where a request stands in its rate-limit window."""

    allowed: bool
    limit: int
    remaining: int
    resets: int  # whole seconds until the window resets, rounded up

    def headers(self, style: str) -> dict[str, str]:
        if style == "zendesk":
            value = f"total={self.limit}; remaining={self.remaining}; resets={self.resets}"
            return {"Zendesk-RateLimit-incremental-exports": value}
        if style == "ratelimit":
            return {
                "ratelimit-limit": str(self.limit),
                "ratelimit-remaining": str(self.remaining),
                "ratelimit-reset": str(self.resets),
            }
        return {}


class RateWindow:
    """A fixed window that starts with the first request counted and restarts when it ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._start: float | None = None
        self._count = 0

    def hit(self, limit: int, window: float, now: float) -> Budget:
        with self._lock:
            if self._start is None or now >= self._start + window:
                self._start, self._count = now, 0
            self._count += 1
            resets = max(1, math.ceil(self._start + window - now))
            return Budget(self._count <= limit, limit, max(0, limit - self._count), resets)

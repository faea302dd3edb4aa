"""One INFO line per page and one summary line per run, for a person watching the export."""

from __future__ import annotations

import time
from collections import deque
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from tap_zendesk_incremental.ratelimit import RateLimit

# The pace is that of the last ten minutes of the run: long enough to hold several rate-limit
# windows (each one's wait included), short enough to follow a change of pace.
PACE_SECONDS = 600.0


def utc(seconds: int) -> str:
    """Unix seconds as `2024-01-01T00:00:00Z`."""
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(seconds: float) -> str:
    """A short human duration: `45s`, `12m`, `3h20m`, `41d`."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400 * 2:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d"


class Progress:
    """Counts pages and tickets, and bounds the time left from the recent pace.

    Zendesk never says how much is left to export: an export ends when a page says
    `end_of_stream`, at the latest when the position reaches now. So the line gives what is
    known (the position, how far behind now it is) and, as an upper bound of the time left, the
    time the position would take to reach now at its recent pace.
    """

    def __init__(
        self,
        per_minute: int = 10,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        items: str = "tickets",
    ) -> None:
        self.per_minute = per_minute  # the request budget when Zendesk's headers give none
        self.items = items  # what the export counts: tickets, events
        self.clock, self.wall = clock, wall
        self.started = clock()
        self.pages = 0
        self.tickets = 0
        self.recent: deque[tuple[float, int]] = deque()  # (run clock, position) per page

    def page_done(self, position: int, tickets: int, budget: RateLimit | None) -> str:
        """Count a page and describe where the export stands."""
        self.pages += 1
        self.tickets += tickets
        now = self.clock()
        self.recent.append((now, position))
        while len(self.recent) > 2 and self.recent[1][0] <= now - PACE_SECONDS:
            self.recent.popleft()
        behind = self.wall() - position
        left = f"{budget.remaining}/{budget.total or '?'}" if budget else "unknown"
        return (
            f"Page {self.pages}: {self.tickets} {self.items} so far, position {utc(position)} "
            f"({duration(behind)} behind now), rate budget left {left}, "
            f"{self._bound(behind, budget)}"
        )

    def _bound(self, behind: float, budget: RateLimit | None) -> str:
        if len(self.recent) < 2:
            return "time left: estimated from the next page on"
        (first_at, first_position), (last_at, last_position) = self.recent[0], self.recent[-1]
        moved, pages = last_position - first_position, len(self.recent) - 1
        if moved <= 0:
            return "time left: unknown (the position did not move)"
        # One page costs one request, so the budget caps the pace. Before the first wait for
        # the budget, pages come faster than it allows; the cap keeps that wait from making
        # the estimate jump.
        per_minute = budget.total if budget and budget.total else self.per_minute
        pace = min(moved / max(last_at - first_at, 1e-6), moved / pages * per_minute / 60)
        return (
            f"at most about {duration(behind / pace)} left (the time to reach now at the "
            "recent pace, waits included)"
        )

    def summary(self, outcome: str, duplicates: int, retries: int, rate_limited: int) -> str:
        """The run in one line; `outcome` is "finished" or "stopped"."""
        return (
            f"Export {outcome}: {self.tickets} {self.items}, {self.pages} pages, {duplicates} "
            f"duplicates dropped, {retries} retries, {rate_limited} rate-limited (429), "
            f"{self.clock() - self.started:.1f} seconds"
        )

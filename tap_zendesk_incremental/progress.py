"""One INFO line per page and one summary line per run, for a person watching the export."""

from __future__ import annotations

import time
from collections import deque
from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from tap_zendesk_incremental.ratelimit import RateLimit

PACE_PAGES = 10  # the estimate uses the pace of the last few pages


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
    """Counts pages and tickets and estimates the time left from the recent pace."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.clock, self.wall = clock, wall
        self.started = clock()
        self.pages = 0
        self.tickets = 0
        self.recent: deque[tuple[float, int]] = deque(maxlen=PACE_PAGES + 1)

    def page_done(self, position: int, tickets: int, budget: RateLimit | None) -> str:
        """Count a page and describe where the export stands."""
        self.pages += 1
        self.tickets += tickets
        self.recent.append((self.clock(), position))
        behind = self.wall() - position
        left = f"{budget.remaining}/{budget.total or '?'}" if budget else "unknown"
        return (
            f"Page {self.pages}: {self.tickets} tickets so far, position {utc(position)} "
            f"({duration(behind)} behind now), rate budget left {left}, "
            f"caught up in {self._eta(behind)}"
        )

    def _eta(self, behind: float) -> str:
        if len(self.recent) < 2:
            return "(estimating)"
        (first_at, first_position), (last_at, last_position) = self.recent[0], self.recent[-1]
        pace = (last_position - first_position) / max(last_at - first_at, 1e-6)
        return f"about {duration(behind / pace)}" if pace > 0 else "(unknown: no progress)"

    def summary(self, outcome: str, duplicates: int, retries: int, rate_limited: int) -> str:
        """The run in one line; `outcome` is "finished" or "stopped"."""
        return (
            f"Export {outcome}: {self.tickets} tickets, {self.pages} pages, {duplicates} "
            f"duplicates dropped, {retries} retries, {rate_limited} rate-limited (429), "
            f"{self.clock() - self.started:.1f} seconds"
        )

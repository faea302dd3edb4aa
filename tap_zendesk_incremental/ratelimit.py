"""Pacing requests against Zendesk's incremental-export budget.

`RateLimit.from_headers` is pure header parsing (gidgethub's `RateLimit.from_http` is the model);
`Pacer` decides how long to wait before the next request from what the last responses said, or,
where no response carries a rate-limit header, from the `max_requests_per_minute` setting.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

WINDOW_SECONDS = 60.0  # Zendesk's incremental budget is per minute.
# Added to the fallback's 60 s: the server counts a request when it arrives, a little after
# this clock sent it, so a request sent exactly 60 s after the first of ten can still be the
# eleventh in the server's window (a 429 seen with a sliding-window proxy).
WINDOW_MARGIN = 1.0
MAX_RESET_WAIT = 60.0  # A window never lasts longer; bounds a bogus `resets`.
ANNOUNCE_SECONDS = 5.0  # a wait this long is announced first: a silent minute looks like a hang
# The header that describes the incremental-export budget itself. The others (`ratelimit-*`,
# `X-Rate-Limit`, other `Zendesk-RateLimit-*` families) are account-wide: far larger budgets.
EXPORT_BUDGET_HEADER = "zendesk-ratelimit-incremental"


@dataclass(frozen=True)
class RateLimit:
    """The tightest budget that one response's headers describe."""

    remaining: int
    resets: float  # seconds until the budget is replenished, as the server rounded it
    total: int | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit | None:
        """Parse `Zendesk-RateLimit-*: total=N; remaining=N; resets=S` and `ratelimit-*`.

        Returns the window with the fewest requests left, or None when no header says.
        """
        limits = [
            limit
            for name, value in headers.items()
            if name.lower().startswith("zendesk-ratelimit-")
            and (limit := _parse_fields(value)) is not None
        ]
        if (generic := _parse_generic(headers)) is not None:
            limits.append(generic)
        if not limits:
            return None
        return min(limits, key=lambda limit: (limit.remaining, -limit.resets))


def _parse_fields(value: str) -> RateLimit | None:
    fields = {}
    for part in value.split(";"):
        key, _, raw = part.partition("=")
        fields[key.strip().lower()] = raw.strip()
    try:
        return RateLimit(
            remaining=int(fields["remaining"]),
            resets=float(fields.get("resets") or WINDOW_SECONDS),
            total=int(fields["total"]) if fields.get("total") else None,
        )
    except (KeyError, ValueError):
        return None


def _parse_generic(headers: Mapping[str, str]) -> RateLimit | None:
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        remaining = int(lowered["ratelimit-remaining"])
        resets = float(lowered.get("ratelimit-reset") or WINDOW_SECONDS)
    except (KeyError, ValueError):
        return None
    limit = lowered.get("ratelimit-limit", "")
    return RateLimit(remaining, resets, int(limit) if limit.isdigit() else None)


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds from `Retry-After: <seconds>` or `Retry-After: <HTTP date>`, or None."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:  # HTTP dates are GMT; a bare one is read so
            moment = moment.replace(tzinfo=timezone.utc)
        seconds = moment.timestamp() - (time.time() if now is None else now)
    return None if math.isnan(seconds) else max(seconds, 0.0)


class Pacer:
    """Holds each request until the budget allows it, so a long export provokes no 429.

    With headers: when a response says nothing remains, wait for the window to reset. The
    server rounds `resets` up to whole seconds, so every response of the current window
    narrows the moment of the reset to an interval; waiting for its upper end is both safe and
    close to the ideal pace. Until a response has carried the incremental-export budget
    header: also at most `max_per_minute` requests in any 60 s (an account-wide header alone
    says nothing of the export's 10 a minute).
    """

    def __init__(
        self,
        max_per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        announce: Callable[[str], object] = lambda _: None,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.announce = announce
        self.sent: deque[float] = deque(maxlen=max_per_minute)
        self.limit: RateLimit | None = None
        self.reset_at: float | None = None  # earliest moment known to be after the reset
        self.waited = 0.0
        self.responses = 0  # responses received in this run, whatever their status
        self.export_budget_seen = False

    def delay(self) -> float:
        """Seconds to hold the next request."""
        now = self.clock()
        wait = 0.0
        limit = self.limit
        if limit is not None and limit.remaining <= 0 and self.reset_at is not None:
            wait = self.reset_at - now
        if not self.export_budget_seen and len(self.sent) == self.sent.maxlen:
            wait = max(wait, self.sent[0] + WINDOW_SECONDS + WINDOW_MARGIN - now)
        return max(0.0, wait)

    def before_request(self) -> None:
        """Wait for the budget, then count the request."""
        if (seconds := self.delay()) > 0:
            if seconds >= ANNOUNCE_SECONDS:
                self.announce(self.describe_wait(seconds))
            self.waited += seconds
            self.sleep(seconds)
        self.sent.append(self.clock())

    @property
    def export_limit(self) -> RateLimit | None:
        """The budget the incremental-export header gave; None until one was seen (another
        family's header describes a far larger, account-wide budget)."""
        return self.limit if self.export_budget_seen else None

    def describe_wait(self, seconds: float) -> str:
        """How long the next request waits, and why, in one line."""
        limit = self.limit
        if limit is not None and limit.remaining <= 0:
            total = f" of {limit.total}" if limit.total else ""
            family = "incremental-export" if self.export_budget_seen else "account-wide"
            why = (
                f"Zendesk says {limit.remaining}{total} {family} requests are left until its "
                "window resets"
            )
        else:
            why = (
                f"{len(self.sent)} requests sent in the last minute, the most "
                "`max_requests_per_minute` allows (Zendesk sent no incremental-export "
                "rate-limit header)"
            )
        return f"Waiting {seconds:.0f} s for the rate budget: {why}"

    def after_response(self, headers: Mapping[str, str]) -> None:
        """Learn the budget from a response's headers."""
        self.responses += 1
        limit = RateLimit.from_headers(headers)
        if limit is None:
            return
        if not self.export_budget_seen:
            self.export_budget_seen = any(
                name.lower().startswith(EXPORT_BUDGET_HEADER) for name in headers
            )
        now = self.clock()
        upper = now + min(limit.resets, MAX_RESET_WAIT)
        new_window = (
            self.limit is None
            or limit.remaining > self.limit.remaining
            or self.reset_at is None
            or now >= self.reset_at
        )
        # Within one window every response bounds the same reset moment from above.
        self.reset_at = upper if new_window else min(self.reset_at, upper)
        self.limit = limit

"""Where the export goes after each page: never backwards, never past a ticket not written.

The position after a time-based page is its newest `generated_timestamp` (inclusive: that
second comes again and its tickets written are skipped). A page that does not move past its
first second (a crowded second, an empty page that is not the end) is not written: that second
is read through the cursor export instead, whatever `per_page` and the page's size, until a
page moves past it. Pages that bring nothing new are counted; a few in a row stop the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from singer_sdk.exceptions import FatalAPIError
from singer_sdk.pagination import BaseAPIPaginator
from typing_extensions import override

from tap_zendesk_incremental.progress import utc

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

    from tap_zendesk_incremental.pages import PageFacts

# Zendesk never returns the most recent minute; asking for it is refused.
NEWEST_ALLOWED_AGE = 60
# Pages in a row that bring nothing new before the run stops. A sound server needs at most
# two: the crowded page handed to the cursor export, and the cursor page that passes it.
MAX_IDLE_PAGES = 4


@dataclass(frozen=True)
class ExportPosition:
    """One page to request: time based from `start_time`, or cursor based inside that second.

    `drain` marks the detour through the cursor export that reads one crowded second
    (`start_time`) to its end; `cursor` is Zendesk's `after_cursor` within it.
    """

    start_time: int
    drain: bool = False
    cursor: str | None = None


@dataclass(frozen=True)
class Step:
    """What a page means: which of its tickets are written, and what to request next."""

    upto: int | None  # tickets up to this generated_timestamp are written (None: none)
    following: ExportPosition | None  # None: the export has caught up
    passed: bool = False  # a cursor page moved past the second being drained


def caught_up(start_time: int, now: float | None = None) -> bool:
    """True when a page from `start_time` would ask for the last minute."""
    return start_time > (now if now is not None else time.time()) - NEWEST_ALLOWED_AGE


def plan(requested: ExportPosition, facts: PageFacts, now: float | None = None) -> Step:
    """The step after a page requested at `requested`, from what the page proves.

    A time-based page proves every ticket up to its `end_time` when its tickets back it, else
    up to its newest ticket (the last second inclusive: it is asked for again). A cursor page
    proves every ticket before its last one, in order, whichever seconds they are of.
    """
    second, newest = requested.start_time, facts.newest
    if facts.too_new and not facts.later_than(second):
        # Nothing before the tickets of the last minute: caught up (they come in a later run).
        step = Step(newest, None)
    elif requested.drain:
        if facts.later_than(second):
            step = Step(newest, ExportPosition(newest), passed=True)  # type: ignore[arg-type]
        elif facts.end_of_stream:
            step = Step(newest, None)
        elif facts.after_cursor:
            following = ExportPosition(second, drain=True, cursor=facts.after_cursor)
            step = Step(newest, following)
        else:  # nowhere to go on from: ask again (the stall guard bounds it)
            step = Step(newest, requested)
    elif facts.end_of_stream:
        step = Step(newest, None)
    else:
        limit = facts.end_time if facts.end_time is not None else newest
        if limit is not None and limit > second:
            step = Step(limit, ExportPosition(limit))
        else:
            # Only tickets of `second`, or none: more of it may follow than a page holds, and
            # a time-based page can never get past it. The cursor export reads it to its end.
            step = Step(second, ExportPosition(second, drain=True))
    following = step.following
    if following is not None and not following.drain and caught_up(following.start_time, now):
        return Step(step.upto, None, step.passed)
    return step


class ExportStalledError(FatalAPIError):
    """Zendesk kept answering without moving the export on."""


class StallGuard:
    """Counts pages in a row that bring nothing new; stops the run at MAX_IDLE_PAGES."""

    def __init__(self, limit: int = MAX_IDLE_PAGES, noun: str = "ticket") -> None:
        self.limit = limit
        self.noun = noun  # what the export's pages hold: ticket, event
        self.idle: list[str] = []  # what each idle page in a row was

    def page(self, second: int, idle: str | None) -> None:
        """Count a page; `idle` says what was wrong with it, None when it brought something."""
        if idle is None:
            self.idle.clear()
            return
        self.idle.append(idle)
        if len(self.idle) >= self.limit:
            what = "; ".join(dict.fromkeys(self.idle))
            msg = (
                f"Zendesk's export stopped moving at {utc(second)} ({second}): {len(self.idle)} "
                f"pages in a row brought no new {self.noun} ({what}). The STATE stays at that "
                "second and the next run resumes there; if it happens again, tell Zendesk support"
            )
            raise ExportStalledError(msg)


class ExportPaginator(BaseAPIPaginator[ExportPosition]):
    """Follows the steps the stream takes from each page (see `plan`)."""

    def __init__(
        self,
        start: ExportPosition,
        next_position: Callable[[requests.Response], ExportPosition | None],
    ) -> None:
        super().__init__(start)
        self.next_position = next_position
        if not start.drain and caught_up(start.start_time):
            self._finished = True  # nothing to ask for yet: not even one request

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        """A page of only repeated tickets is not the end: only `end_of_stream` is."""
        return True

    @override
    def get_next(self, response: requests.Response) -> ExportPosition | None:
        return self.next_position(response)

    @override
    def advance(self, response: requests.Response) -> None:
        # The SDK's own loop check raises on the same token twice; asking again is sometimes
        # right here (a cursor page with no `after_cursor`), and StallGuard bounds it.
        self._page_count += 1
        following = self.get_next(response)
        if following is None:
            self._finished = True
        else:
            self._value = following

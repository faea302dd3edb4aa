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
    """What a page means: whether its tickets are written, and what to request next."""

    write: bool
    following: ExportPosition | None  # None: the export has caught up
    passed: bool = False  # a cursor page moved past the second being drained


def caught_up(start_time: int, now: float | None = None) -> bool:
    """True when a page from `start_time` would ask for the last minute."""
    return start_time > (now if now is not None else time.time()) - NEWEST_ALLOWED_AGE


def plan(requested: ExportPosition, facts: PageFacts, now: float | None = None) -> Step:
    """The step after a page requested at `requested`, from what the page proves."""
    second = requested.start_time
    if requested.drain:
        if facts.later_than(second):
            step = Step(write=True, following=ExportPosition(second + 1), passed=True)
        elif facts.end_of_stream:
            step = Step(write=True, following=None)
        elif facts.after_cursor:
            following = ExportPosition(second, drain=True, cursor=facts.after_cursor)
            step = Step(write=True, following=following)
        else:  # nowhere to go on from: ask again (the stall guard bounds it)
            step = Step(write=True, following=requested)
    elif facts.end_of_stream:
        step = Step(write=True, following=None)
    elif facts.later_than(second):
        step = Step(write=True, following=ExportPosition(facts.newest))  # type: ignore[arg-type]
    else:
        # Only tickets of `second`, or none: more of it may follow than a page holds, and a
        # time-based page can never get past it. The cursor export reads it to its end.
        step = Step(write=False, following=ExportPosition(second, drain=True))
    following = step.following
    if following is not None and not following.drain and caught_up(following.start_time, now):
        return Step(step.write, None, step.passed)
    return step


class ExportStalledError(FatalAPIError):
    """Zendesk kept answering without moving the export on."""


class StallGuard:
    """Counts pages in a row that bring nothing new; stops the run at MAX_IDLE_PAGES."""

    def __init__(self, limit: int = MAX_IDLE_PAGES) -> None:
        self.limit = limit
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
                f"pages in a row brought no new ticket ({what}). The STATE stays at that second "
                "and the next run resumes there; if it happens again, tell Zendesk support"
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

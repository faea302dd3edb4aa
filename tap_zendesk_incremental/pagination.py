"""Where the export goes next: the time-based pages, and the cursor detour for a crowded second."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from singer_sdk.pagination import BaseAPIPaginator

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

# Zendesk never returns the most recent minute; asking for it is refused.
NEWEST_ALLOWED_AGE = 60


@dataclass(frozen=True)
class ExportPosition:
    """One page to request: time based from `start_time`, or cursor based inside that second.

    `drain` marks the detour through the cursor export that reads one crowded second
    (`start_time`) to its end; `cursor` is Zendesk's `after_cursor` within it.
    """

    start_time: int
    drain: bool = False
    cursor: str | None = None


def caught_up(start_time: int, now: float | None = None) -> bool:
    """True when a page from `start_time` would ask for the last minute."""
    return start_time > (now if now is not None else time.time()) - NEWEST_ALLOWED_AGE


class ExportPaginator(BaseAPIPaginator[ExportPosition]):
    """Follows the time-based export until `end_of_stream`, never looping, never skipping.

    The page decoded by the stream is read through `read_page` (None means "caught up").
    """

    def __init__(
        self,
        start_time: int,
        per_page: int,
        read_page: Callable[[requests.Response], dict[str, Any] | None],
    ) -> None:
        super().__init__(ExportPosition(start_time))
        self.per_page = per_page
        self.read_page = read_page
        if caught_up(start_time):
            self._finished = True  # nothing to ask for yet: not even one request

    def continue_if_empty(self, response: requests.Response) -> bool:  # noqa: ARG002
        """A page of only repeated tickets is not the end: only `end_of_stream` is."""
        return True

    def get_next(self, response: requests.Response) -> ExportPosition | None:
        """The position after this page, or None when the export has caught up."""
        page = self.read_page(response)
        if page is None:
            return None
        position = self.current_value
        following = (
            self._after_drain(position, page) if position.drain else self._after(position, page)
        )
        if following is None or caught_up(following.start_time):
            return None
        return following

    def _after(self, position: ExportPosition, page: dict[str, Any]) -> ExportPosition | None:
        if page.get("end_of_stream"):
            return None
        end_time = page.get("end_time")
        if not isinstance(end_time, int) or end_time < position.start_time:
            end_time = position.start_time
        if end_time > position.start_time:
            return ExportPosition(end_time)
        # The page did not move past its first second: that second holds a page or more.
        if len(page["tickets"]) > self.per_page:
            return ExportPosition(end_time + 1)  # Zendesk grew the page to the whole second.
        return ExportPosition(end_time, drain=True)  # It would repeat forever: read by cursor.

    @staticmethod
    def _after_drain(position: ExportPosition, page: dict[str, Any]) -> ExportPosition | None:
        second = position.start_time
        passed = any(ticket.get("generated_timestamp", 0) > second for ticket in page["tickets"])
        if passed:
            return ExportPosition(second + 1)
        if page.get("end_of_stream"):
            return None
        if not page.get("after_cursor"):
            return ExportPosition(second + 1)
        return ExportPosition(second, drain=True, cursor=page["after_cursor"])

"""The `tickets` stream: Zendesk's time-based incremental ticket export.

The page loop is export.py's (shared with the ticket events); what is the tickets' own is the
cursor export: a second holding more tickets than a page is read through it to its end.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from typing_extensions import override

from tap_zendesk_incremental import responses
from tap_zendesk_incremental.export import ExportStream
from tap_zendesk_incremental.pages import TICKETS
from tap_zendesk_incremental.pagination import ExportPaginator, ExportPosition, Step
from tap_zendesk_incremental.progress import utc
from tap_zendesk_incremental.schemas import TICKET

if TYPE_CHECKING:
    from collections.abc import Iterable

    import requests
    from singer_sdk.helpers.types import Context

    from tap_zendesk_incremental.pages import PageFacts

# What `read_page` returns for a resumed cursor that Zendesk no longer accepts.
CURSOR_REFUSED: dict[str, Any] = {}


class TicketsStream(ExportStream):
    """Every ticket version from the time-based incremental export, each once per run."""

    name = "tickets"
    path = "/api/v2/incremental/tickets"
    cursor_path = "/api/v2/incremental/tickets/cursor"
    schema = TICKET
    shape = TICKETS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.resumed_cursor: str | None = None  # a cursor the run started from (the STATE's)
        self._drained: tuple[int, set[int]] = (-1, set())  # second, ids the detour has sent

    # Where the export starts and how it pages

    @override
    def start_position(self, context: Context | None) -> ExportPosition:
        """The bookmark of the last run (inside a crowded second: its cursor), else start_date."""
        start = super().start_position(context)
        if start.start_time != self.ledger.second or self.ledger.cursor is None:
            return start
        return ExportPosition(start.start_time, drain=True, cursor=self.ledger.cursor)

    @override
    def get_new_paginator(self) -> ExportPaginator:
        paginator = super().get_new_paginator()
        self.resumed_cursor = paginator.current_value.cursor
        return paginator

    @override
    def query(self, position: ExportPosition) -> dict[str, Any]:
        params = super().query(position)
        if position.cursor:
            del params["start_time"]
            params["cursor"] = position.cursor
        if self.config["exclude_deleted"]:
            params["exclude_deleted"] = "true"
        return params

    @override
    def request_path(self, position: ExportPosition) -> str:
        return self.cursor_path if position.drain else self.path

    @override
    def export_name(self, requested: ExportPosition) -> str:
        return "cursor" if requested.drain else "time-based"

    # What came back

    @override
    def checked_page(self, response: requests.Response) -> dict[str, Any] | None:
        try:
            return super().checked_page(response)
        except (FatalAPIError, RetriableAPIError) as error:
            if not self._requested.drain:
                raise
            return self._cursor_failure(error, response)

    def _cursor_failure(
        self, error: FatalAPIError | RetriableAPIError, response: requests.Response
    ) -> dict[str, Any]:
        """A failure of the cursor export, said as such; a refused cursor restarts its second."""
        second, cursor = self._requested.start_time, self._requested.cursor
        if isinstance(error, RetriableAPIError):
            msg = f"The cursor export (reading the crowded second {utc(second)}) failed: {error}"
            raise RetriableAPIError(msg, response) from None
        if responses.needs_credentials_fix(response) or isinstance(
            error, responses.RedirectedAPIError
        ):
            raise error
        if cursor is not None and response.status_code == HTTPStatus.BAD_REQUEST:
            return CURSOR_REFUSED  # stale (from the STATE) or not: read the second again
        msg = (
            f"{responses.problem(response)}: the cursor export, which reads a second holding more "
            f"tickets than a page ({utc(second)}), refused to start at that second. The STATE "
            "stays at that second and the next run reads it again; if a proxy is in between "
            f"(`api_url`), it must pass {self.cursor_path} too"
        )
        raise FatalAPIError(msg) from None

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        if self.read_page(response) is CURSOR_REFUSED:
            self.restart_drain(self._requested.start_time)
            return
        yield from super().parse_response(response)

    @override
    def before_bookmark(
        self, requested: ExportPosition, facts: PageFacts, step: Step, idle: str | None
    ) -> None:
        # A cursor page inside the crowded second, written: its tickets lie before its cursor.
        if (
            requested.drain
            and not step.passed
            and idle is None
            and facts.after_cursor
            and facts.after_cursor != requested.cursor
        ):
            second = requested.start_time
            returned = {t["id"] for t in facts.tickets if t["generated_timestamp"] == second}
            self.ledger.cover(second, facts.after_cursor, returned)

    @override
    def idle_reason(self, requested: ExportPosition, facts: PageFacts, written: int) -> str | None:
        """What was wrong with a page that brought nothing new; None if it brought something.

        New is a ticket version written, or, inside a crowded second, a ticket the cursor
        export had not sent before (it may re-read tickets the time-based page showed).
        """
        if written or facts.end_of_stream or not requested.drain:
            return super().idle_reason(requested, facts, written)
        second = requested.start_time
        if self._drained[0] != second:
            self._drained = (second, set())
        sent = self._drained[1]
        new = {t["id"] for t in facts.tickets if t["generated_timestamp"] == second} - sent
        sent |= new
        if new:
            return None
        what = "a cursor page of tickets sent before" if facts.tickets else "an empty cursor page"
        if not facts.after_cursor:
            how = "without `after_cursor`"
        elif facts.after_cursor == requested.cursor:
            how = "with the cursor it was sent"
        else:
            how = "with a new cursor"
        return f"{what} {how}, not the end of the stream"

    def restart_drain(self, second: int) -> None:
        """Zendesk refused a cursor (400): read that second from its start again.

        The STATE keeps the last cursor that was followed: every ticket before it was written,
        whether Zendesk still accepts it or not. The ids written this run stay known, so none
        of them is written twice; from a refused STATE cursor, the last run's may come again.
        """
        stale = self._requested.cursor == self.resumed_cursor
        if "cursor_refused" not in self.warned:
            self.warned.add("cursor_refused")
            self.log(
                "Zendesk's cursor export refused %s (400): reading %s from its start again%s",
                "the cursor in the STATE" if stale else "a cursor it had sent",
                utc(second),
                "; tickets of that second written by the last run may come once more"
                if stale
                else "",
                level=logging.WARNING,
            )
        self.resumed_cursor = None
        self._step = Step(None, ExportPosition(second, drain=True))
        self.stall.page(second, "the cursor export refused a cursor (400 InvalidCursor)")

"""The `tickets` stream: Zendesk's time-based incremental ticket export.

Each page goes through the same steps: what it proves (`pages.read_page`), where the export
goes next (`pagination.plan`), the tickets not written before (`ledger.SecondLedger`), then the
bookmark and a STATE, and a count of pages that bring nothing new (`pagination.StallGuard`).
"""

from __future__ import annotations

import logging
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.streams.rest import HTTPRequest
from typing_extensions import override

from tap_zendesk_incremental import pages, responses
from tap_zendesk_incremental.client import ZendeskStream
from tap_zendesk_incremental.ledger import SecondLedger
from tap_zendesk_incremental.pagination import (
    ExportPaginator,
    ExportPosition,
    StallGuard,
    Step,
    plan,
)
from tap_zendesk_incremental.progress import Progress, utc
from tap_zendesk_incremental.schemas import TICKET
from tap_zendesk_incremental.settings import parse_start_date

if TYPE_CHECKING:
    from collections.abc import Iterable

    import requests
    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import PageContext

    from tap_zendesk_incremental.pages import PageFacts
    from tap_zendesk_incremental.signals import DeferredSignals

# A "too recent" answer for a start_time older than this (seconds) is not "caught up".
TOO_RECENT_SLACK = 3600
# What `read_page` returns for a resumed cursor that Zendesk no longer accepts.
CURSOR_REFUSED: dict[str, Any] = {}


class TicketsStream(ZendeskStream):
    """Every ticket version from the time-based incremental export, each once per run."""

    name = "tickets"
    path = "/api/v2/incremental/tickets"
    cursor_path = "/api/v2/incremental/tickets/cursor"
    primary_keys = ("id",)
    replication_key = "end_time"
    is_sorted = True  # per-record `end_time` never decreases, so every STATE is resumable
    schema = TICKET

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ledger = SecondLedger({})
        self.duplicates = 0
        self.page: dict[str, Any] = {}  # the page being written, for the sideload streams
        self._page_to_share = False
        self.progress = Progress(per_minute=int(self.config["max_requests_per_minute"]))
        self._decoded: tuple[requests.Response, dict[str, Any] | None] | None = None
        self._requested = ExportPosition(0)
        self._step: Step | None = None
        self.stall = StallGuard()
        self.warned: set[str] = set()  # kinds of page problems already logged this run
        self.resumed_cursor: str | None = None  # a cursor the run started from (the STATE's)
        self._drained: tuple[int, set[int]] = (-1, set())  # second, ids the detour has sent
        self.placed: set[int] = set()  # ids written with the start_time as their position

    @property
    def signals(self) -> DeferredSignals:
        return self._tap.signals  # type: ignore[attr-defined]

    # Where the export starts and how it pages

    def start_position(self, context: Context | None) -> ExportPosition:
        """The bookmark of the last run (inside a crowded second: its cursor), else start_date."""
        value = self.get_starting_replication_key_value(context)
        if not isinstance(value, int):
            return ExportPosition(int(parse_start_date(str(value)).timestamp()))
        cursor = self.ledger.cursor if self.ledger.second == value else None
        return ExportPosition(value, drain=cursor is not None, cursor=cursor)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        outcome = "stopped"
        try:
            yield from super().get_records(context)
            outcome = "finished"
        finally:
            # Also on an error or a signal: the STATE that covers every record written so far.
            self.write_state()
            self.log(
                self.progress.summary(outcome, self.duplicates, self.retries, self.rate_limited)
            )

    @override
    def get_new_paginator(self) -> ExportPaginator:
        self.ledger = SecondLedger(self.get_context_state(self.context))
        start = self.start_position(self.context)
        self.resumed_cursor = start.cursor
        return ExportPaginator(start, self.next_position)

    def next_position(self, response: requests.Response) -> ExportPosition | None:  # noqa: ARG002
        """Where the page just written (parse_response decided it) sends the export."""
        return self._step.following if self._step is not None else None

    @override
    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        position: ExportPosition = page.next_page_token
        self._requested, self._step = position, None
        params: dict[str, Any] = {"per_page": self.config["per_page"]}
        if position.cursor:
            params["cursor"] = position.cursor
        else:
            params["start_time"] = position.start_time
        if self.config["exclude_deleted"]:
            params["exclude_deleted"] = "true"
        if includes := sorted({s.include for s in self.child_streams if s.selected}):
            params["include"] = ",".join(includes)  # type: ignore[attr-defined]
        path = self.cursor_path if position.drain else self.path
        return HTTPRequest(
            url=f"{self.url_base}{path}", method="GET", headers=self.http_headers, params=params
        )

    # What came back

    @override
    def validate_response(self, response: requests.Response) -> None:
        try:
            super().validate_response(response)
            # Decoded here, once, so that a cut or non-JSON body is retried like a 5xx.
            too_recent = responses.is_too_recent(response)
            if too_recent and self._requested.start_time < time.time() - TOO_RECENT_SLACK:
                raise FatalAPIError(self.not_too_recent(response))
            page = None if too_recent else self.decode_page(response)
        except (FatalAPIError, RetriableAPIError) as error:
            if not self._requested.drain:
                raise
            page = self._cursor_failure(error, response)
        self._decoded = (response, page)

    def not_too_recent(self, response: requests.Response) -> str:
        """Zendesk's "too recent" for a start_time far older than a minute: not "caught up"."""
        start = self._requested.start_time
        return (
            f"{responses.problem(response)}: Zendesk calls start_time {start} ({utc(start)}) "
            "too recent, though it is more than an hour old: this machine's clock and Zendesk's "
            "disagree by that much, or something in between (`api_url`) answers for Zendesk. "
            "The STATE stays where it was"
        )

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

    def read_page(self, response: requests.Response) -> dict[str, Any] | None:
        """The decoded page of a validated response; None when Zendesk says 'caught up'."""
        if self._decoded is None or self._decoded[0] is not response:
            self.validate_response(response)
        assert self._decoded is not None
        return self._decoded[1]

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        page, requested = self.read_page(response), self._requested
        if page is None:
            self._step = Step(None, None)
            self.log("Caught up: Zendesk has nothing older than one minute left to export")
            return
        if page is CURSOR_REFUSED:
            self.restart_drain(requested.start_time)
            return
        facts = pages.read_page(page, requested.start_time, cursor=requested.drain)
        self.warn_once(facts.problems, requested)
        step = self._step = plan(requested, facts)
        tickets = self.to_write(facts, step)
        self.page, self._page_to_share = page, bool(tickets)
        written = 0
        for ticket in tickets:
            if self.ledger.seen(ticket) or self.placed_before(ticket, facts):
                self.duplicates += 1
                continue
            self.keep_declared_fields(ticket)
            with self.signals.held():  # the RECORD and the ledger entry go together
                ticket["end_time"] = max(ticket["generated_timestamp"], self.ledger.second)
                yield ticket
                # Back here, the SDK has written the record and moved the bookmark to it.
                self.ledger.add(ticket)
            written += 1
        self.after_page(requested, facts, step, written)

    @staticmethod
    def to_write(facts: PageFacts, step: Step) -> list[dict[str, Any]]:
        """The page's tickets up to the position it proves (the rest come again)."""
        upto = step.upto
        if upto is None:
            return []
        if facts.newest is not None and facts.newest <= upto:
            return facts.tickets
        return [t for t in facts.tickets if t["generated_timestamp"] <= upto]

    def placed_before(self, ticket: dict[str, Any], facts: PageFacts) -> bool:
        """True for a ticket without a usable timestamp already written in this run.

        Placed at each page's start_time, it would be a new version on every page it is on.
        """
        if ticket["id"] not in facts.placed:
            return False
        if ticket["id"] in self.placed:
            return True
        self.placed.add(ticket["id"])
        return False

    @override
    def generate_child_contexts(
        self, record: dict[str, Any], context: Context | None
    ) -> Iterable[Context | None]:
        # Once per page, before its first ticket is written (so before the page's STATE),
        # the sideload streams write the page's related objects.
        if self._page_to_share:
            self._page_to_share = False
            yield {"tickets_page": self.progress.pages + 1}

    def after_page(
        self, requested: ExportPosition, facts: PageFacts, step: Step, written: int
    ) -> None:
        """Move the bookmark to what the page proves, write a STATE, log, count idle pages."""
        second = requested.start_time
        idle = self.idle_reason(requested, facts, written)
        with self.signals.held():  # bookmark and `written_ids` change together
            if (
                requested.drain
                and not step.passed
                and idle is None
                and facts.after_cursor
                and facts.after_cursor != requested.cursor
            ):
                returned = {t["id"] for t in facts.tickets if t["generated_timestamp"] == second}
                self.ledger.cover(second, facts.after_cursor, returned)
            if step.upto is not None:
                self.move_bookmark(step.upto)
            self.write_state()
        position = max(self.ledger.second, second)
        self.log(self.progress.page_done(position, written, self.pacer.export_limit))
        self.stall.page(second, idle)

    def idle_reason(self, requested: ExportPosition, facts: PageFacts, written: int) -> str | None:
        """What was wrong with a page that brought nothing new; None if it brought something.

        New is a ticket version written, or, inside a crowded second, a ticket the cursor
        export had not sent before (it may re-read tickets the time-based page showed).
        """
        if written or facts.end_of_stream:
            return None
        second = requested.start_time
        if not requested.drain:
            if not facts.tickets:
                return "an empty time-based page that is not the end of the stream"
            return f"a time-based page of {len(facts.tickets)} tickets, all written before"
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

    def warn_once(self, problems: dict[str, str], requested: ExportPosition) -> None:
        """One WARNING per kind of page problem per run, with its first example."""
        for kind, example in problems.items():
            if kind not in self.warned:
                self.warned.add(kind)
                export = "cursor" if requested.drain else "time-based"
                self.log(
                    "Zendesk's %s export sent %s (page from %s; said once per run)",
                    export,
                    example,
                    utc(requested.start_time),
                    level=logging.WARNING,
                )

    def move_bookmark(self, position: int) -> None:
        """Move the bookmark forward to `position` (never back)."""
        current = self.get_context_state(self.context).get("replication_key_value")
        if not isinstance(current, int) or position > current:
            self._increment_stream_state({"end_time": position}, context=self.context)

    def write_state(self) -> None:
        """Write STATE now: the SDK's every-10,000-records default could lose pages."""
        with self.signals.held():
            self.state_manager.is_flushed = False
            self._write_state_message()

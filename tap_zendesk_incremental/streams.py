"""The `tickets` stream: Zendesk's time-based incremental ticket export."""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Any

from singer_sdk.streams.rest import HTTPRequest
from typing_extensions import override

from tap_zendesk_incremental import responses
from tap_zendesk_incremental.client import ZendeskStream
from tap_zendesk_incremental.pagination import ExportPaginator, ExportPosition
from tap_zendesk_incremental.progress import Progress
from tap_zendesk_incremental.schemas import TICKET
from tap_zendesk_incremental.settings import parse_start_date

if TYPE_CHECKING:
    from collections.abc import Iterable

    import requests
    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import PageContext

_BY_SECOND = itemgetter("generated_timestamp")


class SecondLedger:
    """The ticket ids already written for the newest second, the one Zendesk sends again.

    A time-based page starts at the previous page's `end_time`, inclusive, so the tickets of
    that boundary second come twice; so does the bookmark's second at the start of the next run.
    Only that second's ids are kept, so memory stays bounded. They are mirrored into the stream
    STATE under `written_ids` (replaced whole, so a STATE written at any moment, even from a
    signal handler, never names a ticket that was not written) for the next run to skip.
    """

    KEY = "written_ids"

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        written = state.get(self.KEY) or {}
        bookmark = state.get("replication_key_value")
        valid = isinstance(bookmark, int) and written.get("generated_timestamp") == bookmark
        self.second: int = bookmark if valid else -1
        self.ids: set[int] = set(written.get("ids", ())) if valid else set()

    def seen(self, ticket: dict[str, Any]) -> bool:
        """True for a ticket version (id, generated_timestamp) already written."""
        return ticket["generated_timestamp"] == self.second and ticket["id"] in self.ids

    def add(self, ticket: dict[str, Any]) -> None:
        """Remember a ticket version that has been written."""
        second, ticket_id = ticket["generated_timestamp"], ticket["id"]
        if second > self.second:
            self.second, self.ids = second, {ticket_id}
            self.state[self.KEY] = {"generated_timestamp": second, "ids": [ticket_id]}
        elif second == self.second and ticket_id not in self.ids:
            self.ids.add(ticket_id)
            self.state[self.KEY]["ids"].append(ticket_id)


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
        self.progress = Progress()
        self._decoded: tuple[requests.Response, dict[str, Any] | None] | None = None
        self._requested = ExportPosition(0)

    # Where the export starts and how it pages

    def start_time(self, context: Context | None) -> int:
        """The bookmark of the last run, else `start_date`, as Unix seconds."""
        value = self.get_starting_replication_key_value(context)
        if isinstance(value, int):
            return value
        return int(parse_start_date(str(value)).timestamp())

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
        return ExportPaginator(
            self.start_time(self.context), self.config["per_page"], self.read_page
        )

    @override
    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        position: ExportPosition = page.next_page_token
        self._requested = position
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
        super().validate_response(response)
        # Decoded here, once, so that a cut or non-JSON body is retried like a 5xx.
        page = None if responses.is_too_recent(response) else self.decode_page(response)
        self._decoded = (response, page)

    def read_page(self, response: requests.Response) -> dict[str, Any] | None:
        """The decoded page of a validated response; None when Zendesk says 'caught up'."""
        if self._decoded is None or self._decoded[0] is not response:
            self.validate_response(response)
        assert self._decoded is not None
        return self._decoded[1]

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict[str, Any]]:
        page = self.read_page(response)
        if page is None:
            self.log("Caught up: Zendesk has nothing older than one minute left to export")
            return
        tickets: list[dict[str, Any]] = page["tickets"]
        tickets.sort(key=_BY_SECOND)  # sorted already; this makes sure, in linear time
        drained_second = self._requested.start_time if self._requested.drain else None
        self.page, self._page_to_share = page, True
        written = 0
        for ticket in tickets:
            if drained_second is not None and ticket["generated_timestamp"] != drained_second:
                continue  # the cursor detour only reads its one second
            if self.ledger.seen(ticket):
                self.duplicates += 1
                continue
            self.keep_declared_fields(ticket)
            ticket["end_time"] = max(ticket["generated_timestamp"], self.ledger.second)
            yield ticket
            # Back here, the SDK has written the record and moved the bookmark to it.
            self.ledger.add(ticket)
            written += 1
        self.after_page(page, written)

    @override
    def generate_child_contexts(
        self, record: dict[str, Any], context: Context | None
    ) -> Iterable[Context | None]:
        # Once per page, before its first ticket is written (so before the page's STATE),
        # the sideload streams write the page's related objects.
        if self._page_to_share:
            self._page_to_share = False
            yield {"tickets_page": self.progress.pages + 1}

    def after_page(self, page: dict[str, Any], written: int) -> None:
        """Move the bookmark to the page's `end_time`, write a STATE and log the progress."""
        end_time = page.get("end_time")
        if isinstance(end_time, int) and end_time >= self.ledger.second:
            self._increment_stream_state({"end_time": end_time}, context=self.context)
        self.write_state()
        position = max(self.ledger.second, self._requested.start_time)
        self.log(self.progress.page_done(position, written, self.pacer.limit))

    def write_state(self) -> None:
        """Write STATE now: the SDK's every-10,000-records default could lose pages."""
        self.state_manager.is_flushed = False
        self._write_state_message()

"""What the time-based exports (tickets, ticket events) share: one page at a time, each once.

Each page goes through the same steps: what it proves (`pages.read_page`), where the export
goes next (`pagination.plan`, through `plan_step`), the items not written before
(`ledger.SecondLedger`), then the bookmark and a STATE, and a count of pages that bring nothing
new (`pagination.StallGuard`). The streams say what differs: the page's `Shape`, the request,
and what a page that cannot move past its second means (tickets: the cursor export).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk.exceptions import FatalAPIError
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
from tap_zendesk_incremental.settings import parse_start_date

if TYPE_CHECKING:
    from collections.abc import Iterable

    import requests
    from singer_sdk.helpers.types import Context
    from singer_sdk.streams.rest import PageContext

    from tap_zendesk_incremental.pages import PageFacts, Shape
    from tap_zendesk_incremental.signals import DeferredSignals

# A "too recent" answer for a start_time older than this (seconds) is not "caught up".
TOO_RECENT_SLACK = 3600


class ExportStream(ZendeskStream):
    """Every item of a time-based incremental export, each once per run and across runs."""

    primary_keys = ("id",)
    replication_key = "end_time"
    is_sorted = True  # per-record `end_time` never decreases, so every STATE is resumable
    shape: ClassVar[Shape]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ledger = SecondLedger({}, self.shape.timestamp)
        self.duplicates = 0
        self.page: dict[str, Any] = {}  # the page being written, for the child streams
        self._page_to_share = False
        self.progress = Progress(
            per_minute=int(self.config["max_requests_per_minute"]), items=f"{self.shape.noun}s"
        )
        self._decoded: tuple[requests.Response, dict[str, Any] | None] | None = None
        self._requested = ExportPosition(0)
        self._step: Step | None = None
        self.stall = StallGuard(noun=self.shape.noun)
        self.warned: set[str] = set()  # kinds of page problems already logged this run
        self.placed: set[int] = set()  # ids written with the start_time as their position
        self.lost: Counter[str] = Counter()  # items left out for good this run, by reason

    @property
    def items_key(self) -> str:  # type: ignore[override]
        return self.shape.items

    @property
    def signals(self) -> DeferredSignals:
        return self._tap.signals  # type: ignore[attr-defined]

    # Where the export starts and how it pages

    def start_position(self, context: Context | None) -> ExportPosition:
        """The bookmark of the last run, else start_date."""
        value = self.get_starting_replication_key_value(context)
        if not isinstance(value, int):
            return ExportPosition(int(parse_start_date(str(value)).timestamp()))
        return ExportPosition(value)

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
            self.report_lost()

    def report_lost(self) -> None:
        """One WARNING counting the items Zendesk sent that could not be written at all."""
        if not (total := self.lost.total()):
            return
        noun = self.shape.noun
        self.log(
            "%d items of %s were left out this run, having no key to be written under: %d "
            "without a usable `id`, %d not %s objects (as Zendesk sent them, counted per page: "
            "one on a repeated boundary second counts twice; the pages' other items were "
            "written)",
            total,
            self.name,
            self.lost["no_id"],
            self.lost["not_object"],
            noun,
            level=logging.WARNING,
        )

    @override
    def get_new_paginator(self) -> ExportPaginator:
        self.ledger = SecondLedger(self.get_context_state(self.context), self.shape.timestamp)
        return ExportPaginator(self.start_position(self.context), self.next_position)

    def next_position(self, response: requests.Response) -> ExportPosition | None:  # noqa: ARG002
        """Where the page just written (parse_response decided it) sends the export."""
        return self._step.following if self._step is not None else None

    @override
    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        position: ExportPosition = page.next_page_token
        self._requested, self._step = position, None
        params: dict[str, Any] = {"per_page": self.config["per_page"], **self.query(position)}
        return HTTPRequest(
            url=f"{self.url_base}{self.request_path(position)}",
            method="GET",
            headers=self.http_headers,
            params=params,
        )

    def query(self, position: ExportPosition) -> dict[str, Any]:
        """The query parameters of a page besides `per_page`."""
        params: dict[str, Any] = {"start_time": position.start_time}
        if includes := sorted({s.include for s in self.child_streams if s.selected}):
            params["include"] = ",".join(includes)  # type: ignore[attr-defined]
        return params

    def request_path(self, position: ExportPosition) -> str:  # noqa: ARG002
        return self.path

    # What came back

    @override
    def validate_response(self, response: requests.Response) -> None:
        self._decoded = (response, self.checked_page(response))

    def checked_page(self, response: requests.Response) -> dict[str, Any] | None:
        """The decoded page; None for "too recent" (caught up). Raises what the SDK retries."""
        super().validate_response(response)
        # Decoded here, once, so that a cut or non-JSON body is retried like a 5xx.
        too_recent = responses.is_too_recent(response)
        if too_recent and self._requested.start_time < time.time() - TOO_RECENT_SLACK:
            raise FatalAPIError(self.not_too_recent(response))
        return None if too_recent else self.decode_page(response)

    def not_too_recent(self, response: requests.Response) -> str:
        """Zendesk's "too recent" for a start_time far older than a minute: not "caught up"."""
        start = self._requested.start_time
        return (
            f"{responses.problem(response)}: Zendesk calls start_time {start} ({utc(start)}) "
            "too recent, though it is more than an hour old: this machine's clock and Zendesk's "
            "disagree by that much, or something in between (`api_url`) answers for Zendesk. "
            "The STATE stays where it was"
        )

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
        self.page = page
        facts = pages.read_page(
            page, requested.start_time, cursor=requested.drain, shape=self.shape
        )
        self.warn_once(facts.problems, requested)
        self.lost += facts.lost
        step = self._step = self.plan_step(requested, facts)
        fresh = self.fresh(facts, step)
        self._page_to_share = bool(fresh)
        key = self.shape.timestamp
        for item in fresh:
            self.keep_declared_fields(item)
            with self.signals.held():  # the RECORD and the ledger entry go together
                item["end_time"] = max(item[key], self.ledger.second)
                yield item
                # Back here, the SDK has written the record and moved the bookmark to it.
                self.ledger.add(item)
        self.after_page(requested, facts, step, len(fresh))

    def plan_step(self, requested: ExportPosition, facts: PageFacts) -> Step:
        """What the page means (see pagination.plan)."""
        return plan(requested, facts)

    def fresh(self, facts: PageFacts, step: Step) -> list[dict[str, Any]]:
        """The page's items up to the position it proves, less those written before."""
        upto, key = step.upto, self.shape.timestamp
        if upto is None:
            return []
        items = facts.tickets
        if facts.newest is None or facts.newest > upto:
            items = [item for item in items if item[key] <= upto]  # the rest come again
        kept, taken = [], set()
        for item in items:
            version = (item["id"], item[key])  # a page may repeat an item: written once
            if version in taken or self.ledger.seen(item) or self.placed_before(item, facts):
                self.duplicates += 1
            else:
                taken.add(version)
                kept.append(item)
        return kept

    def placed_before(self, item: dict[str, Any], facts: PageFacts) -> bool:
        """True for an item without a usable timestamp already written in this run.

        Placed at each page's start_time, it would be a new version on every page it is on.
        """
        if item["id"] not in facts.placed:
            return False
        if item["id"] in self.placed:
            return True
        self.placed.add(item["id"])
        return False

    @override
    def generate_child_contexts(
        self, record: dict[str, Any], context: Context | None
    ) -> Iterable[Context | None]:
        # Once per page, before its first item is written (so before the page's STATE), the
        # child streams write what they take from the page.
        if self._page_to_share:
            self._page_to_share = False
            yield {f"{self.name}_page": self.progress.pages + 1}

    def after_page(
        self, requested: ExportPosition, facts: PageFacts, step: Step, written: int
    ) -> None:
        """Move the bookmark to what the page proves, write a STATE, log, count idle pages."""
        second = requested.start_time
        idle = self.idle_reason(requested, facts, written)
        with self.signals.held():  # bookmark and `written_ids` change together
            self.before_bookmark(requested, facts, step, idle)
            if step.upto is not None:
                self.move_bookmark(step.upto)
            self.write_state()
        position = max(self.ledger.second, second)
        self.log(self.progress.page_done(position, written, self.pacer.export_limit))
        self.stall.page(second, idle)

    def before_bookmark(
        self, requested: ExportPosition, facts: PageFacts, step: Step, idle: str | None
    ) -> None:
        """What the ledger learns from a page before its STATE (tickets: a cursor page)."""

    def idle_reason(self, requested: ExportPosition, facts: PageFacts, written: int) -> str | None:
        """What was wrong with a page that brought nothing new; None if it brought something."""
        del requested  # the tickets stream tells time-based and cursor pages apart
        if written or facts.end_of_stream:
            return None
        if not facts.tickets:
            return "an empty time-based page that is not the end of the stream"
        noun = self.shape.noun
        return f"a time-based page of {len(facts.tickets)} {noun}s, all written before"

    def warn_once(self, problems: dict[str, str], requested: ExportPosition) -> None:
        """One WARNING per kind of page problem per run, with its first example."""
        for kind, example in problems.items():
            if kind not in self.warned:
                self.warned.add(kind)
                self.log(
                    "Zendesk's %s export sent %s (page from %s; said once per run)",
                    self.export_name(requested),
                    example,
                    utc(requested.start_time),
                    level=logging.WARNING,
                )

    def export_name(self, requested: ExportPosition) -> str:  # noqa: ARG002
        """The export, as a person reads it in a message."""
        return self.name.replace("_", " ")

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

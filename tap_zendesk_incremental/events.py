"""`ticket_events` and `ticket_comments`: Zendesk's incremental ticket event export.

The same time-based mechanics as tickets (export.py), without a cursor variant: a second that
holds more events than a page cannot be read in parts. A grown page (all of that second at
once, more than `per_page`) is written and the export goes on after its second. A server that
instead stalls on the second (the same page again and again) is asked until it has shown no
new event of it for CROWDED_IDLE_PAGES pages in a row; then the export goes on after that
second, and one WARNING names it with how many of its events were written (see the README).

Comments come from the same pages: with `include=comment_events` (sent only when
`ticket_comments` is selected), a Comment child event is the whole comment.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from tap_zendesk_incremental.children import PageChildStream
from tap_zendesk_incremental.export import ExportStream
from tap_zendesk_incremental.pages import EVENTS
from tap_zendesk_incremental.pagination import ExportPosition, Step, caught_up, plan
from tap_zendesk_incremental.progress import utc
from tap_zendesk_incremental.schemas import TICKET_COMMENT, TICKET_EVENT

if TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

    from tap_zendesk_incremental.pages import PageFacts

# Pages in a row that show no new event of a crowded second before the export gives it up.
# Below pagination.MAX_IDLE_PAGES, so that the stall guard still stops a server that goes on
# answering nothing new after the second was given up.
CROWDED_IDLE_PAGES = 2
COMMENT_KINDS = frozenset({"Comment", "VoiceComment"})


class TicketEventsStream(ExportStream):
    """Every ticket event (one update of a ticket each), each once."""

    name = "ticket_events"
    path = "/api/v2/incremental/ticket_events"
    schema = TICKET_EVENT
    shape = EVENTS
    selected_by_default = False  # opt in through the catalog (meltano `select`)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.given_up: int | None = None  # the crowded second the last page gave up
        # The page's new events with their child events, for ticket_comments.
        self.comment_sources: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []

    @override
    def plan_step(self, requested: ExportPosition, facts: PageFacts) -> Step:
        step = plan(requested, facts)
        if step.following is None or not step.following.drain:
            return step
        # The page did not move past its second, and there is no cursor export to read it.
        second = requested.start_time
        if len(facts.tickets) > int(self.config["per_page"]):
            return self.after_second(second, second)  # a grown page: all of that second
        if self.brings_new(facts) or len(self.stall.idle) + 1 < CROWDED_IDLE_PAGES:
            return Step(step.upto, ExportPosition(second))  # ask again: more of it may come
        self.give_up(second, facts)
        return self.after_second(second + 1, second)

    @override
    def fresh(self, facts: PageFacts, step: Step) -> list[dict[str, Any]]:
        kept = super().fresh(facts, step)
        if any(child.selected for child in self.child_streams):
            # Taken now, before the events are fitted to their schema: `child_events` sent as
            # an object would be set aside there, and its comments with it.
            self.comment_sources = [
                (event, child_events(event.get("child_events"))) for event in kept
            ]
        return kept

    def brings_new(self, facts: PageFacts) -> bool:
        """True when the page holds an event not written before."""
        return any(not self.ledger.seen(event) for event in facts.tickets)

    @staticmethod
    def after_second(upto: int, second: int) -> Step:
        following = None if caught_up(second + 1) else ExportPosition(second + 1)
        return Step(upto, following)

    def give_up(self, second: int, facts: PageFacts) -> None:
        """Say, in one WARNING, what a stalled second may have cost."""
        self.given_up = second
        written = len(self.ledger.ids) if self.ledger.second == second else 0
        count = self.page.get("count")
        reported = f"; Zendesk's page says count={count}" if isinstance(count, int) else ""
        self.log(
            "Zendesk's ticket events export stalled on %s (%d): %d pages in a row showed the "
            "same %d events of that second and no new one (end_time = start_time), and this "
            "export has no cursor to read the rest. %d events of that second were written%s; "
            "any others of it are missing from ticket_events and ticket_comments. Going on "
            "from the next second; the tickets stream still has every ticket's state",
            utc(second),
            second,
            len(self.stall.idle) + 1,
            len(facts.tickets),
            written,
            reported,
            level=logging.WARNING,
        )

    @override
    def before_bookmark(
        self, requested: ExportPosition, facts: PageFacts, step: Step, idle: str | None
    ) -> None:
        # A given-up second is over: the STATE moves past it, with no id of it left to skip.
        if self.given_up is not None and self.given_up == requested.start_time:
            self.ledger.move_past(self.given_up)
            self.given_up = None


class TicketCommentsStream(PageChildStream):
    """Every comment, from the Comment child events of the events written."""

    name = "ticket_comments"
    parent_stream_type = TicketEventsStream
    include = "comment_events"
    schema = TICKET_COMMENT
    said_bodiless = False  # the WARNING about comments without their text was logged

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        # The events of the page that are about to be written: each comment once, as they are.
        assert isinstance(self.parent, TicketEventsStream)
        for event, children in self.parent.comment_sources:
            comments = [child for child in children if child.get("event_type") in COMMENT_KINDS]
            if not self.said_bodiless and not_included(event, comments):
                self.say_bodiless(event)
            for child in comments:
                comment = as_comment(event, child)
                self.keep_declared_fields(comment)
                yield comment

    def say_bodiless(self, event: dict[str, Any]) -> None:
        """One WARNING per run: the page's comments came without their text."""
        self.said_bodiless = True
        self.log(
            "Zendesk sent event %s with a comment but not the comment itself although the tap "
            "asked for include=comment_events (a proxy dropping the parameter?): ticket_comments "
            "gets only what the events carry (said once per run)",
            event.get("id"),
            level=logging.WARNING,
        )


def not_included(event: dict[str, Any], comments: list[dict[str, Any]]) -> bool:
    """True when the event shows a comment that `include=comment_events` did not bring."""
    if comments:
        return any("body" not in comment for comment in comments)
    return event.get("comment_present") is True


def child_events(value: Any) -> list[dict[str, Any]]:
    """An event's child events: a list as Zendesk documents it, or read from an object (one
    child event, or child events by key) rather than lose the comments in it."""
    if isinstance(value, list):
        return [child for child in value if isinstance(child, dict)]
    if isinstance(value, dict):
        if "event_type" in value:
            return [value]
        return [child for child in value.values() if isinstance(child, dict)]
    return []


def as_comment(event: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """A comment record from its child event and the event (ticket, audit, second)."""
    comment = dict(child)
    comment.setdefault("audit_id", event["id"])
    comment.setdefault("created_at", event.get("created_at"))
    comment["ticket_id"] = event.get("ticket_id")
    comment["timestamp"] = event["timestamp"]
    return comment

"""What one export page proves: its tickets checked one by one, and the fields that move on.

Zendesk's page is trusted for nothing it cannot show. A ticket needs an integer `id` and an
integer `generated_timestamp` no older than the `start_time` asked for; the page's newest
`generated_timestamp` is where the export stands after it, and `end_time` is only cross-checked
against it. Every deviation is named once in `problems` (kind -> one example), for one WARNING
per kind and run; nothing here raises.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any

_BY_SECOND = itemgetter("generated_timestamp")
_INTEGER = re.compile(r"^\s*\d+\s*$")
# A `generated_timestamp` (or a STATE's bookmark) more than this many seconds ahead of our
# clock cannot be a position: Zendesk never shows the last minute, and clocks are not a day
# apart. Such a position would park the bookmark in the future (milliseconds: for good).
FUTURE_SLACK = 86_400


@dataclass
class PageFacts:
    """A page reduced to what the export may rely on."""

    tickets: list[dict[str, Any]]  # usable tickets, sorted by generated_timestamp
    newest: int | None  # the newest generated_timestamp among them
    end_of_stream: bool
    after_cursor: str | None
    problems: dict[str, str] = field(default_factory=dict)  # kind -> example, this page

    def later_than(self, second: int) -> bool:
        """True when the page holds a ticket past `second` (it moved past it)."""
        return self.newest is not None and self.newest > second


def read_page(
    page: dict[str, Any], start_time: int, *, cursor: bool, now: float | None = None
) -> PageFacts:
    """Check a decoded page requested from `start_time` (time based, or cursor inside it)."""
    problems: dict[str, str] = {}
    latest = int(now if now is not None else time.time()) + FUTURE_SLACK
    tickets = _usable(page["tickets"], start_time, latest, problems)
    tickets.sort(key=_BY_SECOND)  # Zendesk sends them sorted; this makes sure in linear time
    newest = tickets[-1]["generated_timestamp"] if tickets else None
    if not cursor:
        _check_end_time(page, start_time, newest, problems)
    return PageFacts(
        tickets=tickets,
        newest=newest,
        end_of_stream=_flag(page, "end_of_stream", problems),
        after_cursor=_cursor(page, problems) if cursor else None,
        problems=problems,
    )


def as_integer(value: object) -> int | None:
    """An integer read unambiguously from JSON: 5, 5.0 or "5"; never a boolean."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Decimal)):
        return int(value) if value == value and value % 1 == 0 else None  # noqa: PLR0124 - NaN
    if isinstance(value, str) and _INTEGER.match(value):
        return int(value)
    return None


def _usable(
    raw: list[Any], start_time: int, latest: int, problems: dict[str, str]
) -> list[dict[str, Any]]:
    kept = []
    for ticket in raw:
        # The fast path: what Zendesk sends, checked without a call per ticket.
        if type(ticket) is dict:
            ticket_id, second = ticket.get("id"), ticket.get("generated_timestamp")
            if type(ticket_id) is int and type(second) is int and start_time <= second <= latest:
                kept.append(ticket)
                continue
        if (repaired := _repair(ticket, start_time, latest, problems)) is not None:
            kept.append(repaired)
    return kept


def _repair(
    ticket: object, start_time: int, latest: int, problems: dict[str, str]
) -> dict[str, Any] | None:
    """The ticket made usable, or None (left out) with the reason recorded."""
    if not isinstance(ticket, dict):
        problems.setdefault(
            "not_object", f"an item that is not a ticket object ({_show(ticket)}): left out"
        )
        return None
    ticket_id = as_integer(ticket.get("id"))
    if ticket_id is None:
        problems.setdefault(
            "no_id", f"a ticket without a usable `id` ({_show(ticket.get('id'))}): left out"
        )
        return None
    ticket["id"] = ticket_id
    sent = ticket.get("generated_timestamp")
    second = as_integer(sent)
    if second is None or second > latest:
        # The earliest second it can belong to (the export filters generated_timestamp >=
        # start_time): the ticket is kept and placed where it cannot be skipped.
        problems.setdefault(
            "bad_timestamp",
            f"ticket {ticket_id} with an unusable `generated_timestamp` ({_show(sent)}): "
            f"exported with the page's start_time {start_time} instead",
        )
        second = start_time
    elif second < start_time:
        problems.setdefault(
            "too_old",
            f"ticket {ticket_id} with generated_timestamp {second}, older than the start_time "
            f"{start_time} asked for (already exported): left out",
        )
        return None
    ticket["generated_timestamp"] = second
    return ticket


def _check_end_time(
    page: dict[str, Any], start_time: int, newest: int | None, problems: dict[str, str]
) -> None:
    """Note an `end_time` that the tickets do not back: the position never follows it."""
    end_time = page.get("end_time")
    if "end_time" not in page:
        wrong = "without `end_time`"
    elif type(end_time) is not int:
        wrong = f"whose `end_time` is not an integer ({_show(end_time)})"
    elif end_time < start_time:
        wrong = f"whose `end_time` {end_time} is before the start_time {start_time} asked for"
    elif end_time > (newest if newest is not None else start_time):
        wrong = (
            f"whose `end_time` {end_time} is later than its newest ticket "
            f"({newest if newest is not None else 'none'})"
        )
    else:
        return
    problems["end_time"] = f"a page {wrong}: the position follows the page's tickets instead"


def _flag(page: dict[str, Any], name: str, problems: dict[str, str]) -> bool:
    value = page.get(name)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        problems.setdefault(name, f"`{name}` as text ({value!r}): read as a boolean")
        return value.strip().lower() == "true"
    problems.setdefault(
        name, f"a page whose `{name}` is not a boolean ({_show(value)}): read as false"
    )
    return False


def _cursor(page: dict[str, Any], problems: dict[str, str]) -> str | None:
    value = page.get("after_cursor")
    if isinstance(value, str) and value.strip():
        return value
    if value is not None:
        problems.setdefault(
            "after_cursor", f"an `after_cursor` that is not text ({_show(value)}): not followed"
        )
    return None


def _show(value: object) -> str:
    text = "null or missing" if value is None else f"{type(value).__name__} {value!r}"
    return text if len(text) <= 60 else text[:59] + "…"

"""What one export page proves: its items checked one by one, and the fields that move on.

The same rules hold for the tickets export and the ticket events export; a `Shape` names what
differs (the page's array, the item's second, the word for an item). Zendesk's page is trusted
for nothing it cannot show. An item needs an integer `id` and an integer second (tickets:
`generated_timestamp`, events: `timestamp`) no older than the `start_time` asked for; the page's
newest second is where the export stands after it, and `end_time` is only cross-checked
against it. Every deviation is named once in `problems` (kind -> one example), for one WARNING
per kind and run; nothing here raises.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any

from tap_zendesk_incremental.conform import SET_ASIDE, keep_aside

_INTEGER = re.compile(r"^\s*\d+\s*$")
# A `generated_timestamp` (or a STATE's bookmark) more than this many seconds ahead of our
# clock cannot be a position: Zendesk never shows the last minute, and clocks are not a day
# apart. Such a position would park the bookmark in the future (milliseconds: for good).
FUTURE_SLACK = 86_400
# Zendesk never exports the most recent minute: a ticket newer than that (or up to a day ahead
# of this clock) cannot be placed yet. It is left for a later run, and never moves the position.
NEWEST_ALLOWED_AGE = 60


@dataclass(frozen=True)
class Shape:
    """What an export's pages are made of."""

    items: str  # the page's array
    timestamp: str  # the item's second: the export's position
    noun: str  # one item, in messages


TICKETS = Shape("tickets", "generated_timestamp", "ticket")
EVENTS = Shape("ticket_events", "timestamp", "event")


@dataclass
class PageFacts:
    """A page reduced to what the export may rely on."""

    tickets: list[dict[str, Any]]  # usable items (tickets or events), sorted by their second
    newest: int | None  # the newest second among them
    end_time: int | None  # Zendesk's `end_time` when the tickets back it, else None
    end_of_stream: bool
    after_cursor: str | None
    problems: dict[str, str] = field(default_factory=dict)  # kind -> example, this page
    placed: set[int] = field(default_factory=set)  # ids given the start_time as position
    # Items left out for good, by reason: nothing to key them by ("no_id", "not_object").
    lost: Counter[str] = field(default_factory=Counter)
    too_new: bool = False  # tickets left out for being newer than Zendesk can export yet

    def later_than(self, second: int) -> bool:
        """True when the page holds a ticket past `second` (it moved past it)."""
        return self.newest is not None and self.newest > second


def read_page(
    page: dict[str, Any],
    start_time: int,
    *,
    cursor: bool,
    now: float | None = None,
    shape: Shape = TICKETS,
) -> PageFacts:
    """Check a decoded page requested from `start_time` (time based, or cursor inside it)."""
    problems: dict[str, str] = {}
    clock = int(now if now is not None else time.time())
    limits = Limits(start_time, clock - NEWEST_ALLOWED_AGE, clock + FUTURE_SLACK, set(), shape)
    tickets = _usable(page[shape.items], limits, problems)
    # Zendesk sends them sorted; this makes sure in linear time
    tickets.sort(key=itemgetter(shape.timestamp))
    newest = tickets[-1][shape.timestamp] if tickets else None
    end_time = None if cursor else _check_end_time(page, start_time, newest, problems)
    return PageFacts(
        tickets=tickets,
        newest=newest,
        end_time=end_time,
        end_of_stream=_flag(page, "end_of_stream", problems),
        after_cursor=_cursor(page, problems) if cursor else None,
        problems=problems,
        placed=limits.placed,
        lost=limits.lost,
        too_new="too_new" in problems,
    )


@dataclass(frozen=True)
class Limits:
    """The seconds a ticket of this page may have."""

    start_time: int  # the export filters generated_timestamp >= start_time
    placeable: int  # the newest second Zendesk can have exported by now
    believable: int  # beyond this, a generated_timestamp is no position at all
    placed: set[int]  # ids of items whose unusable timestamp became start_time
    shape: Shape = TICKETS
    lost: Counter[str] = field(default_factory=Counter)  # see PageFacts.lost


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


def _usable(raw: list[Any], limits: Limits, problems: dict[str, str]) -> list[dict[str, Any]]:
    kept = []
    start_time, placeable, key = limits.start_time, limits.placeable, limits.shape.timestamp
    for ticket in raw:
        # The fast path: what Zendesk sends, checked without a call per ticket.
        if isinstance(ticket, Mapping):
            ticket_id, second = ticket.get("id"), ticket.get(key)
            if type(ticket_id) is int and type(second) is int and start_time <= second <= placeable:
                kept.append(ticket)
                continue
        if (repaired := _repair(ticket, limits, problems)) is not None:
            kept.append(repaired)
    return kept


def _repair(ticket: object, limits: Limits, problems: dict[str, str]) -> dict[str, Any] | None:
    """The item made usable, or None (left out) with the reason recorded."""
    noun, key = limits.shape.noun, limits.shape.timestamp
    if not isinstance(ticket, Mapping):
        limits.lost["not_object"] += 1
        problems.setdefault(
            "not_object", f"an item that is not {_a(noun)} object ({_show(ticket)}): left out"
        )
        return None
    ticket_id = as_integer(ticket.get("id"))
    if ticket_id is None:
        limits.lost["no_id"] += 1
        problems.setdefault(
            "no_id", f"{_a(noun)} without a usable `id` ({_show(ticket.get('id'))}): left out"
        )
        return None
    ticket["id"] = ticket_id
    sent = ticket.get(key)
    second = as_integer(sent)
    start_time = limits.start_time
    if second is None or second > limits.believable or second <= 0:
        # The earliest second it can belong to (the export filters generated_timestamp >=
        # start_time): the ticket is kept and placed where it cannot be skipped.
        problems.setdefault(
            "bad_timestamp",
            f"{noun} {ticket_id} with an unusable `{key}` ({_show(sent)}): "
            f"exported with the page's start_time {start_time} instead, the value sent kept "
            f"under `{SET_ASIDE}`",
        )
        if sent is not None:
            keep_aside(ticket, key, sent)
        second = start_time
        limits.placed.add(ticket_id)
    elif second > limits.placeable:
        problems.setdefault(
            "too_new",
            f"{noun} {ticket_id} with {key} {second}, within the last minute or "
            "ahead of this machine's clock (Zendesk exports neither): left for a later run",
        )
        return None
    elif second < start_time:
        problems.setdefault(
            "too_old",
            f"{noun} {ticket_id} with {key} {second}, older than the start_time "
            f"{start_time} asked for (already exported): left out",
        )
        return None
    ticket[key] = second
    return ticket


def _check_end_time(
    page: dict[str, Any], start_time: int, newest: int | None, problems: dict[str, str]
) -> int | None:
    """`end_time` when the tickets back it; else None, and the problem noted."""
    sent = page.get("end_time")
    # Only a JSON integer: the issue of a string or float end_time is the server's, and the
    # tickets decide then (a STATE, written by people and other taps, is read more leniently).
    end_time = sent if type(sent) is int else None
    if "end_time" not in page:
        wrong = "without `end_time`"
    elif end_time is None:
        wrong = f"whose `end_time` is not an integer ({_show(sent)})"
    elif end_time < start_time:
        wrong = f"whose `end_time` {end_time} is before the start_time {start_time} asked for"
    elif end_time > (newest if newest is not None else start_time):
        wrong = (
            f"whose `end_time` {end_time} is later than its newest ticket "
            f"({newest if newest is not None else 'none'})"
        )
    else:
        return end_time
    problems["end_time"] = f"a page {wrong}: the position follows the page's tickets instead"
    return None


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


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _show(value: object) -> str:
    text = "null or missing" if value is None else f"{type(value).__name__} {value!r}"
    return text if len(text) <= 60 else text[:59] + "…"

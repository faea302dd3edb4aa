"""The STATE a run starts from, checked before the first request.

A bookmark the tap can read unambiguously is used: Unix seconds as an integer, a float with no
fraction or an integer in a string; an ISO 8601 date-time; the `generated_timestamp` bookmark
the other Zendesk taps write (singer-io, the Meltano Hub default), so a switch to this tap
resumes where that one stopped. Anything else, or a position in the future (milliseconds, a
year-2099 date), is a `StateError`: one line naming the problem and the fix. A malformed
`written_ids` only costs its second a repeat, so it is dropped with a warning.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tap_zendesk_incremental.ledger import KEY as WRITTEN_IDS
from tap_zendesk_incremental.pages import EVENTS, FUTURE_SLACK, TICKETS, as_integer
from tap_zendesk_incremental.progress import utc
from tap_zendesk_incremental.settings import parse_start_date

STREAM = "tickets"
# The streams with a bookmark of their own, and the name of their items' second in `written_ids`.
STREAMS = {shape.items: shape.timestamp for shape in (TICKETS, EVENTS)}
REPLICATION_KEY = "end_time"
# Bookmarks other taps keep for this export; both are at or before this tap's position.
PEER_KEYS = ("generated_timestamp", "updated_at")
AHEAD_SLACK = 60  # a bookmark further ahead of this clock is said (up to FUTURE_SLACK: refused)
FIX = (
    "fix or remove the {stream} bookmark (`meltano state clear <state id>`, or edit the "
    "--state file)"
)


class StateError(ValueError):
    """A STATE that cannot be resumed from; the message is one line for a person."""


@dataclass
class CheckedState:
    """The STATE to load, and what to tell the person running the tap about it."""

    state: dict[str, Any]
    notes: list[tuple[int, str]] = field(default_factory=list)  # (log level, message)


def check_state(state: Any, now: float | None = None) -> CheckedState:
    """The STATE with each stream's bookmark in this tap's own form, or a `StateError`."""
    now = time.time() if now is None else now
    if not isinstance(state, dict):
        msg = f"The STATE is {_json_kind(state)}, not a JSON object: {_fix()}"
        raise StateError(msg)
    checked = CheckedState(state)
    if "singer_state" in state and "bookmarks" not in state:
        checked.state = state = _as_dict(state["singer_state"], "`singer_state`")
        checked.notes.append((logging.INFO, "Read the STATE's `singer_state` (meltano's form)"))
    bookmarks = state.get("bookmarks")
    bookmarks = {} if bookmarks is None else _as_dict(bookmarks, "`bookmarks`")
    for name in STREAMS:
        if (found := bookmarks.get(name)) is not None:
            where = f"`bookmarks.{name}`"
            bookmarks[name] = _stream_state(name, _as_dict(found, where, name), now, checked)
    return checked


def _fix(stream: str = STREAM) -> str:
    return FIX.format(stream=stream)


def _as_dict(value: Any, name: str, stream: str = STREAM) -> dict[str, Any]:
    if not isinstance(value, dict):
        msg = f"The STATE's {name} is {_json_kind(value)}, not a JSON object: {_fix(stream)}"
        raise StateError(msg)
    return value


def _stream_state(
    name: str, stream: dict[str, Any], now: float, checked: CheckedState
) -> dict[str, Any]:
    if "replication_key_value" in stream:
        key = stream.get("replication_key") or REPLICATION_KEY
        if key != REPLICATION_KEY and key not in PEER_KEYS:
            msg = (
                f"The STATE's {name} bookmark is on {key!r}, not {REPLICATION_KEY!r}: {_fix(name)}"
            )
            raise StateError(msg)
        position = read_position(stream["replication_key_value"], now, name)
    else:
        peer = next((key for key in PEER_KEYS if key in stream), None)
        if peer is None:
            return {}  # no bookmark (progress markers only): start_date decides
        position = read_position(stream[peer], now, name)
        checked.notes.append(
            (
                logging.INFO,
                f"Resuming from the `{peer}` bookmark another Zendesk tap wrote: {utc(position)}",
            )
        )
    if position > now + AHEAD_SLACK:
        checked.notes.append(
            (
                logging.WARNING,
                f"The STATE's {name} bookmark {utc(position)} is ahead of this machine's clock: "
                "nothing is exported until then (is the clock right?)",
            )
        )
    normalized: dict[str, Any] = {
        "replication_key": REPLICATION_KEY,
        "replication_key_value": position,
    }
    if WRITTEN_IDS in stream:
        if (written := _written_ids(stream[WRITTEN_IDS], position, STREAMS[name])) is not None:
            normalized[WRITTEN_IDS] = written
        else:
            checked.notes.append(
                (
                    logging.WARNING,
                    f"The STATE's `{WRITTEN_IDS}` is not for the bookmark's second or is "
                    f"malformed: ignored, so {name} of {utc(position)} may be written once more",
                )
            )
    return normalized


def read_position(value: Any, now: float, stream: str = STREAM) -> int:
    """Unix seconds from a bookmark value, or a `StateError` saying what is wrong with it."""
    seconds = as_integer(value)
    if seconds is None and isinstance(value, str):
        try:
            seconds = int(parse_start_date(value).timestamp())
        except ValueError:
            seconds = None
    text = str(value) if isinstance(value, Decimal) else repr(value)
    shown = text if len(text) <= 40 else text[:39] + "…"
    if seconds is None:
        msg = (
            f"The STATE's {stream} bookmark {shown} is neither Unix seconds nor an ISO 8601 "
            f"date-time: {_fix(stream)}"
        )
        raise StateError(msg)
    if seconds < 0:
        msg = f"The STATE's {stream} bookmark {shown} is before 1970: {_fix(stream)}"
        raise StateError(msg)
    if seconds > now + FUTURE_SLACK:
        hint = f" (in milliseconds? {seconds // 1000} would be {utc(seconds // 1000)})"
        msg = (
            f"The STATE's {stream} bookmark {shown} is in the future"
            f"{hint if seconds > 10**11 else f' ({utc(seconds)})'}; no run would export "
            f"anything until then: {_fix(stream)}"
        )
        raise StateError(msg)
    return seconds


def _written_ids(value: Any, position: int, key: str) -> dict[str, Any] | None:
    """`written_ids` as this tap writes it, for the bookmark's second; None if it is not."""
    if not isinstance(value, dict) or as_integer(value.get(key)) != position:
        return None
    ids = value.get("ids")
    if not isinstance(ids, list) or any(as_integer(i) is None for i in ids):
        return None
    written: dict[str, Any] = {key: position, "ids": [as_integer(i) for i in ids]}
    cursor = value.get("cursor")
    if cursor is not None:
        if not isinstance(cursor, str) or not cursor.strip():
            return None
        written["cursor"] = cursor
    return written


def _json_kind(value: Any) -> str:
    kinds = {type(None): "null", bool: "a boolean", str: "text", list: "a list"}
    return kinds.get(type(value), "a number")

"""The items (ticket versions, events) already written for the export's newest second, in STATE.

A time-based page starts at the previous page's position, inclusive, so the tickets of that
boundary second come twice; so does the bookmark's second at the start of the next run. The ids
written for that second are kept (memory stays bounded: one second) and mirrored into the stream
STATE under `written_ids`, for the next run to skip:

    {"generated_timestamp": S, "ids": [...]}                    time based
    {"generated_timestamp": S, "ids": [...], "cursor": "..."}   inside a crowded second
    {"timestamp": S, "ids": [...]}                              ticket events (no cursor)

While a crowded second is read through the cursor export, every ticket of S that comes before
`cursor` has been written, and `ids` lists only those written that the cursor has not passed
yet (the tickets of S from before the detour, the page being written), at most MAX_LISTED:
the STATE stays a few KB however large the second. Every change is one assignment or one
append, so a STATE written at any moment never names a ticket that was not written.
"""

from __future__ import annotations

from typing import Any

KEY = "written_ids"
# At most this many ids are listed in the STATE (a page's worth, a few KB): the ids of a second
# that Zendesk grew into one huge page are kept in memory only, and a run stopped inside such a
# second may write the unlisted ones once more.
MAX_LISTED = 2000


class SecondLedger:
    """Which ticket versions of the newest second were written; the STATE's `written_ids`."""

    def __init__(self, state: dict[str, Any], timestamp: str = "generated_timestamp") -> None:
        self.state = state  # the stream's STATE, already checked (bookmark.check_state)
        self.key = timestamp  # the items' second, also its name in `written_ids`
        written = state.get(KEY)
        self.second: int = written[timestamp] if written else -1
        self.ids: set[int] = set(written["ids"]) if written else set()

    @property
    def cursor(self) -> str | None:
        """Where a cursor detour through `second` stands, if one is under way."""
        written = self.state.get(KEY)
        return written.get("cursor") if written else None

    def seen(self, ticket: dict[str, Any]) -> bool:
        """True for a ticket version (id, generated_timestamp) already written."""
        return ticket[self.key] == self.second and ticket["id"] in self.ids

    def add(self, ticket: dict[str, Any]) -> None:
        """Remember a ticket version that has just been written."""
        second, ticket_id = ticket[self.key], ticket["id"]
        if second > self.second:
            self.second, self.ids = second, {ticket_id}
            self.state[KEY] = {self.key: second, "ids": [ticket_id]}
        elif second == self.second and ticket_id not in self.ids:
            self.ids.add(ticket_id)
            listed = self.state[KEY]["ids"]
            if len(listed) < MAX_LISTED:
                listed.append(ticket_id)

    def cover(self, second: int, cursor: str, returned: set[int]) -> None:
        """A cursor page inside `second` is written: its tickets now lie before `cursor`."""
        if second != self.second:
            self.second, self.ids = second, set()
        written = self.state.get(KEY) or {}
        earlier = written.get("ids", ()) if written.get(self.key) == second else ()
        listed = [i for i in earlier if i not in returned]
        self.state[KEY] = {self.key: second, "ids": listed, "cursor": cursor}

    def move_past(self, second: int) -> None:
        """Nothing of `second` or before is to come (a stalled crowded second given up)."""
        self.second, self.ids = second + 1, set()
        self.state[KEY] = {self.key: second + 1, "ids": []}

"""The sandbox's tickets: encoded JSON per ticket plus a sorted (generated_timestamp, id) index.

Pages are joins of stored bytes, so serving costs no encoding; changes keep the index sorted
with bisect instead of re-sorting 200,000 entries. The initial tickets are known by position
only until first read, then built a chunk of ids at a time: a 200,000-ticket sandbox starts in
well under a second and pays for its data while serving it (about 20 ms per 1000 tickets).
"""

from __future__ import annotations

import gc
import json
import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tap_zendesk_incremental.sandbox.data import CHUNK
from tap_zendesk_incremental.sandbox.events import CHANGE, CREATE, DELETE, EventLog

if TYPE_CHECKING:
    from tap_zendesk_incremental.sandbox.data import Row

Position = tuple[int, int]  # (generated_timestamp, id): the export's sort key
ChunkBuilder = Callable[[int, list[Position]], Iterable["Row"]]
AFTER_ALL_IDS = 2**63  # compares greater than any ticket id within one second


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic GC while building rows: thousands of long-lived objects arrive at once
    and would be traversed again and again (about 20% of the build time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class TicketStore:
    """Latest version of every ticket. Callers hold `lock` across a read that spans calls."""

    def __init__(self, build_chunk: ChunkBuilder) -> None:
        self.rows: dict[int, Row | None] = {}  # None: known by position, not built yet
        self.index: list[Position] = []
        self.lock = threading.RLock()
        self.version = 0  # bumped on every change: keys the page cache
        self.max_id = 0
        self._build_chunk = build_chunk
        self._pending: dict[int, list[Position]] = {}  # chunk -> positions not built yet
        self.events = EventLog()  # the update behind every version the store has held

    def plan(self, positions: Iterable[Position]) -> None:
        """Add tickets by position; each chunk of CHUNK ids is built when one is first read."""
        positions = list(positions)
        with self.lock:
            self.events.plan(positions)
            for gts, ticket_id in positions:
                self.rows[ticket_id] = None
                self.index.append((gts, ticket_id))
                self._pending.setdefault(ticket_id // CHUNK, []).append((gts, ticket_id))
                self.max_id = max(self.max_id, ticket_id)
            self.index.sort()
            self.version += 1

    def row(self, ticket_id: int) -> Row:
        row = self.rows[ticket_id]  # KeyError for an unknown id
        if row is None:
            self._build(ticket_id // CHUNK)
            row = self.rows[ticket_id]
            assert row is not None
        return row

    def _build(self, chunk: int) -> None:
        with self.lock, _no_gc():
            members = self._pending.pop(chunk, None)
            for row in self._build_chunk(chunk, members or []):
                self.rows[row.id] = row

    def build_all(self) -> None:
        """Build every pending ticket now (to time it, or before measuring something else)."""
        with self.lock:
            for chunk in sorted(self._pending):
                self._build(chunk)

    def put(self, row: Row) -> None:
        """Insert or replace one ticket, keeping the index sorted."""
        ticket_id = row.id
        with self.lock:
            if ticket_id // CHUNK in self._pending:  # or building it later would undo this
                self._build(ticket_id // CHUNK)
            old = self.rows.get(ticket_id)
            if old is not None:
                del self.index[bisect_left(self.index, (old.gts, ticket_id))]
            kind = CREATE if ticket_id not in self.rows else DELETE if row.deleted else CHANGE
            self.events.add(row.gts, ticket_id, kind)
            self.rows[ticket_id] = row
            insort(self.index, (row.gts, ticket_id))
            self.max_id = max(self.max_id, ticket_id)
            self.version += 1

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        with self.lock:
            return json.loads(self.row(ticket_id).body)

    @property
    def max_gts(self) -> int | None:
        return self.index[-1][0] if self.index else None

    def first_at(self, gts: int) -> int:
        """Index of the first ticket with generated_timestamp >= gts."""
        return bisect_left(self.index, (gts,))

    def first_after(self, position: Position) -> int:
        """Index of the first ticket strictly after `position`."""
        return bisect_right(self.index, position)

    def end_at(self, gts: int) -> int:
        """Index just past the last ticket with generated_timestamp <= gts."""
        return bisect_right(self.index, (gts, AFTER_ALL_IDS))

    def scan(self, start: int, stop: int, *, skip_deleted: bool) -> Iterator[tuple[int, Row]]:
        """(index, row) from `start` up to `stop`, leaving out deleted tickets if asked."""
        index, rows = self.index, self.rows
        for i in range(start, stop):
            ticket_id = index[i][1]
            row = rows[ticket_id] or self.row(ticket_id)
            if not (skip_deleted and row.deleted):
                yield i, row


class TicketsView(Mapping[int, dict[str, Any]]):
    """`sandbox.tickets`: id -> latest ticket dict, decoded on access from what is served."""

    def __init__(self, store: TicketStore) -> None:
        self._store = store

    def __getitem__(self, key: int) -> dict[str, Any]:
        return self._store.ticket(key)

    def __iter__(self) -> Iterator[int]:
        with self._store.lock:
            return iter(list(self._store.rows))

    def __len__(self) -> int:
        return len(self._store.rows)

    def __contains__(self, key: object) -> bool:
        return key in self._store.rows


class DerivedView(Mapping[int, dict[str, Any]]):
    """One object per ticket (metric sets), keyed by `offset + ticket id`, built when read."""

    def __init__(
        self, store: TicketStore, offset: int, build: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None:
        self._store, self._offset, self._build = store, offset, build

    def __getitem__(self, key: int) -> dict[str, Any]:
        ticket_id = key - self._offset
        if ticket_id not in self._store.rows:
            raise KeyError(key)
        return self._build(self._store.ticket(ticket_id))

    def __iter__(self) -> Iterator[int]:
        return (self._offset + ticket_id for ticket_id in TicketsView(self._store))

    def __len__(self) -> int:
        return len(self._store.rows)

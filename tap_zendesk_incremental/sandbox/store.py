"""The sandbox's tickets: encoded JSON per ticket plus a sorted (generated_timestamp, id) index.

Pages are joins of stored bytes, so serving costs no encoding; changes keep the index sorted
with bisect instead of re-sorting 200,000 entries.
"""

from __future__ import annotations

import json
import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tap_zendesk_incremental.sandbox.data import Built

Position = tuple[int, int]  # (generated_timestamp, id): the export's sort key
AFTER_ALL_IDS = 2**63  # compares greater than any ticket id within one second


@dataclass(slots=True)
class Row:
    """One ticket as served, with the references its sideloads need."""

    gts: int
    deleted: bool
    body: bytes
    users: tuple[int, ...]
    group_id: int | None
    org_id: int | None

    @classmethod
    def of(cls, built: Built) -> Row:
        return cls(built.gts, built.deleted, built.text.encode(), built.users, built.group_id,
                   built.org_id)


class TicketStore:
    """Latest version of every ticket. Callers hold `lock` across a read that spans calls."""

    def __init__(self) -> None:
        self.rows: dict[int, Row] = {}
        self.index: list[Position] = []
        self.lock = threading.RLock()
        self.version = 0  # bumped on every change: keys the page cache

    def load(self, tickets: Iterable[Built]) -> None:
        """Bulk insert of new tickets (one sort at the end instead of an insort each)."""
        with self.lock:
            for built in tickets:
                self.rows[built.id] = Row.of(built)
                self.index.append((built.gts, built.id))
            self.index.sort()
            self.version += 1

    def put(self, built: Built) -> None:
        """Insert or replace one ticket, keeping the index sorted."""
        ticket_id = built.id
        with self.lock:
            old = self.rows.get(ticket_id)
            if old is not None:
                del self.index[bisect_left(self.index, (old.gts, ticket_id))]
            self.rows[ticket_id] = Row.of(built)
            insort(self.index, (built.gts, ticket_id))
            self.version += 1

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        return json.loads(self.rows[ticket_id].body)

    @property
    def max_gts(self) -> int | None:
        return self.index[-1][0] if self.index else None

    @property
    def max_id(self) -> int:
        return max(self.rows, default=0)

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
            row = rows[index[i][1]]
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

    def __init__(self, store: TicketStore, offset: int,
                 build: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
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

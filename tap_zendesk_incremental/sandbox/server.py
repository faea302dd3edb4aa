"""`ZendeskSandbox`: a local Zendesk Support account serving the incremental ticket exports."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from tap_zendesk_incremental.sandbox.api import Api
from tap_zendesk_incremental.sandbox.data import FIRST_GTS, TicketFactory, row_from_dict
from tap_zendesk_incremental.sandbox.directory import METRIC_BASE, Directory, People
from tap_zendesk_incremental.sandbox.events import build_event
from tap_zendesk_incremental.sandbox.faults import Faults
from tap_zendesk_incremental.sandbox.httpd import SandboxServer, loopback_host
from tap_zendesk_incremental.sandbox.store import DerivedView, TicketStore, TicketsView

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from types import TracebackType

    from tap_zendesk_incremental.sandbox.api import RequestRecord

MIN_AGE = 61  # new changes land at least this old, so the export shows them at once


class ZendeskSandbox:
    """A Zendesk account on 127.0.0.1 with deterministic tickets, switchable faults and limits.

    The port is bound on construction (ticket URLs contain it); `start()` begins serving and
    the context manager does both ends. What tests use:

    - `url`, `email`, `api_token`, `access_token`: the client's settings.
    - `tickets` (id -> latest ticket), `users`, `groups`, `organizations`, `metric_sets`:
      read-only mappings, decoded or built on access (a fresh dict each time).
    - `touch`, `delete`, `add_tickets`, `add_same_second`: changes, visible at once.
    - `faults` (switches, mutable while serving), `fail_next(kind, n)`: what goes wrong.
    - `requests` (a list of `RequestRecord`, clearable), `count_429`: what happened.
    - `same_second_gts`: the second holding the `same_second_tickets` block, if any.
    - `ticket_events()`: every event (a Create per ticket, a Change per touch or delete).
    """

    def __init__(
        self,
        tickets: int = 1000,
        seed: int = 0,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        email: str = "admin@example.com",
        api_token: str = "sandbox-api-token",  # noqa: S107 - a local test credential
        access_token: str = "sandbox-oauth-token",  # noqa: S107 - a local test credential
        same_second_tickets: int = 0,
        per_page_max: int = 1000,
        faults: Faults | None = None,
    ) -> None:
        self.host = loopback_host(host)
        self._server: SandboxServer | None = SandboxServer((self.host, port))
        self.port: int = self._server.server_address[1]
        self.url = f"http://{self.host}:{self.port}"
        self.email, self.api_token, self.access_token = email, api_token, access_token
        directory = Directory.for_tickets(tickets + same_second_tickets)
        self._people = People(directory, seed, self.url)
        self._factory = TicketFactory(seed, self.url, directory)
        self._store = TicketStore(self._factory.build_chunk)
        self._store.plan(self._factory.positions(tickets, same_second_tickets))
        self.same_second_gts: int | None = self._factory.same_second_gts
        self._api = Api(
            self._store,
            self._people,
            self.url,
            credentials=(email, api_token, access_token),
            per_page_max=per_page_max,
            faults=faults or Faults(),
        )
        self._server.api = self._api
        self._thread: threading.Thread | None = None

    # -- running ---------------------------------------------------------------------------

    def start(self) -> ZendeskSandbox:
        if self._thread is not None:
            return self
        if self._server is None:  # restarted after stop(): same port, same URLs
            self._server = SandboxServer((self.host, self.port), self._api)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"zendesk-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        self._server.close_connections()
        self._server = None

    def __enter__(self) -> ZendeskSandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- state -----------------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._api.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self._api.faults = value

    @property
    def tickets(self) -> Mapping[int, dict[str, Any]]:
        """id -> latest version of every ticket (deleted ones with status "deleted")."""
        return TicketsView(self._store)

    @property
    def users(self) -> Mapping[int, dict[str, Any]]:
        return self._people.users

    @property
    def groups(self) -> Mapping[int, dict[str, Any]]:
        return self._people.groups

    @property
    def organizations(self) -> Mapping[int, dict[str, Any]]:
        return self._people.organizations

    @property
    def metric_sets(self) -> Mapping[int, dict[str, Any]]:
        """metric set id -> metric set, one per ticket (`ticket_id` names it)."""
        return DerivedView(self._store, METRIC_BASE, self._people.metric_set)

    def ticket_events(self, *, comments: bool = True) -> list[dict[str, Any]]:
        """Every event the account has, oldest first, as the export serves it."""
        with self._store.lock:
            rows = list(self._store.events.rows)
        return [build_event(row, self._people, comments=comments) for row in rows]

    @property
    def requests(self) -> list[RequestRecord]:
        return self._api.records

    @property
    def count_429(self) -> int:
        return sum(1 for record in self._api.records if record.status == 429)

    def build_all(self) -> float:
        """Build every ticket now instead of on first read; returns the seconds it took.

        Tickets are generated a chunk at a time when first served or read: call this before
        timing a client so that the sandbox's own work is not in the measure.
        """
        started = time.perf_counter()
        self._store.build_all()
        return time.perf_counter() - started

    def fail_next(self, kind: str, n: int = 1) -> None:
        """The next `n` export requests get fault `kind`, before any random fault."""
        self._api.plan.script(kind, n)

    # -- changes ---------------------------------------------------------------------------

    def next_gts(self) -> int:
        """One second after the newest change, but old enough (61 s) to be exported at once."""
        newest = self._store.max_gts or FIRST_GTS - 1
        return min(newest + 1, int(time.time()) - MIN_AGE)

    def touch(self, ids: Iterable[int], gts: int | None = None) -> int:
        """Update these tickets (subject, status, updated_at) at one second; returns it."""
        return self._change(ids, gts, delete=False)

    def delete(self, ids: Iterable[int], gts: int | None = None) -> int:
        """Soft-delete: status "deleted", still exported unless exclude_deleted=true."""
        return self._change(ids, gts, delete=True)

    def _change(self, ids: Iterable[int], gts: int | None, *, delete: bool) -> int:
        with self._store.lock:
            second = self.next_gts() if gts is None else gts
            for ticket_id in ids:
                ticket = self._store.ticket(ticket_id)
                self._factory.update(ticket, second, delete=delete)
                self._store.put(row_from_dict(ticket))
        return second

    def add_tickets(self, n: int, gts: int | None = None) -> list[int]:
        """n new tickets, one per second from `gts` (default next_gts()); returns their ids.

        With the default, seconds stop at now-61 and the rest share that second.
        """
        with self._store.lock:
            first = self.next_gts() if gts is None else gts
            last = int(time.time()) - MIN_AGE if gts is None else first + n
            return self._add([min(first + k, last) for k in range(n)])

    def add_same_second(self, n: int, gts: int | None = None) -> int:
        """n new tickets all on one second (default next_gts()); returns that second."""
        with self._store.lock:
            second = self.next_gts() if gts is None else gts
            self._add([second] * n)
        return second

    def _add(self, seconds: list[int]) -> list[int]:
        first_id = self._store.max_id + 1
        for offset, second in enumerate(seconds):
            ticket_id = first_id + offset
            self._store.put(
                self._factory.make(ticket_id, second, self._factory.rng.random, fresh=True)
            )
        return list(range(first_id, first_id + len(seconds)))

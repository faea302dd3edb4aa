"""Synthetic Zendesk tickets: deterministic for a (count, seed) pair, cheap enough for 200k tickets.

A new ticket is written straight to JSON text from pre-encoded fragments: building a dict and
running `json.dumps` on it costs about five times more. Tickets are built per chunk of ids,
each chunk with its own random stream, so the sandbox can build them lazily in any order.
Changes to existing tickets (touch, delete) go through dicts, as they are few.
"""

# Synthetic data, not secrets: `random` is the right tool.
# ruff: noqa: S311

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING, Any, NamedTuple

from tap_zendesk_incremental.sandbox.directory import CUSTOM_STATUS_IDS, Directory, iso
from tap_zendesk_incremental.sandbox.pools import Pools, settings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

FIRST_GTS = 1_704_067_200  # 2024-01-01T00:00:00Z
MEAN_GAP_SECONDS = 30
BURST_SHARE = 0.01  # share of occupied seconds holding a burst (bulk update, migration)
DELETED_SHARE = 0.02
NULLED_SHARE = 0.01
DAY = 86_400

STATUSES = ("new", "open", "open", "pending", "hold", "solved", "solved", "closed", "closed")
TYPES = ('"question"', '"incident"', '"problem"', '"task"', "null")
OTHER_CHANNELS = ('"web"', '"web"', '"api"', '"mobile"', "4", "29")  # integers: old accounts
SETTINGS_POOL = 2048
CHUNK = 1024  # tickets are built (lazily) in chunks of this many consecutive ids
SUPPORT = '{"address":"support@example.zendesk.com","name":"Example Support"}'
# Fields a ticket may carry as null even where Zendesk documents a value: consumers must cope.
NULLABLE = (
    "url",
    "external_id",
    "type",
    "subject",
    "raw_subject",
    "description",
    "priority",
    "recipient",
    "custom_status_id",
    "requester_id",
    "submitter_id",
    "assignee_id",
    "organization_id",
    "group_id",
    "forum_topic_id",
    "problem_id",
    "ticket_form_id",
    "brand_id",
    "collaborator_ids",
    "follower_ids",
    "email_cc_ids",
    "sharing_agreement_ids",
    "followup_ids",
    "tags",
    "has_incidents",
    "is_public",
    "allow_channelback",
    "allow_attachments",
    "from_messaging_channel",
    "created_at",
    "updated_at",
    "due_at",
    "custom_fields",
    "fields",
    "satisfaction_rating",
    "via",
)
USER_FIELDS = ("requester_id", "submitter_id", "assignee_id")
USER_LIST_FIELDS = ("collaborator_ids", "follower_ids", "email_cc_ids")

encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Row(NamedTuple):
    """One ticket as served (UTF-8 JSON) plus what paging and sideloads need without decoding.

    `users` may hold None and repeats: sideloading filters them, which is cheaper than here.
    """

    body: bytes
    id: int
    gts: int
    deleted: bool
    users: tuple[int | None, ...]
    group_id: int | None
    org_id: int | None


def row_from_dict(ticket: dict[str, Any]) -> Row:
    users = [ticket.get(name) for name in USER_FIELDS]
    for name in USER_LIST_FIELDS:
        users.extend(ticket.get(name) or ())
    return Row(
        encode(ticket).encode(),
        ticket["id"],
        ticket["generated_timestamp"],
        ticket.get("status") == "deleted",
        tuple(users),
        ticket.get("group_id"),
        ticket.get("organization_id"),
    )


def _ids(values: list[int]) -> str:
    return "[" + ",".join(map(str, values)) + "]" if values else "[]"


def _opt(value: int | None) -> str:
    return "null" if value is None else str(value)


class TicketFactory:
    """Builds tickets; one instance per data set so its random stream stays reproducible."""

    def __init__(self, seed: int, base_url: str, directory: Directory) -> None:
        self.seed = seed
        self.rng = random.Random(seed)  # for changes made while running (touch, add, delete)
        self.base_json = json.dumps(base_url)[1:-1]
        self.dir = directory
        self.same_second_gts: int | None = None
        self.pools = Pools()
        # Fields that vary independently of the ticket's identity and history come from a
        # pool of ready JSON fragments: a fraction of the cost of building them each time.
        self.settings = [
            "," + encode(settings(self.rng, self.pools.tag_sets))[1:-1]
            for _ in range(SETTINGS_POOL)
        ]

    def generate(self, count: int, extra_same_second: int = 0) -> Iterator[Row]:
        """Tickets 1..count+extra in generated_timestamp order (ids increase with it)."""
        chunks: dict[int, list[tuple[int, int]]] = {}
        for position in self.positions(count, extra_same_second):
            chunks.setdefault(position[1] // CHUNK, []).append(position)
        for chunk, members in chunks.items():
            yield from self.build_chunk(chunk, members)

    def positions(self, count: int, extra_same_second: int = 0) -> list[tuple[int, int]]:
        """(generated_timestamp, id) of the initial tickets: ids increase with time."""
        stamps = self.timeline(count, FIRST_GTS, extra_same_second)
        return [(gts, ticket_id) for ticket_id, gts in enumerate(stamps, start=1)]

    def build_chunk(self, chunk: int, members: list[tuple[int, int]]) -> Iterator[Row]:
        """The initial version of the tickets of one chunk, given their (gts, id).

        Each chunk has a random stream of its own, so a ticket is the same whatever order
        chunks are built in: the sandbox builds them when first read.
        """
        rnd = random.Random(self.seed * 1_000_003 + chunk).random
        for gts, ticket_id in sorted(members, key=lambda position: position[1]):
            yield self.make(ticket_id, gts, rnd)

    def timeline(self, count: int, start: int, extra: int = 0) -> Iterator[int]:
        """Yield `count + extra` non-decreasing generated_timestamps starting at `start`.

        About 1% of occupied seconds are bursts of 20-300 tickets; the `extra` tickets all share
        one second of their own (`same_second_gts`), placed mid-stream: the same-second trap.
        """
        rng = random.Random(self.seed * 1_000_003 - 1)
        rnd, expovariate = rng.random, rng.expovariate
        gts, emitted, extra_at = start, 0, count // 2
        while emitted < count or extra:
            if extra and emitted >= extra_at:
                self.same_second_gts = gts
                yield from [gts] * extra
                extra = 0
            else:
                size = min(20 + int(rnd() * 281) if rnd() < BURST_SHARE else 1, count - emitted)
                yield from [gts] * size
                emitted += size
            gts += 1 + int(expovariate(1 / (MEAN_GAP_SECONDS - 1)))

    def make(
        self,
        ticket_id: int,
        gts: int,
        rnd: Callable[[], float],
        *,
        fresh: bool = False,
    ) -> Row:
        """One ticket whose latest change is at `gts`; `fresh` = just created, so no history."""
        pools, people = self.pools, self.dir
        updated, created = (gts, gts) if fresh else self._times(rnd, gts)
        if fresh:
            status = "new"
        else:
            status = "deleted" if rnd() < DELETED_SHARE else STATUSES[int(rnd() * 9)]
        kind = TYPES[int(rnd() * 5)]
        subject = pools.subject_json(rnd)
        requester = people.end_user(rnd)
        submitter = requester if rnd() < 0.8 else people.agent(rnd)
        assignee = None if status == "new" and rnd() < 0.5 else people.agent(rnd)
        group = people.group_of(assignee) if assignee else people.group(rnd)
        org = people.org_of(requester)
        collaborators = people.some_end_users(rnd, 3) if rnd() < 0.15 else []
        followers = [people.agent(rnd)] if rnd() < 0.1 else []
        incident_of = int(rnd() * ticket_id) + 1 if kind == '"incident"' and rnd() < 0.5 else None
        followup = [int(rnd() * ticket_id) + 1] if status == "closed" and rnd() < 0.05 else []
        external = f'"ext-{ticket_id:08d}"' if rnd() < 0.3 else "null"
        has_incidents = "true" if kind == '"problem"' and rnd() < 0.5 else "false"
        due = f'"{iso(created + int(rnd() * 14 * DAY))}"' if kind == '"task"' else "null"
        body = (
            f'{{"url":"{self.base_json}/api/v2/tickets/{ticket_id}.json","id":{ticket_id},'
            f'"external_id":{external},"via":{self._via(rnd, requester)},'
            f'"created_at":"{iso(created)}","updated_at":"{iso(updated)}",'
            f'"generated_timestamp":{gts},"type":{kind},"subject":{subject},'
            f'"raw_subject":{subject},"description":{pools.description_json(rnd)},'
            f'"status":"{status}","custom_status_id":{CUSTOM_STATUS_IDS[status][int(rnd() * 2)]},'
            f'"requester_id":{requester},"submitter_id":{submitter},'
            f'"assignee_id":{_opt(assignee)},"organization_id":{_opt(org)},"group_id":{group},'
            f'"collaborator_ids":{_ids(collaborators)},"follower_ids":{_ids(followers)},'
            f'"email_cc_ids":{_ids(collaborators[:1])},"problem_id":{_opt(incident_of)},'
            f'"has_incidents":{has_incidents},"due_at":{due},"followup_ids":{_ids(followup)}'
            f"{self.settings[int(rnd() * SETTINGS_POOL)]}{self._newer_fields(rnd, ticket_id)}}}"
        )
        if rnd() < NULLED_SHARE:
            return row_from_dict(self._null_some(rnd, json.loads(body)))
        return Row(
            body.encode(),
            ticket_id,
            gts,
            status == "deleted",
            (requester, submitter, assignee, *collaborators, *followers),
            group,
            org,
        )

    def update(self, ticket: dict[str, Any], gts: int, *, delete: bool = False) -> None:
        """Apply an agent's change at `gts` in place: new subject, status, updated_at."""
        ticket["generated_timestamp"] = gts
        ticket["updated_at"] = iso(gts)
        if delete:
            ticket["status"] = "deleted"
            return
        subject = f"{ticket.get('subject') or 'Ticket'} (update {gts})"[-200:]
        ticket["subject"] = ticket["raw_subject"] = subject
        if ticket.get("status") != "deleted":
            ticket["status"] = ("open", "pending", "solved")[int(self.rng.random() * 3)]
            ticket["custom_status_id"] = CUSTOM_STATUS_IDS[ticket["status"]][0]
        ticket["tags"] = [*(ticket.get("tags") or []), "sandbox_touched"][-6:]

    @staticmethod
    def _times(rnd: Callable[[], float], gts: int) -> tuple[int, int]:
        # updated_at trails generated_timestamp: equal for most tickets, hours or weeks behind
        # after system updates (they move generated_timestamp but create no ticket event).
        draw = rnd()
        if draw < 0.75:
            updated = gts
        elif draw < 0.9:
            updated = gts - 1 - int(rnd() * 3600)
        else:
            updated = gts - DAY - int(rnd() * 59 * DAY)
        created = updated if rnd() < 0.3 else updated - int(rnd() * 30 * DAY)
        return updated, created

    def _via(self, rnd: Callable[[], float], requester: int) -> str:
        draw = rnd()
        if draw < 0.35:
            sender = f'{{"address":"{self.dir.email_of(requester)}","name":"Customer"}}'
            return f'{{"channel":"email","source":{{"from":{sender},"to":{SUPPORT},"rel":null}}}}'
        channel = OTHER_CHANNELS[int(rnd() * 6)]
        if draw > 0.95:  # `source` is absent on some old tickets
            return f'{{"channel":{channel}}}'
        rel = '"follow_up"' if draw > 0.93 else "null"
        return f'{{"channel":{channel},"source":{{"from":{{}},"to":{{}},"rel":{rel}}}}}'

    @staticmethod
    def _newer_fields(rnd: Callable[[], float], ticket_id: int) -> str:
        # Fields Zendesk added later: absent from part of the stream, like on a real account.
        extra = ""
        if rnd() < 0.7:
            extra += f',"encoded_id":"{ticket_id * 7919 % 999_983:06X}-{ticket_id % 97:02d}"'
        if rnd() < 0.7:
            probability = repr(round(rnd(), 4)) if rnd() < 0.8 else "null"
            extra += f',"satisfaction_probability":{probability}'
        if ticket_id % 10 == 0:  # seen in real accounts' records; by id: the stream is unchanged
            form = "null" if ticket_id % 20 else str(360_000 + ticket_id % 7)
            extra += f',"deleted_ticket_form_id":{form}'
        return extra

    @staticmethod
    def _null_some(rnd: Callable[[], float], ticket: dict[str, Any]) -> dict[str, Any]:
        for _ in range(1 + int(rnd() * 4)):
            ticket[NULLABLE[int(rnd() * len(NULLABLE))]] = None
        return ticket


def generate_tickets(
    count: int,
    seed: int = 0,
    base_url: str = "https://example.zendesk.com",
    same_second_tickets: int = 0,
) -> list[dict[str, Any]]:
    """The tickets a sandbox with these arguments starts with, as dicts, without any server."""
    factory = TicketFactory(seed, base_url, Directory.for_tickets(count + same_second_tickets))
    return [json.loads(row.body) for row in factory.generate(count, same_second_tickets)]


# -- hostile data: legal JSON and odd types that real accounts and proxies send -------------

HOSTILE_EVERY = 5  # one object in this many (by id) gets one hostile value
BIG_NUMBER = "1e400"  # beyond the double range: legal JSON, no float can hold it
_BIG_MARK = "\x00big-number\x00"
LONE_SURROGATE = "\ud83d"  # half an emoji, as a JavaScript client cuts it
# (field, value) per kind of object; a value of _BIG_MARK is written as BIG_NUMBER.
HOSTILE_TICKET_VALUES: tuple[tuple[str, Any], ...] = (
    ("subject", f"Order 5 {LONE_SURROGATE}"),
    ("custom_fields", [{"id": 360001, "value": _BIG_MARK}]),
    ("priority", 3),
    ("custom_fields", {"360001": "gold"}),
    ("tags", "vip billing"),
    ("satisfaction_probability", "0.25"),
    ("has_incidents", "true"),
    ("collaborator_ids", [7, "seven"]),
    ("satisfaction_rating", "offered"),
    ("via", {"channel": True, "source": None}),
    ("brand_id", 3.0),
    ("satisfaction_probability", _BIG_MARK),
    ("zendesk_new_field", "a field Zendesk added after this tap was released"),
    ("custom_fields", [{"id": 360002, "value": {f"key {LONE_SURROGATE}": 1}}]),  # in a key
    ("via__channel", "a new field named like the flattened via.channel"),
    ("", "a new field without a name"),
    ("schema_mismatches", "a field of Zendesk's own with the tap's reserved name"),
    (
        "via",
        {
            "channel": "voice",
            "source": {"from": {"formatted_phone": "+1 555"}, "to": {}, "rel": None, "leg": "a"},
        },
    ),
)
HOSTILE_SIDELOAD_VALUES: tuple[tuple[str, Any], ...] = (
    ("name", f"Ana {LONE_SURROGATE}"),
    ("tags", "vip"),
    ("created_at", 1_704_067_200),
    ("id", "numeric-string"),  # replaced by the object's id as a string
    ("url", 42),
    ("shared_tickets", "false"),
    ("organization_id", "acme"),
    ("zendesk_new_field", {"added": True}),
)


def hostile_page(
    page: dict[str, Any], *, hostile: bool = True, description_bytes: int = 0
) -> bytes:
    """An export page with hostile values mixed into its tickets and sideloaded objects.

    Deterministic: an object whose id is a multiple of HOSTILE_EVERY gets the value its id
    picks. Lone surrogates go out as `\\ud83d` escapes, big numbers as their digits. With
    `description_bytes`, every ticket's description is that long (records of that size).
    """
    if description_bytes:
        for ticket in page["tickets"]:
            ticket["description"] = ("Long description. " * (description_bytes // 18 + 1))[
                :description_bytes
            ]
    for key, objects in page.items():
        if not hostile or not isinstance(objects, list):
            continue
        values = HOSTILE_TICKET_VALUES if key == "tickets" else HOSTILE_SIDELOAD_VALUES
        for obj in objects:
            object_id = obj.get("id")
            if isinstance(object_id, int) and object_id % HOSTILE_EVERY == 0:
                name, value = values[object_id // HOSTILE_EVERY % len(values)]
                obj[name] = str(object_id) if value == "numeric-string" else value
    text = json.dumps(page, separators=(",", ":"))  # ASCII: surrogates as escapes
    return text.replace(json.dumps(_BIG_MARK), BIG_NUMBER).encode()

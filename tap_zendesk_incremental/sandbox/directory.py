"""Users, groups, organizations and ticket metric sets: the objects tickets refer to.

They are built on demand from their id (so 50,000 users cost no memory until sideloaded) and
are the same on every access for a given seed.
"""

# Synthetic data, not secrets: `random` is the right tool.
# ruff: noqa: S311

from __future__ import annotations

import calendar
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

USER_BASE = 361_000_000_000
ORG_BASE = 362_000_000_000
GROUP_BASE = 363_000_000_000
METRIC_BASE = 364_000_000_000
BRAND_IDS = (360_000_300_001, 360_000_300_002)
FORM_IDS = (360_000_400_001, 360_000_400_002, 360_000_400_003)
# Two custom statuses per status category; "open" has one whose id is above 2**53.
CUSTOM_STATUS_IDS: dict[str, tuple[int, int]] = {
    "new": (360_000_200_001, 360_000_200_001),
    "open": (360_000_200_002, 2**53 + 1),
    "pending": (360_000_200_003, 360_000_200_013),
    "hold": (360_000_200_004, 360_000_200_004),
    "solved": (360_000_200_005, 360_000_200_015),
    "closed": (360_000_200_005, 360_000_200_005),
    "deleted": (360_000_200_005, 360_000_200_005),
}
FIRST_NAMES = ("Ana", "José", "Zoë", "Li", "Мария", "محمد", "Søren", "Aiko", "Chidi", "Priya")
LAST_NAMES = ("García", "Müller", "Nguyễn", "O'Brien", "Kowalski", "田中", "Smith", "Dubois")
TIME_ZONES = (
    ("Eastern Time (US & Canada)", "America/New_York", "en-US", 1),
    ("Berlin", "Europe/Berlin", "de", 8),
    ("Tokyo", "Asia/Tokyo", "ja", 67),
    ("UTC", "Etc/UTC", "en-US", 1),
)
EPOCH_2023 = 1_672_531_200


TWO_DIGITS = tuple(f"{i:02d}" for i in range(60))


@lru_cache(maxsize=8192)
def _day(day: int) -> str:
    return time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))


def iso(epoch: int) -> str:
    """Zendesk's timestamp format (`2024-01-01T00:00:00Z`), 3x faster than strftime per call."""
    day, rest = divmod(epoch, 86_400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return f"{_day(day)}{TWO_DIGITS[hour]}:{TWO_DIGITS[minute]}:{TWO_DIGITS[second]}Z"


def epoch_of(value: str | None, default: int) -> int:
    if not value:
        return default
    return calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))


@dataclass(frozen=True)
class Directory:
    """The id layout of an account: how many agents, end users, organizations and groups."""

    agents: int
    end_users: int
    orgs: int
    groups: int = 12

    @classmethod
    def for_tickets(cls, count: int) -> Directory:
        return cls(
            agents=max(10, min(200, count // 500 + 10)),
            end_users=max(50, min(50_000, count // 4)),
            orgs=max(5, min(5000, count // 40)),
        )

    def agent(self, rnd: Callable[[], float]) -> int:
        return USER_BASE + 1 + int(rnd() * self.agents)

    def end_user(self, rnd: Callable[[], float]) -> int:
        return USER_BASE + self.agents + 1 + int(rnd() * self.end_users)

    def some_end_users(self, rnd: Callable[[], float], most: int) -> list[int]:
        return sorted({self.end_user(rnd) for _ in range(1 + int(rnd() * most))})

    def group(self, rnd: Callable[[], float]) -> int:
        return GROUP_BASE + 1 + int(rnd() * self.groups)

    def is_agent(self, user_id: int) -> bool:
        return user_id - USER_BASE <= self.agents

    def org_of(self, user_id: int) -> int | None:
        index = user_id - USER_BASE - self.agents
        if index <= 0 or index % 6 == 0:  # agents and one end user in six have no organization
            return None
        return ORG_BASE + 1 + index % self.orgs

    def group_of(self, agent_id: int) -> int:
        return GROUP_BASE + 1 + agent_id % self.groups

    def email_of(self, user_id: int) -> str:
        if self.is_agent(user_id):
            return f"agent{user_id - USER_BASE}@example.com"
        return f"customer{user_id - USER_BASE}@mail{user_id % 17}.example.net"

    def user_ids(self) -> range:
        return range(USER_BASE + 1, USER_BASE + self.agents + self.end_users + 1)

    def org_ids(self) -> range:
        return range(ORG_BASE + 1, ORG_BASE + self.orgs + 1)

    def group_ids(self) -> range:
        return range(GROUP_BASE + 1, GROUP_BASE + self.groups + 1)


class LazyMap(Mapping[int, dict[str, Any]]):
    """A read-only id -> object mapping; objects are built when read (a fresh dict each time)."""

    def __init__(self, ids: range, build: Callable[[int], dict[str, Any]]) -> None:
        self._ids = ids
        self._build = build

    def __getitem__(self, key: int) -> dict[str, Any]:
        if key not in self:
            raise KeyError(key)
        return self._build(key)

    def __contains__(self, key: object) -> bool:
        return type(key) is int and key in self._ids  # not Mapping's: it would build the object

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


class People:
    """Builders for users, groups and organizations of one sandbox account."""

    def __init__(self, directory: Directory, seed: int, base_url: str) -> None:
        self.dir, self.seed, self.base = directory, seed, base_url
        self.users = LazyMap(directory.user_ids(), self.user)
        self.groups = LazyMap(directory.group_ids(), self.group)
        self.organizations = LazyMap(directory.org_ids(), self.organization)

    def _rng(self, object_id: int) -> random.Random:
        return random.Random(self.seed * 1_000_003 + object_id)

    def user(self, user_id: int) -> dict[str, Any]:
        rng = self._rng(user_id)
        agent = self.dir.is_agent(user_id)
        zone, iana, locale, locale_id = rng.choice(TIME_ZONES)
        created = EPOCH_2023 + rng.randrange(300 * 86_400)
        return {
            "id": user_id,
            "url": f"{self.base}/api/v2/users/{user_id}.json",
            "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            "email": self.dir.email_of(user_id),
            "created_at": iso(created),
            "updated_at": iso(created + rng.randrange(30 * 86_400)),
            "time_zone": zone,
            "iana_time_zone": iana,
            "phone": f"+1555{rng.randrange(10**7):07d}" if rng.random() < 0.3 else None,
            "shared_phone_number": None,
            "photo": None,
            "locale_id": locale_id,
            "locale": locale,
            "organization_id": self.dir.org_of(user_id),
            "role": "agent" if agent else "end-user",
            "verified": rng.random() < 0.9,
            "external_id": None,
            "tags": [],
            "alias": None,
            "active": rng.random() < 0.97,
            "shared": False,
            "shared_agent": False,
            "last_login_at": iso(created + 86_400) if agent else None,
            "two_factor_auth_enabled": agent and rng.random() < 0.5,
            "signature": None,
            "details": "",
            "notes": "",
            "role_type": None,
            "custom_role_id": None,
            "moderator": agent,
            "ticket_restriction": None if agent else "requested",
            "only_private_comments": False,
            "restricted_agent": not agent,
            "suspended": False,
            "default_group_id": self.dir.group_of(user_id) if agent else None,
            "report_csv": agent,
            "user_fields": {"plan": rng.choice(["free", "pro", None])},
        }

    def group(self, group_id: int) -> dict[str, Any]:
        index = group_id - GROUP_BASE
        created = EPOCH_2023 + index * 86_400
        return {
            "id": group_id,
            "url": f"{self.base}/api/v2/groups/{group_id}.json",
            "name": f"Tier {index} Support",
            "description": f"Queue number {index}",
            "default": index == 1,
            "deleted": index == 12,
            "is_public": True,
            "created_at": iso(created),
            "updated_at": iso(created + 3600),
        }

    def organization(self, org_id: int) -> dict[str, Any]:
        rng = self._rng(org_id)
        index = org_id - ORG_BASE
        created = EPOCH_2023 + rng.randrange(300 * 86_400)
        return {
            "id": org_id,
            "url": f"{self.base}/api/v2/organizations/{org_id}.json",
            "name": f"Customer {index} GmbH" if index % 3 else f"Client {index} Inc.",
            "shared_tickets": rng.random() < 0.2,
            "shared_comments": False,
            "external_id": f"crm-{index}" if rng.random() < 0.5 else None,
            "created_at": iso(created),
            "updated_at": iso(created + rng.randrange(86_400)),
            "domain_names": [f"customer{index}.example.net"],
            "details": "",
            "notes": "",
            "group_id": None,
            "tags": ["enterprise"] if index % 10 == 0 else [],
            "organization_fields": {"tier": rng.choice(["gold", "silver", None])},
            "deleted_at": None,  # seen in real accounts' records
        }

    def metric_set(self, ticket: dict[str, Any]) -> dict[str, Any]:
        """Metrics of one ticket, consistent with its timestamps and status."""
        ticket_id = ticket["id"]
        rng = self._rng(ticket_id)
        gts = ticket["generated_timestamp"]
        updated = epoch_of(ticket.get("updated_at"), gts)
        created = min(epoch_of(ticket.get("created_at"), updated), updated)
        solved = ticket.get("status") in {"solved", "closed"}
        assigned = created + min(rng.randrange(1, 7200), updated - created)
        reply = rng.randrange(1, 600)
        full = (updated - created) // 60
        return {
            "url": f"{self.base}/api/v2/ticket_metrics/{METRIC_BASE + ticket_id}.json",
            "id": METRIC_BASE + ticket_id,
            "ticket_id": ticket_id,
            "created_at": iso(created),
            "updated_at": iso(updated),
            "group_stations": rng.randrange(1, 4),
            "assignee_stations": rng.randrange(1, 3),
            "reopens": rng.randrange(0, 2),
            "replies": rng.randrange(0, 6),
            "assignee_updated_at": iso(assigned) if ticket.get("assignee_id") else None,
            "requester_updated_at": iso(created),
            "status_updated_at": iso(updated),
            "initially_assigned_at": iso(assigned),
            "assigned_at": iso(assigned),
            "solved_at": iso(updated) if solved else None,
            "latest_comment_added_at": iso(updated),
            "custom_status_updated_at": iso(updated),
            "reply_time_in_minutes": {"calendar": reply, "business": reply // 2},
            "reply_time_in_seconds": {"calendar": reply * 60},
            "first_resolution_time_in_minutes": {"calendar": full, "business": full // 3},
            "full_resolution_time_in_minutes": {"calendar": full, "business": full // 3},
            "agent_wait_time_in_minutes": {"calendar": full // 2, "business": full // 6},
            "requester_wait_time_in_minutes": {"calendar": full // 4, "business": None},
            "on_hold_time_in_minutes": {"calendar": 0, "business": 0},
        }

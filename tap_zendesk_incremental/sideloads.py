"""Users, groups, organizations and ticket metric sets, from the tickets export's own pages.

With `include=` Zendesk sends, beside each page's tickets, the current state of the objects
those tickets refer to. These streams are child streams of `tickets`: once per page, before the
page's first ticket (so before the STATE that moves past the page), they write that page's
objects. No extra request is made, and `tickets` keeps the only bookmark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from typing_extensions import override

from tap_zendesk_incremental import schemas
from tap_zendesk_incremental.children import PageChildStream
from tap_zendesk_incremental.conform import LEFT_OUT
from tap_zendesk_incremental.streams import TicketsStream

if TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

# Ids remembered per stream to write each object once per run; past this many, the oldest are
# forgotten (an object seen again after that is written again: a repeat, never a loss).
REMEMBERED_IDS = 200_000


class SideloadStream(PageChildStream):
    """Objects of one sideload, each written once per run in its newest version.

    `include` is also the key of the page's array.
    """

    parent_stream_type = TicketsStream

    def __init__(self, tap: Tap, tickets: TicketsStream) -> None:
        super().__init__(tap, tickets)
        self.written: dict[int, str] = {}  # id -> updated_at of the version written

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        for obj in self.objects(self.parent.page):
            # Conformed first: an id sent as "42" is the object 42, for is_newer too.
            if isinstance(obj, dict):
                self.keep_declared_fields(obj)
            if not isinstance(obj, dict) or type(obj.get("id")) is not int:
                # No key to write it under: named in the stream's WARNING, never silent.
                self.mismatches.note(f"a {self.name} object without an integer id", LEFT_OUT)
                continue
            if self.is_newer(obj):
                yield obj

    def objects(self, page: dict[str, Any]) -> list[Any]:
        """This stream's objects in one export page."""
        objects = page.get(self.include)
        return objects if isinstance(objects, list) else []

    def is_newer(self, obj: dict[str, Any]) -> bool:
        """True, and remembered, unless this version (or a newer one) was written this run."""
        object_id, updated_at = obj["id"], obj.get("updated_at") or ""
        seen = self.written.pop(object_id, None)
        if seen is not None and seen >= updated_at:
            self.written[object_id] = seen
            return False
        self.written[object_id] = updated_at
        if len(self.written) > REMEMBERED_IDS:
            del self.written[next(iter(self.written))]
        return True


class UsersStream(SideloadStream):
    """Requesters, submitters, assignees, collaborators and followers of the exported tickets."""

    name = "users"
    include = "users"
    schema = schemas.USER


class GroupsStream(SideloadStream):
    """Groups the exported tickets are assigned to."""

    name = "groups"
    include = "groups"
    schema = schemas.GROUP


class OrganizationsStream(SideloadStream):
    """Organizations of the exported tickets."""

    name = "organizations"
    include = "organizations"
    schema = schemas.ORGANIZATION


class TicketMetricSetsStream(SideloadStream):
    """Ticket metrics (reply and resolution times, reopens...) of the exported tickets."""

    name = "ticket_metric_sets"
    include = "metric_sets"
    schema = schemas.TICKET_METRIC_SET

    @override
    def objects(self, page: dict[str, Any]) -> list[dict[str, Any]]:
        # Zendesk documents `metric_set` inside each ticket; a top-level array also occurs.
        if metric_sets := super().objects(page):
            return metric_sets
        tickets = page["tickets"]
        return [t["metric_set"] for t in tickets if isinstance(t, dict) and t.get("metric_set")]

"""Streams written from their parent's export pages: no request of their own, no bookmark.

Once per page, before the page's first new item is written (so before the STATE that moves past
the page), the parent's `generate_child_contexts` hands the page over; the child writes what it
takes from it. The parent keeps the only bookmark, and runs (and moves it) even when only its
children are selected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from typing_extensions import override

from tap_zendesk_incremental.client import ZendeskStream

if TYPE_CHECKING:
    from singer_sdk import Tap

    from tap_zendesk_incremental.export import ExportStream


class PageChildStream(ZendeskStream):
    """Objects taken from the pages of the parent export stream."""

    selected_by_default = False  # opt in through the catalog (meltano `select`)
    primary_keys = ("id",)
    state_partitioning_keys: ClassVar[list[str]] = []  # no per-page state: the parent has it
    include: ClassVar[str]  # the `include=` value the parent sends when this stream is selected
    # Synced once per page: the SDK's opening line of each sync would be noise at INFO.
    debug_only_messages = (*ZendeskStream.debug_only_messages, "Beginning sync of")

    def __init__(self, tap: Tap, parent: ExportStream) -> None:
        super().__init__(tap)
        self.parent = parent
        self.schema_written = False

    @override
    def _write_schema_message(self) -> None:
        # The SDK syncs a child once per parent context (here: per page); one SCHEMA per run is
        # enough, and some targets flush their batches on every SCHEMA.
        if not self.schema_written:
            self.schema_written = True
            super()._write_schema_message()

    @override
    def get_new_paginator(self) -> None:
        return None

    @property
    @override
    def url_base(self) -> str:
        return self.parent.url_base

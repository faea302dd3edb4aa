"""A local, Zendesk-compatible HTTP server for the incremental ticket exports (stdlib only).

with ZendeskSandbox(tickets=2000, seed=1) as sb:
    ...  # point the tap at sb.url with sb.email / sb.api_token
"""

from __future__ import annotations

from tap_zendesk_incremental.sandbox.api import RequestRecord
from tap_zendesk_incremental.sandbox.data import generate_tickets
from tap_zendesk_incremental.sandbox.faults import (
    FAULT_KINDS,
    PERMANENT_KINDS,
    TRANSIENT_KINDS,
    Faults,
)
from tap_zendesk_incremental.sandbox.server import ZendeskSandbox

__all__ = [
    "FAULT_KINDS",
    "PERMANENT_KINDS",
    "TRANSIENT_KINDS",
    "Faults",
    "RequestRecord",
    "ZendeskSandbox",
    "generate_tickets",
]

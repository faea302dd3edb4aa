"""`python -m tap_zendesk_incremental` runs the tap."""

from tap_zendesk_incremental.tap import TapZendeskIncremental

TapZendeskIncremental.cli()

"""The SDK's standard tap tests (discovery, sync, schema and record agreement) on the sandbox."""

from __future__ import annotations

import pytest
from helpers import config_for
from singer_sdk.testing import get_tap_test_class

from tap_zendesk_incremental.sandbox import ZendeskSandbox
from tap_zendesk_incremental.tap import TapZendeskIncremental

# `metric_set` is declared but only sent by Zendesk with include=metric_sets.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Fields in transformed catalog but not in records.*metric_set:UserWarning"
)

# The SDK builds its test class from a config at import time, so the sandbox starts here.
SANDBOX = ZendeskSandbox(tickets=600, seed=13, port=0).start()


@pytest.fixture(scope="module", autouse=True)
def _stop_sandbox():
    yield
    SANDBOX.stop()


TestTapZendeskIncremental = get_tap_test_class(
    TapZendeskIncremental, config=config_for(SANDBOX, per_page=200)
)

"""Fixtures: fast retries, and running the tap in this process."""

from __future__ import annotations

import io
import signal
import sys
from typing import Any

import pytest
from helpers import Run, parse_lines

from tap_zendesk_incremental.client import ZendeskStream
from tap_zendesk_incremental.tap import TapZendeskIncremental


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff waits of milliseconds, for in-process runs that retry many times."""
    monkeypatch.setattr(ZendeskStream, "retry_base_seconds", 0.01)


@pytest.fixture
def sync(monkeypatch: pytest.MonkeyPatch):
    """Run the tap in this process; returns its messages. Restores the signal handlers."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def run(config: dict[str, Any], state: dict | None = None, catalog: dict | None = None) -> Run:
        out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        monkeypatch.setattr(sys, "stdout", out)
        tap = TapZendeskIncremental(config=config, state=state, catalog=catalog)
        try:
            tap.sync_all()
        finally:
            out.flush()
            monkeypatch.undo()
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        text = out.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]
        return Run(parse_lines(text), stdout=text)

    return run

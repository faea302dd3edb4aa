"""Crashes of an events export: `kill -9` and SIGTERM mid-export, then a run from the STATE.

The last STATE the stopped run wrote covers only the events written before it; the run from it
writes every other event, and none of those written before (see test_crashes.py for tickets).
"""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
from helpers import config_for, run_cli
from test_crashes import WAIT, LiveTap, last_state, served, slow
from test_ticket_events import EVENTS, catalog_args

from tap_zendesk_incremental.sandbox import Faults, ZendeskSandbox

if TYPE_CHECKING:
    from pathlib import Path

TICKETS = 3000  # one Create event each
MOMENTS = {  # signal, pages served before it, seconds after that
    "kill-9-mid-export": (signal.SIGKILL, 10, 0.02),
    "sigterm-writing-a-page": (signal.SIGTERM, 2, 0.1),
}


def events_before_last_state(messages: list[dict[str, Any]]) -> list[int]:
    last = max((i for i, m in enumerate(messages) if m["type"] == "STATE"), default=-1)
    return [
        m["record"]["id"]
        for m in messages[:last]
        if m["type"] == "RECORD" and m["stream"] == EVENTS
    ]


def stop_and_resume(name: str, folder: Path) -> dict[str, Any]:
    signum, pages, delay = MOMENTS[name]
    with ZendeskSandbox(tickets=TICKETS, seed=13, port=0) as sb:
        sb.faults = slow(0.3 if signum == signal.SIGTERM else 0.05)
        per_page = 1000 if signum == signal.SIGTERM else 100
        config = config_for(sb, per_page=per_page)
        args = catalog_args(folder, config, EVENTS)
        tap = LiveTap(config, folder, args=args)
        try:
            tap.wait_until(lambda: served(pages)(sb))
            time.sleep(delay)
            code = tap.stop(signum)
        finally:
            if tap.process.poll() is None:
                tap.process.kill()
                tap.process.wait(timeout=WAIT)
        stopped = tap.messages()
        sb.faults = Faults()
        resume = folder / "resume"
        resume.mkdir()
        resumed = run_cli(config, resume, state=last_state(stopped), args=args, timeout=60)
        expected = [e["id"] for e in sb.ticket_events(comments=False)]
        return {"code": code, "stopped": stopped, "resumed": resumed, "expected": expected}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=len(MOMENTS)) as pool:
        futures = {
            name: pool.submit(stop_and_resume, name, tmp_path_factory.mktemp(name))
            for name in MOMENTS
        }
        return {name: future.result(timeout=120) for name, future in futures.items()}


@pytest.mark.parametrize("name", MOMENTS)
def test_a_stopped_events_export_resumes_and_writes_each_event_once(name, outcomes):
    outcome = outcomes[name]
    signum = MOMENTS[name][0]
    assert outcome["code"] == (-signum if signum == signal.SIGKILL else 128 + signum)
    before = events_before_last_state(outcome["stopped"])
    assert 0 < len(set(before)) < len(outcome["expected"])  # the stop came mid-export
    resumed = outcome["resumed"]
    assert resumed.exit_code == 0, resumed.stderr[-2000:]
    after = [r["id"] for r in resumed.records(EVENTS)]
    assert not set(before) & set(after), "an event written before the STATE came again"
    assert sorted(before + after) == sorted(outcome["expected"])

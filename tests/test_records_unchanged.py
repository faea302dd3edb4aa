"""The records the tap writes, against an expectation computed from the sandbox's own data.

Speed work (decoders, writers, type conformance, fewer copies) must not change the output: for
a fixed sandbox every ticket's latest version comes exactly once, each record holds exactly the
sandbox ticket's value for every schema property (same JSON types: no int turned float, no
string reformatted, no field dropped or added), plus `end_time` equal to its
`generated_timestamp`. One second holds more tickets than a page, so the same-second handling
is part of what is compared.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tap_zendesk_incremental.sandbox import ZendeskSandbox
from tap_zendesk_incremental.schemas import TICKET

SEED = 20240101
TICKETS = 3000
CROWDED_SECOND = 1200  # tickets sharing one second: more than a page of 1000
# The installed command (as a user runs it), else the module.
INSTALLED = shutil.which("tap-zendesk-incremental", path=str(Path(sys.executable).parent))
TAP = [INSTALLED] if INSTALLED else [sys.executable, "-m", "tap_zendesk_incremental"]


def differences(actual: Any, expected: Any, path: str = "") -> list[str]:
    """Where two decoded JSON values differ, type included (True != 1, 1.0 != 1)."""
    if type(actual) is not type(expected):
        return [f"{path}: {actual!r} ({type(actual).__name__}) != {expected!r}"]
    if isinstance(expected, dict):
        found = []
        for key in sorted(actual.keys() | expected.keys()):
            if key not in expected:
                found.append(f"{path}.{key}: unexpected {actual[key]!r}")
            elif key not in actual:
                found.append(f"{path}.{key}: missing, expected {expected[key]!r}")
            else:
                found += differences(actual[key], expected[key], f"{path}.{key}")
        return found
    if isinstance(expected, list):
        if len(actual) != len(expected):
            return [f"{path}: {actual!r} != {expected!r}"]
        found = []
        for index, (left, right) in enumerate(zip(actual, expected, strict=True)):
            found += differences(left, right, f"{path}[{index}]")
        return found
    return [] if actual == expected else [f"{path}: {actual!r} != {expected!r}"]


def expected_records(sandbox: ZendeskSandbox) -> dict[int, dict[str, Any]]:
    """id -> the record each ticket should become, from the sandbox's latest versions."""
    properties = TICKET["properties"]
    expected = {}
    for ticket_id in sandbox.tickets:
        ticket = sandbox.tickets[ticket_id]
        record = {key: value for key, value in ticket.items() if key in properties}
        record["end_time"] = ticket["generated_timestamp"]
        expected[ticket_id] = record
    return expected


def run_tap(sandbox: ZendeskSandbox, tmp_path: Path) -> list[dict[str, Any]]:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "api_url": sandbox.url,
                "email": sandbox.email,
                "api_token": sandbox.api_token,
                "start_date": "2024-01-01",
                "max_requests_per_minute": 10_000,
            }
        )
    )
    done = subprocess.run(
        [*TAP, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # Split on "\n" only: str.splitlines() would also cut at U+2028 and friends inside strings.
    return [json.loads(line) for line in done.stdout.split("\n") if line.strip()]


def test_records_equal_the_sandbox_tickets(tmp_path: Path) -> None:
    with ZendeskSandbox(
        tickets=TICKETS, seed=SEED, port=0, same_second_tickets=CROWDED_SECOND
    ) as sandbox:
        messages = run_tap(sandbox, tmp_path)
        expected = expected_records(sandbox)

    schemas = [m for m in messages if m["type"] == "SCHEMA"]
    assert [m["stream"] for m in schemas] == ["tickets"]
    assert schemas[0]["schema"]["properties"].keys() == TICKET["properties"].keys()

    records = [m["record"] for m in messages if m["type"] == "RECORD"]
    assert all(m["stream"] == "tickets" for m in messages if m["type"] == "RECORD")
    ids = [record["id"] for record in records]
    assert len(ids) == len(set(ids)), "a ticket was written more than once"
    assert set(ids) == expected.keys()
    assert len(records) == TICKETS + CROWDED_SECOND

    found: list[str] = []
    for record in records:
        found += differences(record, expected[record["id"]], f"ticket {record['id']}")
    assert not found, f"{len(found)} differences, first ones:\n" + "\n".join(found[:20])

    end_times = [record["end_time"] for record in records]
    assert end_times == sorted(end_times), "records out of export order"

"""Running the tap as a user does, and reading what it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tap_zendesk_incremental.sandbox import ZendeskSandbox

TAP = [sys.executable, "-m", "tap_zendesk_incremental"]


@dataclass
class Run:
    """What one run of the tap wrote."""

    messages: list[dict[str, Any]]
    exit_code: int = 0
    stderr: str = ""
    stdout: str = field(default="", repr=False)

    def records(self, stream: str = "tickets") -> list[dict[str, Any]]:
        return [
            m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream
        ]

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def state(self) -> dict[str, Any]:
        return self.states[-1]

    @property
    def bookmark(self) -> int:
        return self.state["bookmarks"]["tickets"]["replication_key_value"]

    def versions(self) -> list[tuple[int, int]]:
        return [(r["id"], r["generated_timestamp"]) for r in self.records()]


def parse_lines(text: str) -> list[dict[str, Any]]:
    # Split on newlines only: subjects may hold U+2028, which str.splitlines() splits on.
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def config_for(sb: ZendeskSandbox, **overrides: Any) -> dict[str, Any]:
    config = {
        "api_url": sb.url,
        "email": sb.email,
        "api_token": sb.api_token,
        "start_date": "2024-01-01T00:00:00Z",
        "max_requests_per_minute": 100_000,
        "max_retry_seconds": 30,
        "request_timeout": 5,
    }
    config.update(overrides)
    return {key: value for key, value in config.items() if value is not None}


def run_cli(
    config: dict[str, Any],
    tmp_path: Path,
    *,
    state: dict | None = None,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Run:
    """Run the installed tap as a user would; returns its messages, exit code and stderr."""
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    command = [*TAP, "--config", str(config_file), *args]
    if state is not None:
        state_file = tmp_path / "state.json"
        state_file.write_text(json.dumps(state))
        command += ["--state", str(state_file)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    messages = parse_lines(done.stdout) if done.returncode == 0 else _parse_prefix(done.stdout)
    return Run(messages, done.returncode, done.stderr, done.stdout)


def _parse_prefix(text: str) -> list[dict[str, Any]]:
    """Every complete line of a run that stopped (the last line may be cut)."""
    complete = text[: text.rfind("\n") + 1]  # a line cut by the stop is dropped
    return parse_lines(complete)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| ERROR" in line or "CRITICAL" in line]

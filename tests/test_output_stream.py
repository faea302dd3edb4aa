"""The tap's own output: never a corrupted line, and its failures named in one ERROR line.

Each case runs the installed command against the sandbox with stdout sent where a real run
can send it: a target that stops reading (`| head -1`), a closed stdout (`>&-`), a full disk
(`/dev/full`), and a slow reader while SIGTERM arrives mid-record.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import config_for, error_lines

from tap_zendesk_incremental.sandbox import Faults, ZendeskSandbox

INSTALLED = shutil.which("tap-zendesk-incremental", path=str(Path(sys.executable).parent))
TAP = INSTALLED or f"{sys.executable} -m tap_zendesk_incremental"
OUTPUTS = {
    "broken-pipe": ("| head -1 > /dev/null", "broken pipe"),
    "closed-stdout": (">&-", "standard output is closed"),
    "full-disk": ("> /dev/full", "no space left"),
}


@pytest.fixture(scope="module")
def sb():
    with ZendeskSandbox(tickets=3000, seed=3) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def ended(sb, tmp_path_factory) -> dict[str, subprocess.CompletedProcess[str]]:
    config = tmp_path_factory.mktemp("output") / "config.json"
    config.write_text(json.dumps(config_for(sb)))
    runs = {}
    for name, (redirect, _) in OUTPUTS.items():
        if name == "full-disk" and not Path("/dev/full").exists():
            continue
        command = f"{TAP} --config {config} {redirect}; exit ${{PIPESTATUS[0]}}"
        runs[name] = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=120, check=False
        )
    return runs


@pytest.mark.parametrize("name", list(OUTPUTS))
def test_an_output_failure_ends_the_run_with_one_error_line_saying_which(ended, name):
    if name not in ended:
        pytest.skip("no /dev/full here")
    run = ended[name]
    errors = error_lines(run.stderr)
    assert len(errors) == 1, run.stderr[-2000:]
    assert OUTPUTS[name][1] in errors[0]


@pytest.mark.parametrize("name", list(OUTPUTS))
def test_an_output_failure_exits_non_zero_without_a_traceback(ended, name):
    if name not in ended:
        pytest.skip("no /dev/full here")
    run = ended[name]
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert "Exception ignored" not in run.stderr


def stop_mid_record(config: Path, after_bytes: int) -> tuple[bytes, int]:
    """SIGTERM once a slow reader (the pipe kept full) has read this much; all it got, and
    the exit code. Bytes, not seconds: a loaded machine starts the tap late."""
    process = subprocess.Popen(
        [*TAP.split(), "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    chunks: list[bytes] = []
    enough = threading.Event()

    def read_slowly() -> None:
        assert process.stdout is not None
        read = 0
        while chunk := os.read(process.stdout.fileno(), 4096):
            chunks.append(chunk)
            read += len(chunk)
            if read >= after_bytes:
                enough.set()
            time.sleep(0.002)
        enough.set()

    reader = threading.Thread(target=read_slowly)
    reader.start()
    enough.wait(timeout=60)
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=60)
    reader.join(timeout=60)
    process.stdout.close()
    return b"".join(chunks), code


def stop_large_export(tmp_path, after_bytes: int) -> tuple[bytes, int]:
    """SIGTERM to an export of 300 KB records once `after_bytes` of output came."""
    faults = Faults(large_descriptions=300_000)
    with ZendeskSandbox(tickets=400, seed=4, faults=faults) as big:
        config = tmp_path / "config.json"
        config.write_text(json.dumps(config_for(big, per_page=20)))
        return stop_mid_record(config, after_bytes)


@pytest.mark.parametrize("after_bytes", [500_000, 1_100_000, 1_700_000, 2_300_000])
def test_a_state_written_on_sigterm_starts_on_a_line_of_its_own(tmp_path, after_bytes):
    output, code = stop_large_export(tmp_path, after_bytes)
    lines = output.decode().split("\n")
    assert lines[-1] == "", "the output ends inside a line"
    messages = [json.loads(line) for line in lines[:-1]]  # every line is whole JSON
    assert code == 128 + signal.SIGTERM
    assert messages[-1]["type"] == "STATE"
    assert len([m for m in messages if m["type"] == "RECORD"]) < 400, "stopped too late"


@pytest.mark.parametrize("after_bytes", [500_000, 1_100_000, 1_700_000, 2_300_000])
def test_the_state_written_on_sigterm_covers_the_last_record_written(tmp_path, after_bytes):
    # Else the next run exports that record again: a duplicate.
    output, _ = stop_large_export(tmp_path, after_bytes)
    messages = [json.loads(line) for line in output.decode().split("\n") if line]
    last_record = next(m["record"] for m in reversed(messages) if m["type"] == "RECORD")
    bookmark = messages[-1]["value"]["bookmarks"]["tickets"]
    assert bookmark["replication_key_value"] == last_record["end_time"]
    assert last_record["id"] in bookmark["written_ids"]["ids"]

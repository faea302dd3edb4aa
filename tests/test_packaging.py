"""Installed the way `pipx install .` / `uv tool install .` do it: a wheel in a fresh venv."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import config_for

from tap_zendesk_incremental.sandbox import ZendeskSandbox

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_gives_a_working_command(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    command = venv / "bin" / "tap-zendesk-incremental"
    about = subprocess.run(
        [str(command), "--about", "--format=json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(about.stdout)["name"] == "tap-zendesk-incremental"
    with ZendeskSandbox(tickets=300, seed=2, port=0) as sb:
        config = tmp_path / "config.json"
        config.write_text(json.dumps(config_for(sb)))
        run = subprocess.run(
            [str(command), "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert run.returncode == 0, run.stderr[-3000:]
    records = [line for line in run.stdout.split("\n") if '"type":"RECORD"' in line]
    assert len(records) == 300

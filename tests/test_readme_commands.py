"""The README's command blocks, run as written: the plain-pipe recipe and the wheel install."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import config_for
from test_meltano_e2e import clean_env, project_files, tool_venv
from test_readme import README, ROOT, between

from tap_zendesk_incremental.sandbox import ZendeskSandbox

TAP_BIN = Path(sys.executable).parent  # this test run's own install of the tap
TICKETS = 300


def block(name: str) -> str:
    """The shell lines of the fenced block between the `name` markers, as written."""
    lines = between(README.read_text(encoding="utf-8"), name).splitlines()
    assert lines[0].startswith("```"), name
    assert lines[-1] == "```", name
    return "\n".join(lines[1:-1]) + "\n"


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def pipe_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """PATH holding `tap-zendesk-incremental` and `target-jsonl` (its own venv), as pipx gives."""
    target_bin = tool_venv("target-jsonl==0.1.4", "target-jsonl", tmp_path_factory)
    tools = tmp_path_factory.mktemp("tools")
    (tools / "tap-zendesk-incremental").symlink_to(TAP_BIN / "tap-zendesk-incremental")
    (tools / "target-jsonl").symlink_to(target_bin / "target-jsonl")
    return clean_env(PATH=f"{tools}{os.pathsep}{os.environ['PATH']}")


def bookmark(path: Path) -> int:
    return json.loads(path.read_text())["bookmarks"]["tickets"]["replication_key_value"]


@pytest.mark.slow
def test_the_pipe_recipe_survives_a_failing_first_run_then_runs_well(tmp_path, pipe_env):
    setup, recipe = block("pipe-setup"), block("pipe-run")
    assert bash(setup, tmp_path, pipe_env).returncode == 0
    state, output = tmp_path / "state.json", tmp_path / "output" / "tickets.jsonl"
    with ZendeskSandbox(tickets=TICKETS, seed=3, port=0) as sb:
        # First run: a wrong token. The recipe fails and leaves no state.json behind.
        (tmp_path / "config.json").write_text(json.dumps(config_for(sb, api_token="wrong")))
        first = bash(recipe, tmp_path, pipe_env)
        assert first.returncode != 0
        assert "Zendesk answered 401" in first.stderr
        assert not state.exists()

        # The token fixed, the same lines: everything, and a state for the next run.
        (tmp_path / "config.json").write_text(json.dumps(config_for(sb)))
        second = bash(recipe, tmp_path, pipe_env)
        assert second.returncode == 0, second.stderr[-3000:]
        assert len(output.read_text().splitlines()) == TICKETS
        assert bookmark(state) == max(t["generated_timestamp"] for t in sb.tickets.values())


@pytest.mark.slow
def test_a_failed_later_run_keeps_the_last_good_state_and_the_next_resumes(tmp_path, pipe_env):
    setup, recipe = block("pipe-setup"), block("pipe-run")
    assert bash(setup, tmp_path, pipe_env).returncode == 0
    state = tmp_path / "state.json"
    with ZendeskSandbox(tickets=TICKETS, seed=3, port=0) as sb:
        (tmp_path / "config.json").write_text(json.dumps(config_for(sb)))
        assert bash(recipe, tmp_path, pipe_env).returncode == 0
        good = state.read_text()
        good_bookmark = bookmark(state)

        sb.touch(sorted(sb.tickets)[:5])
        sb.fail_next("401")  # the next run stops on its first request
        failed = bash(recipe, tmp_path, pipe_env)
        assert failed.returncode != 0
        assert state.read_text() == good

        served = len(sb.requests)
        assert bash(recipe, tmp_path, pipe_env).returncode == 0
        resumed = [r for r in list(sb.requests)[served:] if "start_time" in r.params]
        assert int(resumed[0].params["start_time"]) == good_bookmark
        assert bookmark(state) > good_bookmark


@pytest.mark.slow
def test_the_readme_wheel_block_installs_a_working_command(tmp_path):
    clone = tmp_path / "clone"  # the project's files, as a fresh clone has them
    for name in project_files():
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    env = clean_env(HOME=str(tmp_path / "home"), PATH=f"{TAP_BIN}{os.pathsep}{os.environ['PATH']}")
    done = bash(block("wheel"), clone, env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "tap-zendesk-incremental" in done.stdout
    assert "structured-logging" in done.stdout

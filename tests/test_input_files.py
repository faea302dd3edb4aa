"""Files the tap cannot read, configs with several problems, a catalog that selects nothing."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from helpers import TAP, config_for, error_lines, run_cli

from tap_zendesk_incremental.sandbox import ZendeskSandbox

GOOD_CONFIG = {
    "api_url": "http://127.0.0.1:9",
    "email": "admin@example.com",
    "api_token": "s3cr3t-t0ken",
    "start_date": "2024-01-01",
}
BROKEN = {
    "missing": None,
    "empty": "",
    "blank": "  \n",
    "not JSON": '{"api_token": "s3cr3t-t0ken",',
    "an array": "[1, 2]",
    "a string": '"state"',
    "not UTF-8": b'{"a": "\xff"}',
}
PROBLEMS = {
    "missing": "no such file",
    "empty": "it is empty",
    "blank": "it is empty",
    "not JSON": "it is not JSON (Expecting",
    "an array": "it holds an array, not a JSON object",
    "a string": "it holds a string, not a JSON object",
    "not UTF-8": "it is not UTF-8 text",
}


def write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    return path


def run_tap(*args, cwd):
    return subprocess.run(
        [*TAP, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def assert_one_error_line(done, *expected):
    assert done.returncode == 1, done.stderr
    errors = error_lines(done.stderr)
    assert len(errors) == 1, done.stderr
    for text in expected:
        assert text in errors[0]
    assert "Traceback" not in done.stderr
    assert "s3cr3t" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("kind", BROKEN)
def test_an_unreadable_config_file_is_one_error_line_naming_it(tmp_path, kind):
    write(tmp_path / "config.json", BROKEN[kind])
    done = run_tap("--config", "config.json", cwd=tmp_path)
    assert_one_error_line(done, "Cannot read the config file 'config.json'", PROBLEMS[kind])


@pytest.mark.parametrize("kind", BROKEN)
def test_an_unreadable_state_file_is_one_error_line_naming_it(tmp_path, kind):
    write(tmp_path / "config.json", json.dumps(GOOD_CONFIG))
    write(tmp_path / "state.json", BROKEN[kind])
    done = run_tap("--config", "config.json", "--state", "state.json", cwd=tmp_path)
    assert_one_error_line(done, "Cannot read the state file 'state.json'", PROBLEMS[kind])


def test_an_unreadable_catalog_file_is_one_error_line_naming_it(tmp_path):
    write(tmp_path / "config.json", json.dumps(GOOD_CONFIG))
    write(tmp_path / "catalog.json", "not json")
    done = run_tap("--config", "config.json", "--catalog", "catalog.json", cwd=tmp_path)
    assert_one_error_line(done, "Cannot read the catalog file 'catalog.json'", "--discover")


def test_a_directory_given_as_config_is_one_error_line(tmp_path):
    (tmp_path / "conf").mkdir()
    done = run_tap("--config", "conf", cwd=tmp_path)
    assert_one_error_line(done, "Cannot read the config file 'conf': it is a directory")


def test_every_config_problem_comes_in_the_first_run(tmp_path):
    write(tmp_path / "config.json", json.dumps({"per_page": 0, "exclude_deleted": "yes"}))
    done = run_tap("--config", "config.json", cwd=tmp_path)
    assert done.returncode == 1
    errors = error_lines(done.stderr)
    named = ["`subdomain`", "no credentials", "`start_date`", "`per_page`", "exclude_deleted"]
    assert len(errors) == len(named), done.stderr
    for line, name in zip(errors, named, strict=True):
        assert "Invalid configuration: " in line
        assert name in line
    assert "WARNING" not in done.stderr
    assert "Traceback" not in done.stderr


def test_a_catalog_selecting_nothing_says_so_in_one_warning(tmp_path):
    with ZendeskSandbox(tickets=50, seed=1, port=0) as sb:
        config = config_for(sb)
        write(tmp_path / "config.json", json.dumps(config))
        catalog = json.loads(run_tap("--config", "config.json", "--discover", cwd=tmp_path).stdout)
        for stream in catalog["streams"]:
            for entry in stream["metadata"]:
                if entry["breadcrumb"] == []:
                    entry["metadata"]["selected"] = False
        write(tmp_path / "catalog.json", json.dumps(catalog))
        run = run_cli(config, tmp_path, args=("--catalog", str(tmp_path / "catalog.json")))
        served = len(sb.requests)
    assert run.exit_code == 0
    warnings = [line for line in run.stderr.splitlines() if "| WARNING" in line]
    assert len(warnings) == 1, run.stderr
    assert "Nothing to export: the catalog selects no stream" in warnings[0]
    assert served == 0


def test_a_catalog_selecting_tickets_gives_no_nothing_selected_warning(tmp_path):
    with ZendeskSandbox(tickets=50, seed=1, port=0) as sb:
        run = run_cli(config_for(sb), tmp_path)
    assert run.exit_code == 0
    assert "Nothing to export" not in run.stderr
    assert len(run.records()) == 50


def test_a_state_on_standard_input_is_still_read(tmp_path):
    with ZendeskSandbox(tickets=50, seed=1, port=0) as sb:
        write(tmp_path / "config.json", json.dumps(config_for(sb)))
        bookmark = max(t["generated_timestamp"] for t in sb.tickets.values())
        state = {
            "bookmarks": {
                "tickets": {"replication_key": "end_time", "replication_key_value": bookmark}
            }
        }
        done = subprocess.run(
            [*TAP, "--config", "config.json", "--state", "-"],
            cwd=tmp_path,
            input=json.dumps(state),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        starts = [r.params.get("start_time") for r in sb.requests]
    assert done.returncode == 0, done.stderr
    assert starts[0] == str(bookmark)


@pytest.mark.parametrize("flag", ["--config", "--state"])
def test_a_file_given_as_a_pipe_is_read_once(tmp_path, flag):
    # `--config <(vault read ...)` in a shell: a pipe gives its content to one read only.
    with ZendeskSandbox(tickets=50, seed=1, port=0) as sb:
        config, state = json.dumps(config_for(sb)), json.dumps({"bookmarks": {}})
        write(tmp_path / "config.json", config)
        piped = config if flag == "--config" else state
        other = ["--state", "state.json"] if flag == "--config" else ["--config", "config.json"]
        write(tmp_path / "state.json", state)
        done = subprocess.run(
            ["bash", "-c", f'"$@" {flag} <(printf %s "$PIPED")', "tap", *TAP, *other],
            cwd=tmp_path,
            env={**os.environ, "PIPED": piped},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        served = len(sb.requests)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert served >= 1

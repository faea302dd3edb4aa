"""A strict target reads the tap's output of hostile pages: meltanolabs-target-csv (a stock
singer-sdk target, which validates every record against its SCHEMA), with and without
`flattening_enabled`, mid-stream SCHEMA messages for new fields included. Slow: it builds
the target's virtualenv (cached outside CI, see test_meltano_e2e)."""

from __future__ import annotations

import csv
import json
import subprocess

import pytest
from helpers import config_for, run_cli
from test_hostile_data import FLATTENING, TICKETS, select_all
from test_meltano_e2e import tool_venv

from tap_zendesk_incremental.sandbox import Faults, ZendeskSandbox

pytestmark = pytest.mark.slow
TARGET_CSV = "meltanolabs-target-csv==0.5.0"


@pytest.fixture(scope="module")
def target_csv(tmp_path_factory: pytest.TempPathFactory):
    return tool_venv(TARGET_CSV, "target-csv", tmp_path_factory) / "target-csv"


@pytest.mark.parametrize("flattening", [False, True], ids=["nested", "flattened"])
def test_target_csv_loads_every_ticket_of_hostile_pages(target_csv, tmp_path, flattening):
    with ZendeskSandbox(tickets=TICKETS, seed=5, faults=Faults(hostile=True)) as sb:
        config = config_for(sb, per_page=100, **(FLATTENING if flattening else {}))
        (tmp_path / "catalog.json").write_text(json.dumps(select_all(config)))
        run = run_cli(config, tmp_path, args=("--catalog", str(tmp_path / "catalog.json")))
    assert run.exit_code == 0, run.stderr[-2000:]
    out = tmp_path / "csv"
    (tmp_path / "target.json").write_text(json.dumps({"output_path": str(out)}))
    loaded = subprocess.run(
        [str(target_csv), "--config", str(tmp_path / "target.json")],
        input=run.stdout,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    with (out / "tickets.csv").open(newline="", encoding="utf-8") as file:
        ids = {int(row["id"]) for row in csv.DictReader(file)}
    assert ids == set(range(1, TICKETS + 1))

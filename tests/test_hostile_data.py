"""Legal JSON and odd types from Zendesk never stop the export nor break the SCHEMA.

The sandbox's "hostile" switch mixes into one ticket (and one sideloaded object) in five a
lone UTF-16 surrogate, a number beyond the double range, or a value of a type the schema does
not declare. The installed command runs against it with every stream selected, once as it is
and once with `flattening_enabled`; every RECORD is validated against the SCHEMA the tap sent
for its stream, with a JSON Schema validator.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest
from helpers import Run, config_for, run_cli
from test_sideloads import catalog

from tap_zendesk_incremental.conform import SET_ASIDE
from tap_zendesk_incremental.sandbox import Faults, ZendeskSandbox
from tap_zendesk_incremental.sandbox.data import BIG_NUMBER, HOSTILE_EVERY, HOSTILE_TICKET_VALUES

if TYPE_CHECKING:
    from pathlib import Path

TICKETS = 400
STREAMS = ("tickets", "users", "groups", "organizations", "ticket_metric_sets")
FLATTENING = {"flattening_enabled": True, "flattening_max_depth": 10}


def select_all(config: dict[str, Any]) -> dict[str, Any]:
    return catalog(config, *STREAMS)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    with ZendeskSandbox(tickets=TICKETS, seed=5, faults=Faults(hostile=True)) as sb:

        def run(name: str) -> Run:
            tmp = tmp_path_factory.mktemp(name)
            config = config_for(sb, per_page=100, **(FLATTENING if name == "flat" else {}))
            (tmp / "catalog.json").write_text(json.dumps(select_all(config)))
            return run_cli(config, tmp, args=("--catalog", str(tmp / "catalog.json")))

        with ThreadPoolExecutor(2) as pool:
            return dict(zip(("nested", "flat"), pool.map(run, ("nested", "flat")), strict=True))


def invalid_records(run: Run) -> list[str]:
    schemas: dict[str, dict[str, Any]] = {}
    found = []
    for message in run.messages:
        if message["type"] == "SCHEMA":
            schemas[message["stream"]] = message["schema"]
        elif message["type"] == "RECORD":
            validator = jsonschema.Draft7Validator(
                schemas[message["stream"]], format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
            )
            found += [
                f"{message['stream']} {message['record'].get('id')}: {error.message[:120]}"
                for error in validator.iter_errors(message["record"])
            ]
    return found


def hostile(name: str, nth: int = 0) -> int:
    """The id of the first ticket that gets the nth hostile value of this field."""
    indexes = [i for i, (field, _) in enumerate(HOSTILE_TICKET_VALUES) if field == name]
    return indexes[nth] * HOSTILE_EVERY


def ticket(run: Run, ticket_id: int) -> dict[str, Any]:
    return next(record for record in run.records() if record["id"] == ticket_id)


@pytest.mark.parametrize("name", ["nested", "flat"])
def test_hostile_pages_export_every_ticket_and_exit_0(runs, name):
    run = runs[name]
    assert run.exit_code == 0, run.stderr[-2000:]
    assert {record["id"] for record in run.records()} == set(range(1, TICKETS + 1))


@pytest.mark.parametrize("name", ["nested", "flat"])
def test_every_record_of_every_stream_validates_against_the_schema_sent(runs, name):
    run = runs[name]
    assert {m["stream"] for m in run.messages if m["type"] == "RECORD"} == set(STREAMS)
    assert invalid_records(run) == []


@pytest.mark.parametrize("name", ["nested", "flat"])
def test_no_hostile_value_is_a_retry(runs, name):
    assert "Retrying" not in runs[name].stderr


def test_a_lone_surrogate_becomes_the_replacement_character(runs):
    subjects = [r["subject"] for r in runs["nested"].records() if "Order 5" in (r["subject"] or "")]
    assert subjects
    assert all(subject == "Order 5 \ufffd" for subject in subjects)


def test_a_number_beyond_the_double_range_keeps_its_digits(runs):
    values = [
        field["value"]
        for record in runs["nested"].records()
        for field in record["custom_fields"] or ()
        if field["id"] == 360001
    ]
    assert BIG_NUMBER in values


def test_values_that_convert_without_loss_are_converted(runs):
    run = runs["nested"]
    assert ticket(run, hostile("priority"))["priority"] == "3"
    assert ticket(run, hostile("tags"))["tags"] == ["vip billing"]
    assert ticket(run, hostile("satisfaction_probability"))["satisfaction_probability"] == 0.25
    assert ticket(run, hostile("has_incidents"))["has_incidents"] is True
    assert ticket(run, hostile("brand_id"))["brand_id"] == 3
    assert ticket(run, hostile("via"))["via"]["channel"] == "true"


def test_a_value_that_cannot_be_converted_is_kept_as_json_text_and_the_field_null(runs):
    record = ticket(runs["nested"], hostile("custom_fields", 1))
    assert record["custom_fields"] is None
    assert json.loads(record["schema_mismatches"]["custom_fields"]) == {"360001": "gold"}


def test_an_array_with_an_item_that_cannot_fit_is_kept_whole(runs):
    record = ticket(runs["nested"], hostile("collaborator_ids"))
    assert record["collaborator_ids"] is None
    assert json.loads(record["schema_mismatches"]["collaborator_ids"]) == [7, "seven"]


def test_a_sideload_id_sent_as_a_string_is_its_integer(runs):
    users = runs["nested"].records("users")
    ids = [user["id"] for user in users]
    assert all(type(user_id) is int for user_id in ids)
    assert len(ids) == len(set(ids))


def test_the_tickets_repairs_are_counted_in_one_warning(runs):
    lines = [
        line
        for line in runs["nested"].stderr.splitlines()
        if "values in tickets had a type the schema does not allow" in line
    ]
    assert len(lines) == 1
    assert "WARNING" in lines[0]
    assert "converted" in lines[0]
    assert "set aside" in lines[0]


def test_values_written_in_another_form_are_named_by_ticket_and_field(runs):
    warnings = [line for line in runs["nested"].stderr.splitlines() if "cannot carry" in line]
    assert warnings
    assert f"ticket {HOSTILE_EVERY} custom_fields[0].value" in "\n".join(warnings)


def undeclared_keys(run: Run) -> list[str]:
    """Record keys the stream's latest SCHEMA (at that point of the output) does not declare."""
    properties: dict[str, set[str]] = {}
    found = []
    for message in run.messages:
        if message["type"] == "SCHEMA":
            properties[message["stream"]] = set(message["schema"]["properties"])
        elif message["type"] == "RECORD":
            extra = message["record"].keys() - properties[message["stream"]]
            found += [f"{message['stream']} {message['record'].get('id')}: {k}" for k in extra]
    return found


@pytest.mark.parametrize("name", ["nested", "flat"])
def test_no_record_holds_a_key_its_schema_lacks(runs, name):
    assert undeclared_keys(runs[name]) == []


@pytest.mark.parametrize("name", ["nested", "flat"])
def test_a_new_field_is_announced_in_a_schema_before_the_first_record_carrying_it(runs, name):
    tickets = ticket_schemas(runs[name])
    assert "zendesk_new_field" not in tickets[0]
    assert "zendesk_new_field" in tickets[-1]


def ticket_schemas(run: Run) -> list[dict[str, Any]]:
    return [
        m["schema"]["properties"]
        for m in run.messages
        if m["type"] == "SCHEMA" and m["stream"] == "tickets"
    ]


def test_a_new_key_inside_a_declared_object_is_announced_too(runs):
    source = ticket_schemas(runs["nested"])[-1]["via"]["properties"]["source"]
    assert "leg" in source["properties"]
    sources = [(r["via"] or {}).get("source") or {} for r in runs["nested"].records()]
    assert any(source.get("leg") == "a" for source in sources)


def test_a_new_key_inside_a_declared_object_is_a_flattened_column(runs):
    assert "via__source__leg" in ticket_schemas(runs["flat"])[-1]
    assert any(r.get("via__source__leg") == "a" for r in runs["flat"].records())


def test_a_new_fields_values_reach_the_records(runs):
    first = hostile("zendesk_new_field")
    assert ticket(runs["nested"], first)["zendesk_new_field"].startswith("a field Zendesk")
    users = [u for u in runs["nested"].records("users") if "zendesk_new_field" in u]
    assert users
    assert all(u["zendesk_new_field"] in ({"added": True}, None) for u in users)


def test_a_new_field_is_named_in_one_warning(runs):
    lines = [line for line in runs["nested"].stderr.splitlines() if "zendesk_new_field" in line]
    tickets = [line for line in lines if "tickets fields" in line]
    assert len(tickets) == 1
    assert "WARNING" in tickets[0]


def test_hostile_sandbox_is_reproducible(tmp_path: Path):
    # The same switch twice: the same bytes, so a failure here can be replayed.
    with ZendeskSandbox(tickets=50, seed=5, faults=Faults(hostile=True)) as sb:
        config = config_for(sb)
        first = run_cli(config, tmp_path).records()
        second = run_cli(config, tmp_path).records()
    assert first == second


def set_aside(record: dict[str, Any]) -> dict[str, str]:
    """`schema_mismatches`: flattening writes an object without properties as JSON text."""
    kept = record[SET_ASIDE]
    return json.loads(kept) if isinstance(kept, str) else kept


def test_a_lone_surrogate_in_a_key_becomes_the_replacement_character(runs):
    # The value of a custom field is no object in the schema: it is kept as JSON text.
    record = ticket(runs["nested"], hostile("custom_fields", 2))
    assert json.loads(set_aside(record)["custom_fields[0].value"]) == {"key \ufffd": 1}


@pytest.mark.parametrize("field", ["", "via__channel"])
def test_a_new_field_no_column_can_be_named_after_is_set_aside(runs, field):
    # Empty: no column name; `via__channel`: the flattened via.channel (kept when not flat).
    for name, run in runs.items():
        record = ticket(run, hostile(field))
        if field == "" or name == "flat":
            assert not str(record.get(field)).startswith("a new field")  # flat: via.channel's
            assert json.loads(set_aside(record)[field]).startswith("a new field")
        else:
            assert record[field].startswith("a new field")


def test_a_zendesk_field_named_schema_mismatches_is_set_aside_itself(runs):
    for run in runs.values():
        record = ticket(run, hostile(SET_ASIDE))
        assert json.loads(set_aside(record)[SET_ASIDE]).startswith("a field of Zendesk's own")

"""Fitting a record to its stream's schema: what is converted, what is set aside (no HTTP)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tap_zendesk_incremental.conform import SET_ASIDE, Conformer, Mismatches
from tap_zendesk_incremental.schemas import ORGANIZATION, TICKET, USER


def repaired(schema: dict, record: dict) -> tuple[dict, Mismatches]:
    found = Mismatches()
    conformer = Conformer(schema)
    if not conformer.fits(record):
        conformer.repair(record, f"ticket {record.get('id')}", found)
    return record, found


CONVERTED = [
    ("priority", 3, "3"),
    ("subject", 1.5, "1.5"),
    ("is_public", "false", False),
    ("brand_id", "42", 42),
    ("brand_id", 7.0, 7),
    ("satisfaction_probability", "0.5", 0.5),
    ("tags", "vip", ["vip"]),
    ("tags", ["a", 3], ["a", "3"]),
    ("collaborator_ids", 5, [5]),
    ("custom_fields", {"id": 1, "value": "x"}, [{"id": 1, "value": "x"}]),
    ("via", {"channel": False}, {"channel": "false"}),
]
SET_ASIDE_VALUES = [
    ("brand_id", "acme"),
    ("brand_id", 1.5),
    ("is_public", "yes"),
    ("satisfaction_probability", "1e400"),
    ("custom_fields", {"360001": "gold"}),
    ("collaborator_ids", [1, "x"]),
    ("satisfaction_rating", "offered"),
    ("tags", {"a": 1}),
    ("created_at", ["2024-01-01"]),
    ("created_at", 1704067200),
]


@pytest.mark.parametrize(("field", "value", "expected"), CONVERTED)
def test_a_value_that_converts_without_loss_is_converted(field, value, expected):
    record, found = repaired(TICKET, {"id": 1, field: value})
    assert record[field] == expected
    assert SET_ASIDE not in record
    assert found.counts["converted"] >= 1


@pytest.mark.parametrize(("field", "value"), SET_ASIDE_VALUES)
def test_a_value_that_cannot_convert_is_kept_as_json_text_and_the_field_is_null(field, value):
    record, found = repaired(TICKET, {"id": 1, field: value})
    assert record[field] is None
    assert json.loads(record[SET_ASIDE][field]) == value
    assert found.counts["set aside"] == 1


@pytest.mark.parametrize(("field", "value"), [(f, v) for f, v, _ in CONVERTED] + SET_ASIDE_VALUES)
def test_every_repaired_record_validates_against_the_schema(field, value):
    record, _found = repaired(TICKET, {"id": 1, "end_time": 5, field: value})
    jsonschema.Draft7Validator(TICKET).validate(record)


def test_a_nested_value_is_set_aside_under_its_path():
    record, _ = repaired(TICKET, {"id": 1, "custom_fields": [{"id": "abc", "value": 1}]})
    assert record["custom_fields"] == [{"id": None, "value": 1}]
    assert record[SET_ASIDE] == {"custom_fields[0].id": '"abc"'}


def test_a_record_that_fits_is_left_as_it_is():
    record = {"id": 1, "subject": "Hi", "tags": ["a"], "custom_fields": [{"id": 2, "value": [1]}]}
    before = json.dumps(record)
    assert Conformer(TICKET).fits(record)
    assert json.dumps(repaired(TICKET, record)[0]) == before


def test_a_boolean_is_not_an_integer():
    record, _ = repaired(TICKET, {"id": 1, "brand_id": True})
    assert record["brand_id"] is None
    assert record[SET_ASIDE] == {"brand_id": "true"}


@pytest.mark.parametrize(
    ("schema", "field"),
    [(USER, "iana_time_zone"), (ORGANIZATION, "deleted_at"), (TICKET, "deleted_ticket_form_id")],
)
def test_fields_seen_in_real_accounts_are_declared(schema, field):
    assert field in schema["properties"]


@pytest.mark.parametrize("value", ["from zendesk", {"a": 1}, [1]])
def test_a_schema_mismatches_field_from_zendesk_that_does_not_fit_is_set_aside_itself(value):
    record, found = repaired(TICKET, {"id": 1, "end_time": 5, SET_ASIDE: value})
    assert json.loads(record[SET_ASIDE][SET_ASIDE]) == value
    assert found.counts["set aside"] == 1
    jsonschema.Draft7Validator(TICKET).validate(record)


def test_a_schema_mismatches_field_from_zendesk_is_kept_whole_beside_the_tap_s_entries():
    # Merged, Zendesk's "brand_id" would be overwritten, and its keys mistaken for the tap's.
    sent = {"x": "y", "brand_id": "zendesk's"}
    record, _ = repaired(TICKET, {"id": 1, "brand_id": "acme", SET_ASIDE: dict(sent)})
    assert record[SET_ASIDE] == {SET_ASIDE: json.dumps(sent), "brand_id": '"acme"'}


def test_a_schema_mismatches_field_from_zendesk_that_fits_is_kept_as_it_is_alone():
    record, _ = repaired(TICKET, {"id": 1, SET_ASIDE: {"x": "y"}})
    assert record[SET_ASIDE] == {"x": "y"}

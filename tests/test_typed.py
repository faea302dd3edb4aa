"""The fast path's page decoder: it accepts exactly the pages whose tickets fit the schema."""

from __future__ import annotations

import msgspec
import pytest

from tap_zendesk_incremental.sandbox import generate_tickets
from tap_zendesk_incremental.schemas import TICKET
from tap_zendesk_incremental.typed import PageDecoder

TICKETS = generate_tickets(30, seed=2)
DECODER = PageDecoder(TICKET, added=("end_time",))


def page(*tickets: dict, **keys: object) -> bytes:
    return msgspec.json.encode({"tickets": list(tickets), "end_of_stream": True, **keys})


def with_value(path: str, value: object) -> dict:
    ticket = msgspec.json.decode(msgspec.json.encode(TICKETS[3]))
    *parents, last = path.split(".")
    node = ticket
    for key in parents:
        if isinstance(node, list):
            node = node[int(key)]
        else:
            node[key] = node.get(key) or {}
            node = node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return ticket


def test_a_page_that_fits_decodes_to_the_same_json():
    body = page(*TICKETS, end_time=5, next_page="https://x", count=30)
    assert DECODER.decode(body) == msgspec.json.decode(body)


def test_a_cursor_page_that_fits_decodes():
    body = page(TICKETS[0], after_cursor="abc", after_url="u", before_cursor=None, before_url=None)
    assert DECODER.decode(body) == msgspec.json.decode(body)


def test_integers_stay_integers_in_number_fields():
    decoded = DECODER.decode(page(with_value("satisfaction_probability", 1)))
    assert type(decoded["tickets"][0]["satisfaction_probability"]) is int


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("priority", 3),
        ("brand_id", "7"),
        ("brand_id", True),
        ("tags", "vip"),
        ("custom_fields", {"1": 2}),
        ("custom_fields.0.id", "x"),
        ("via.channel", False),
        ("satisfaction_rating", "offered"),
        ("id", None),
    ],
)
def test_a_value_of_another_type_sends_the_page_to_the_record_by_record_path(path, value):
    assert DECODER.decode(page(TICKETS[0], with_value(path, value))) is None


@pytest.mark.parametrize(
    "path", ["new_field", "via.source.new_key", "satisfaction_rating.new_key", "custom_fields.0.x"]
)
def test_a_key_the_schema_lacks_at_any_depth_sends_the_page_to_that_path(path):
    # The values decoder would drop it silently: the record-by-record path keeps it.
    assert DECODER.decode(page(with_value(path, 1))) is None


def test_a_ticket_without_its_required_id_sends_the_page_to_that_path():
    ticket = dict(TICKETS[0])
    del ticket["id"]
    assert DECODER.decode(page(ticket)) is None


def test_a_required_field_the_tap_adds_itself_is_not_expected_from_zendesk():
    assert "end_time" in TICKET["required"]
    assert DECODER.decode(page(TICKETS[0])) is not None


def test_an_open_object_takes_any_keys():
    assert DECODER.decode(page(with_value("via.source.from.formatted_phone", "+1 555"))) is not None


def test_an_unknown_page_key_sends_the_page_to_that_path():
    assert DECODER.decode(page(TICKETS[0], sequence_id=4)) is None


def test_sideloads_beside_the_tickets_are_decoded_as_they_are():
    body = page(TICKETS[0], users=[{"id": "odd", "extra": 1}])
    assert DECODER.decode(body)["users"] == [{"id": "odd", "extra": 1}]


@pytest.mark.parametrize(
    "body", [b'{"tickets": [{"id": 1, "subject": "\\ud83d"}]}', b"<html>", b""]
)
def test_json_msgspec_refuses_and_non_json_send_the_page_to_that_path(body):
    assert DECODER.decode(body) is None

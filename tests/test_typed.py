"""The fast path's page decoder: it accepts exactly the pages whose tickets fit the schema."""

from __future__ import annotations

import msgspec
import pytest

from tap_zendesk_incremental.sandbox import generate_tickets
from tap_zendesk_incremental.schemas import TICKET, TICKET_EVENT
from tap_zendesk_incremental.typed import PageDecoder, Record

TICKETS = generate_tickets(30, seed=2)
DECODER = PageDecoder(TICKET, added=("end_time",))
RECORDS = PageDecoder(TICKET, added=("end_time",), records=True)  # tickets kept as Structs


@pytest.fixture(params=["dicts", "records"])
def decoder(request: pytest.FixtureRequest) -> PageDecoder:
    """Both forms of the fast path refuse the same pages."""
    return DECODER if request.param == "dicts" else RECORDS


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
def test_a_value_of_another_type_sends_the_page_to_the_record_by_record_path(path, value, decoder):
    assert decoder.decode(page(TICKETS[0], with_value(path, value))) is None


@pytest.mark.parametrize(
    "path", ["new_field", "via.source.new_key", "satisfaction_rating.new_key", "custom_fields.0.x"]
)
def test_a_key_the_schema_lacks_at_any_depth_sends_the_page_to_that_path(path, decoder):
    # The values decoder would drop it silently: the record-by-record path keeps it.
    assert decoder.decode(page(with_value(path, 1))) is None


def test_a_ticket_without_its_required_id_sends_the_page_to_that_path(decoder):
    ticket = dict(TICKETS[0])
    del ticket["id"]
    assert decoder.decode(page(ticket)) is None


def test_a_required_field_the_tap_adds_itself_is_not_expected_from_zendesk():
    assert "end_time" in TICKET["required"]
    assert DECODER.decode(page(TICKETS[0])) is not None


def test_an_open_object_takes_any_keys():
    assert DECODER.decode(page(with_value("via.source.from.formatted_phone", "+1 555"))) is not None


def test_an_unknown_page_key_sends_the_page_to_that_path(decoder):
    assert decoder.decode(page(TICKETS[0], sequence_id=4)) is None


def test_sideloads_beside_the_tickets_are_decoded_as_they_are():
    body = page(TICKETS[0], users=[{"id": "odd", "extra": 1}])
    assert DECODER.decode(body)["users"] == [{"id": "odd", "extra": 1}]


@pytest.mark.parametrize(
    "body", [b'{"tickets": [{"id": 1, "subject": "\\ud83d"}]}', b"<html>", b""]
)
def test_json_msgspec_refuses_and_non_json_send_the_page_to_that_path(body, decoder):
    assert decoder.decode(body) is None


def as_json(value: object) -> object:
    """What the SDK's msgspec writer makes of a value, read back."""
    return msgspec.json.decode(msgspec.json.encode(value))


def test_records_are_written_as_the_json_they_were_decoded_from():
    body = page(*TICKETS, with_value("via.source.rel", None), end_time=5, count=31)
    assert as_json(RECORDS.decode(body)) == msgspec.json.decode(body)


def test_a_key_absent_from_a_ticket_stays_absent_in_its_record():
    ticket = {"id": 5, "generated_timestamp": 9}
    record = RECORDS.decode(page(ticket))["tickets"][0]
    assert as_json(record) == ticket
    assert "subject" not in record
    assert list(record) == ["id", "generated_timestamp"]


def test_a_record_reads_and_writes_like_a_dict():
    body = page({"id": 5, "generated_timestamp": 9, "subject": None})
    record = RECORDS.decode(body)["tickets"][0]
    assert isinstance(record, Record)
    assert record["id"] == 5
    assert record.get("subject", "default") is None
    assert record.get("status", "absent") == "absent"
    record["end_time"] = 12
    assert record["end_time"] == 12
    assert "end_time" in record
    with pytest.raises(KeyError):
        record["status"]  # absent, as in a dict
    with pytest.raises(KeyError):
        record["not_a_field"]


def test_sideloads_beside_records_are_plain_objects():
    body = page(TICKETS[0], users=[{"id": "odd", "extra": 1}])
    assert RECORDS.decode(body)["users"] == [{"id": "odd", "extra": 1}]


def test_a_schema_field_named_like_a_dict_method_gets_plain_dicts():
    properties = {**TICKET["properties"], "items": {"type": ["null", "string"]}}
    schema = {**TICKET, "properties": properties}
    decoded = PageDecoder(schema, added=("end_time",), records=True).decode(page(TICKETS[0]))
    assert type(decoded["tickets"][0]) is dict


@pytest.mark.parametrize("value", ["from zendesk", {"a": 1}])
def test_a_schema_mismatches_value_of_another_form_sends_the_page_to_that_path(decoder, value):
    assert decoder.decode(page(with_value("schema_mismatches", value))) is None


ODD_KEYS = ["new-field", "1a", "__meta", "key \ufffd", "with space", ""]


@pytest.mark.parametrize("key", ODD_KEYS)
def test_a_key_that_is_no_python_name_decodes_at_the_top(key):
    # A field Zendesk added, announced by the tap: the schema now declares it.
    properties = {**TICKET["properties"], key: {"type": ["null", "string"]}}
    decoder = PageDecoder({**TICKET, "properties": properties}, ("end_time",), records=True)
    body = page(with_value(key, "x") if key else {**TICKETS[3], "": "x"})
    decoded = decoder.decode(body)
    assert as_json(decoded) == msgspec.json.decode(body)
    assert type(decoded["tickets"][0]) is dict  # a Record reads its keys as attributes


@pytest.mark.parametrize("key", ODD_KEYS)
def test_a_key_that_is_no_python_name_decodes_inside_an_object(key):
    via = TICKET["properties"]["via"]
    nested = {**via, "properties": {**via["properties"], key: {"type": ["null", "string"]}}}
    schema = {**TICKET, "properties": {**TICKET["properties"], "via": nested}}
    ticket = {"id": 5, "generated_timestamp": 9, "via": {"channel": "web", key: "x"}}
    decoded = PageDecoder(schema, ("end_time",), records=True).decode(page(ticket))
    assert as_json(decoded["tickets"][0]) == ticket
    assert as_json(PageDecoder(schema, ("end_time",), records=True).decode(page(TICKETS[0]))) == (
        msgspec.json.decode(page(TICKETS[0]))
    )


def test_an_open_child_event_keeps_every_key_and_its_page_stays_plain_dicts():
    events = PageDecoder(TICKET_EVENT, added=("end_time",), records=True, items="ticket_events")
    change = {"id": 2, "event_type": "Change", "status": "solved", "previous_value": "open"}
    event = {"id": 1, "ticket_id": 9, "timestamp": 1_704_067_200, "child_events": [change]}
    body = msgspec.json.encode({"ticket_events": [event], "end_of_stream": True})
    decoded = events.decode(body)
    assert not events.records  # a Struct would drop `status`
    assert decoded is not None
    assert decoded["ticket_events"][0]["child_events"] == [change]
    # A key the event itself does not declare still sends the page to the careful path.
    unknown = msgspec.json.encode({"ticket_events": [{**event, "new": 1}], "end_of_stream": True})
    assert events.decode(unknown) is None

"""What each response means: status and body -> page, 'caught up', retry or a clear error."""

from __future__ import annotations

import json

import pytest
import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_zendesk_incremental import responses

URL = "https://acme.zendesk.com/api/v2/incremental/tickets?start_time=1700000000"


def response(status: int, body: object = b"", content_type: str = "application/json", **headers):
    made = requests.Response()
    made.status_code = status
    made.reason = {
        200: "OK",
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        422: "Unprocessable Entity",
        429: "Too Many Requests",
        502: "Bad Gateway",
        503: "Service Unavailable",
    }.get(status, "Status")
    made._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    made.headers.update({"Content-Type": content_type, **headers})
    made.url = URL
    return made


PAGE = {"tickets": [{"id": 1, "generated_timestamp": 5}], "end_time": 5, "end_of_stream": True}
HTML = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


def test_a_json_page_is_decoded():
    assert responses.decode_page(response(200, PAGE)) == PAGE


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (HTML, "text/html", "HTML page"),
        (b'{"tickets": [{"id": 1', "application/json", "cut short"),
        (b"", "application/json", "empty body"),
        (b"  \n", "application/json", "empty body"),
        (b'{"users": []}', "application/json", "not an export page"),
        (b'{"tickets": {}}', "application/json", "not an export page"),
        (b'{"tickets": [NaN]}', "application/json", "not JSON"),
        (b'{"tickets": [} ]', "application/json", "not JSON"),
    ],
)
def test_a_200_that_is_not_an_export_page_is_retried(body, content_type, words):
    with pytest.raises(RetriableAPIError, match=words):
        responses.decode_page(response(200, body, content_type))


def page_of(ticket_json: bytes) -> requests.Response:
    return response(200, b'{"tickets": [' + ticket_json + b'], "end_of_stream": true}')


def test_a_lone_surrogate_escape_decodes_as_the_replacement_character():
    page = responses.decode_page(page_of(rb'{"id": 9, "subject": "Cut \ud83d"}'))
    assert page["tickets"][0]["subject"] == "Cut \ufffd"


def test_a_whole_surrogate_pair_is_kept_as_its_character():
    page = responses.decode_page(page_of(rb'{"id": 9, "subject": "\ud83d\ude00 \ud83d"}'))
    assert page["tickets"][0]["subject"] == "\U0001f600 \ufffd"


def test_a_number_beyond_the_double_range_keeps_its_digits_as_a_string():
    body = rb'{"id": 9, "custom_fields": [{"id": 1, "value": -2.5e400}]}'
    page = responses.decode_page(page_of(body))
    value = page["tickets"][0]["custom_fields"][0]["value"]
    assert value == "-2.5e400"
    assert type(value) is str


def test_values_written_in_another_form_are_named_in_one_warning(caplog):
    body = rb'{"id": 9, "subject": "\udc00", "brand_id": 1e999}, {"id": 10, "subject": "ok"}'
    with caplog.at_level("WARNING"):
        responses.decode_page(page_of(body))
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "ticket 9 subject" in warnings[0]
    assert "ticket 9 brand_id" in warnings[0]
    assert "ticket 10" not in warnings[0]


def test_a_sideloaded_object_is_named_by_its_kind_and_id(caplog):
    body = b'{"tickets": [], "users": [{"id": 4, "name": "\\ud800"}], "end_of_stream": true}'
    with caplog.at_level("WARNING"):
        page = responses.decode_page(response(200, body))
    assert page["users"][0]["name"] == "\ufffd"
    assert "user 4 name" in caplog.text


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (
            422,
            {
                "error": "InvalidValue",
                "description": "Too recent start_time. Use a start_time older than 1 minute",
            },
        ),
        (400, {"error": "StartTimeTooRecent", "description": "start_time is too recent"}),
    ],
)
def test_too_recent_start_time_means_caught_up(status, body):
    assert responses.is_too_recent(response(status, body))


def test_other_400_is_not_caught_up():
    assert not responses.is_too_recent(
        response(400, {"error": "InvalidValue", "description": "Invalid start_time"})
    )


@pytest.mark.parametrize(
    ("status", "body", "content_type", "words"),
    [
        (
            401,
            {"error": "Couldn't authenticate you"},
            "application/json",
            ["401", "Couldn't authenticate you", "`api_token`"],
        ),
        (
            403,
            {"error": "Forbidden", "description": "You do not have access to this page."},
            "application/json",
            ["403", "admin"],
        ),
        (
            404,
            b"There is no help desk configured at this address.",
            "text/plain",
            ["404", "no help desk", "`subdomain`"],
        ),
        (
            404,
            {"error": "InvalidEndpoint", "description": "Not found"},
            "application/json",
            ["404", "`api_url`"],
        ),
        (
            400,
            {"error": "InvalidValue", "description": "Invalid start_time", "details": {}},
            "application/json",
            ["400", "InvalidValue: Invalid start_time"],
        ),
    ],
)
def test_client_errors_are_fatal_with_zendesks_words_and_a_fix(status, body, content_type, words):
    with pytest.raises(FatalAPIError) as caught:
        responses.raise_for_status(
            response(status, body, content_type, **{"X-Zendesk-Request-Id": "abc123"})
        )
    message = str(caught.value)
    assert "\n" not in message
    assert "request id abc123" in message
    assert "start_time=" not in message  # the path, never the query
    for word in words:
        assert word in message


@pytest.mark.parametrize(
    ("status", "body", "content_type", "words"),
    [
        (429, {"error": "APIRateLimitExceeded"}, "application/json", ["429"]),
        (503, b"", "text/plain", ["503"]),
        (502, HTML, "text/html", ["502", "HTML page", "proxy"]),
    ],
)
def test_rate_limits_and_server_errors_are_retriable(status, body, content_type, words):
    with pytest.raises(RetriableAPIError) as caught:
        responses.raise_for_status(response(status, body, content_type))
    for word in words:
        assert word in str(caught.value)


def test_long_bodies_are_clipped_to_one_short_line():
    body = ("x" * 5000 + "\n" + "y" * 5000).encode()
    with pytest.raises(FatalAPIError) as caught:
        responses.raise_for_status(response(418, body, "text/plain"))
    assert len(str(caught.value)) < 400


def test_a_lone_surrogate_in_a_key_becomes_the_replacement_character(caplog):
    body = rb'{"id": 9, "custom_fields": [{"id": 1, "value": {"k\ud83d": 1}}], "new_\udc00": 2}'
    with caplog.at_level("WARNING"):
        ticket = responses.decode_page(page_of(body))["tickets"][0]
    assert ticket["custom_fields"][0]["value"] == {"k\ufffd": 1}
    assert ticket["new_\ufffd"] == 2
    assert "ticket 9 new_" in caplog.text


def test_bytes_that_are_not_utf8_are_counted_and_named(caplog):
    with caplog.at_level("WARNING"):
        page = responses.decode_page(page_of(b'{"id": 9, "subject": "caf\xe9"}'))
    assert page["tickets"][0]["subject"] == "caf\ufffd"
    assert "sent 1 values" in caplog.text
    assert "ticket 9 subject" in caplog.text


def test_a_page_with_a_byte_order_mark_decodes():
    assert responses.decode_page(response(200, b"\xef\xbb\xbf" + json.dumps(PAGE).encode())) == PAGE


def test_json_nested_too_deep_to_decode_is_one_fatal_error_naming_it():
    deep = b"[" * 100_000 + b"]" * 100_000
    body = b'{"id": 9, "custom_fields": [{"id": 1, "value": ' + deep + b"}]}"
    with pytest.raises(FatalAPIError, match="nested deeper than the tap can decode"):
        responses.decode_page(page_of(body))


@pytest.mark.parametrize(
    "body",
    [
        {"error": "Bad\r\n2026-01-01 00:00:00,000 | ERROR | forged", "description": "x\x1b[31m"},
        b"Bad\r\n2026-01-01 00:00:00,000 | ERROR | forged\x1b[31m",
        "Bad\u2028forged\u2029line\x85".encode(),
    ],
)
def test_server_text_stays_on_one_line_without_control_characters(body):
    with pytest.raises(FatalAPIError) as caught:
        responses.raise_for_status(response(400, body, "text/plain"))
    message = str(caught.value)
    assert "\n" not in message
    assert "\r" not in message
    assert "\x1b" not in message
    assert len(message.splitlines()) == 1


def test_a_401_for_an_oauth_token_names_access_token():
    made = response(401, {"error": "Couldn't authenticate you"})
    made.request = requests.Request("GET", URL, headers={"Authorization": "Bearer abcdefgh"})
    with pytest.raises(FatalAPIError) as caught:
        responses.raise_for_status(made)
    assert "`access_token`" in str(caught.value)
    assert "`api_token`" not in str(caught.value)


def test_an_error_body_with_a_byte_order_mark_is_read_as_json():
    body = b"\xef\xbb\xbf" + json.dumps({"error": "BadThing", "description": "bom"}).encode()
    with pytest.raises(FatalAPIError, match=r"\(BadThing: bom\)"):
        responses.raise_for_status(response(400, body))


def redirected(
    final_url: str, status: int = 200, first_auth: str = "Basic abcdefgh"
) -> requests.Response:
    first = response(302)
    first.request = requests.Request("GET", URL, headers={"Authorization": first_auth}).prepare()
    made = response(status, PAGE)
    made.url = final_url
    made.request = requests.Request("GET", final_url).prepare()  # another host: no credentials
    made.history = [first]
    return made


@pytest.mark.parametrize(
    "final",
    [
        "https://acme.zendesk.com/api/v2/incremental/tickets?start_time=1700000150",
        "https://acme.zendesk.com/api/v2/incremental/tickets?start_time=1700000000&per_page=5",
        "https://acme.zendesk.com/api/v2/incremental/users?start_time=1700000000",
    ],
)
def test_a_redirect_that_changes_the_request_is_refused(final):
    with pytest.raises(FatalAPIError, match="changed the request"):
        responses.check_redirects(redirected(final))


@pytest.mark.parametrize(
    "final",
    [
        "https://acme.zendesk.com/api/v2/incremental/tickets?start_time=1700000000",
        "https://acme.zendesk.com/api/v2/incremental/tickets.json?start_time=1700000000",
    ],
)
def test_a_redirect_to_the_same_request_elsewhere_is_followed(final):
    responses.check_redirects(redirected(final))


def test_a_401_after_a_redirect_names_the_credential_first_sent():
    final = "https://other.example/api/v2/incremental/tickets?start_time=1700000000"
    with pytest.raises(FatalAPIError) as caught:
        responses.raise_for_status(redirected(final, 401, first_auth="Bearer abcdefgh"))
    assert "`access_token`" in str(caught.value)
    assert "another host, other.example" in str(caught.value)

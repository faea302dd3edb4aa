"""What a Zendesk response means, decided in one place.

Every function here is pure: it reads a `requests.Response` and returns a decoded page, says the
export has caught up, or raises the SDK's retriable or fatal error with a one-line message that
names the problem and the fix. Messages never include request headers (credentials live there),
and server text is scrubbed of the request's credentials before it is quoted (`scrub`).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import msgspec
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_zendesk_incremental.conform import CONTROL_CHARACTERS

if TYPE_CHECKING:
    import requests

# Zendesk answers a start_time within the last minute with 422 InvalidValue (older) or
# 400 StartTimeTooRecent (newer): both mean "nothing new yet".
TOO_RECENT_STATUSES = (HTTPStatus.BAD_REQUEST, HTTPStatus.UNPROCESSABLE_ENTITY)
RETRY_STATUSES = (HTTPStatus.TOO_MANY_REQUESTS,)
_DECODER = msgspec.json.Decoder()
_SNIPPET = 160
_LOG = logging.getLogger("tap-zendesk-incremental.tickets")
REPLACEMENT = "\ufffd"  # what a lone UTF-16 surrogate becomes: UTF-8 cannot carry it
_SURROGATE = re.compile("[\ud800-\udfff]")
_NAMED = 5  # ticket fields named in the WARNING about values written in another form
MASK = "***"
MIN_SECRET = 4  # shorter strings are not masked: they would mask ordinary words
_AUTH_VALUE = re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._~-]{6,}")


class BigNumber(str):
    """A JSON number beyond the double range, kept as its digits (a string) instead of inf."""

    __slots__ = ()


def decode_page(response: requests.Response, items: str = "tickets") -> dict[str, Any]:
    """The JSON object of a 2xx export page; anything else is retriable (proxies, cut bodies).

    msgspec decodes nearly every page. It refuses two things RFC 8259 allows, a lone UTF-16
    surrogate escape and a number beyond the double range: such a page is decoded again by
    the standard library, and those values are written as documented (see `decode_any`).
    """
    try:
        page = _DECODER.decode(_without_bom(response.content))
    except (msgspec.DecodeError, RecursionError):  # msgspec's nesting limit: RecursionError
        page = decode_any(response)
    if not isinstance(page, dict) or not isinstance(page.get(items), list):
        msg = f"Zendesk answered {response.status_code} with {_body_kind(response, page)}"
        raise RetriableAPIError(_locate(msg, response), response)
    return page


def _without_bom(body: bytes) -> bytes:
    """The body without a leading UTF-8 byte order mark (RFC 8259 lets a parser ignore it)."""
    return body[3:] if body.startswith(b"\xef\xbb\xbf") else body


def decode_any(response: requests.Response) -> Any:
    """Any RFC 8259 JSON text, or None when the body is not JSON.

    A lone surrogate (in a value or a key) becomes U+FFFD; a number beyond the double range
    becomes a `BigNumber` string holding its digits; bytes that are not UTF-8 become U+FFFD.
    One WARNING names the tickets and fields that changed form. JSON nested deeper than the
    standard library can decode is a `FatalAPIError`: it would fail the same way every run.
    """
    body = _without_bom(response.content)
    try:
        text, bad_bytes = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, bad_bytes = body.decode("utf-8", errors="replace"), True
    try:
        document = json.loads(text, parse_float=_finite_or_digits, parse_constant=_not_json)
    except ValueError:  # json.JSONDecodeError, and NaN/Infinity, which JSON does not have
        return None
    except RecursionError:
        msg = (
            f"Zendesk answered {response.status_code} with JSON nested deeper than the tap can "
            f"decode ({len(body)} bytes): the export cannot go past this page; ask Zendesk "
            "support about the ticket data on it"
        )
        raise FatalAPIError(_locate(msg, response)) from None
    changed: list[str] = []
    fix = _Sanitizer(changed, bad_bytes)
    if isinstance(document, dict):
        for key, value in document.items():
            if isinstance(value, list):  # tickets and the sideloads: name each object
                kind = key.removesuffix("s")
                for obj in value:
                    label = f"{kind} {obj.get('id')}" if isinstance(obj, dict) else key
                    fix.value(obj, label, "")
            else:
                fix.value(value, key, "")
    if changed:
        _LOG.warning(
            "Zendesk sent %d values that UTF-8 JSON cannot carry as they came (lone surrogates "
            "written as U+FFFD, numbers beyond the double range as strings of their digits, "
            "bytes that are not UTF-8 as U+FFFD): %s",
            len(changed),
            ", ".join(changed[:_NAMED]) + (" ..." if len(changed) > _NAMED else ""),
        )
    return document


def _finite_or_digits(digits: str) -> float | BigNumber:
    value = float(digits)
    return value if math.isfinite(value) else BigNumber(digits)


def _not_json(constant: str) -> None:
    raise ValueError(constant)


class _Sanitizer:
    """Replaces, in place, what UTF-8 JSON cannot carry; notes each field it changed."""

    def __init__(self, changed: list[str], bad_bytes: bool) -> None:  # noqa: FBT001
        self.changed = changed
        self.bad_bytes = bad_bytes  # the body held bytes that are not UTF-8 (now U+FFFD)

    def value(self, value: Any, label: str, path: str) -> Any:
        """The value fixed; a dict's keys too (a key is a column to a target)."""
        if isinstance(value, dict):
            for key, item in list(value.items()):
                fixed = self.text(key, label, f"{path}.{key}" if path else key)
                where = f"{path}.{fixed}" if path else fixed
                if fixed is not key:
                    del value[key]
                value[fixed] = self.value(item, label, where)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                value[index] = self.value(item, label, f"{path}[{index}]")
        elif isinstance(value, BigNumber):
            self.changed.append(f"{label} {path}".strip())
            return str(value)  # a plain str: the writer encodes no subclass
        elif isinstance(value, str):
            return self.text(value, label, path)
        return value

    def text(self, value: str, label: str, path: str) -> str:
        if value.isascii():
            return value
        if _SURROGATE.search(value):
            self.changed.append(f"{label} {_SURROGATE.sub(REPLACEMENT, path)}".strip())
            return _SURROGATE.sub(REPLACEMENT, value)
        if self.bad_bytes and REPLACEMENT in value:
            self.changed.append(f"{label} {path}".strip())
        return value


def is_too_recent(response: requests.Response) -> bool:
    """True for Zendesk's 'start_time is too recent' refusal."""
    if response.status_code not in TOO_RECENT_STATUSES:
        return False
    text = response.text.lower()
    return "starttimetoorecent" in text or "too recent" in text


def raise_for_status(response: requests.Response) -> None:
    """Raise the SDK error that a non-2xx status calls for, with a message for a person."""
    status = response.status_code
    if status < HTTPStatus.BAD_REQUEST:
        return
    if status in RETRY_STATUSES or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        raise RetriableAPIError(problem(response), response)
    raise FatalAPIError(f"{problem(response)}: {_fix(response)}")


class RedirectedAPIError(FatalAPIError):
    """A redirect changed what was asked: the answer is not the page requested."""


def check_redirects(response: requests.Response) -> None:
    """A redirect may change the scheme or the host (http -> https), never what is asked.

    A page from another `start_time`, cursor or endpoint than the one requested would move
    the bookmark over tickets never seen: such an answer is refused.
    """
    history = getattr(response, "history", None)
    if not history:
        return
    asked, answered = urlsplit(history[0].url or ""), urlsplit(response.url or "")
    same_path = asked.path.removesuffix(".json") == answered.path.removesuffix(".json")
    if same_path and parse_qs(asked.query) == parse_qs(answered.query):
        return
    msg = (
        f"Zendesk's answer came from {answered.hostname}{answered.path} after a redirect from "
        f"{asked.hostname}{asked.path} that changed the request (its path or parameters): "
        "that page is not the one asked for, so it is not used; check `api_url` and any "
        "proxy in between. The STATE stays where it was"
    )
    raise RedirectedAPIError(scrub(msg, response))


def problem(response: requests.Response) -> str:
    """What an error response says, where it came from, and Zendesk's request id."""
    return _locate(f"Zendesk answered {response.status_code} {_summary(response)}", response)


def needs_credentials_fix(response: requests.Response) -> bool:
    """True for the answers that only other credentials or permissions can cure."""
    return response.status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN)


def _fix(response: requests.Response) -> str:
    status = response.status_code
    if status == HTTPStatus.UNAUTHORIZED and _sent_bearer(response):
        return "check `access_token` (an OAuth token of an admin, not revoked nor expired)"
    if status == HTTPStatus.UNAUTHORIZED:
        return (
            "check `email` and `api_token` (Admin Center > Apps and integrations > Zendesk API "
            "must allow token access), or `access_token` for OAuth"
        )
    if status == HTTPStatus.FORBIDDEN:
        return (
            "the incremental export is for admins only: use an admin's credentials and make "
            "sure API access is enabled for the account"
        )
    if status == HTTPStatus.NOT_FOUND:
        if _error_json(response) is None:
            return "no Zendesk account answers at this address: check `subdomain` (or `api_url`)"
        return "this URL is not a Zendesk export endpoint: check `api_url`"
    return "check `start_date`, `per_page`, `exclude_deleted` and `api_url`"


def _sent_bearer(response: requests.Response) -> bool:
    """True when the request (the first, before any redirect) carried an OAuth token."""
    first = (getattr(response, "history", None) or [response])[0]
    return _authorization(first).lower().startswith("bearer ")


def _summary(response: requests.Response) -> str:
    """Zendesk's own `error: description`, or what kind of body came instead."""
    error = _error_json(response)
    if error is not None:
        name, description = error.get("error"), error.get("description")
        if isinstance(name, dict):  # some endpoints nest {"title", "message"}
            name, description = name.get("title"), name.get("message", description)
        text = scrub(": ".join(str(part) for part in (name, description) if part), response)
        return f"{response.reason} ({_clip(text)})" if text else str(response.reason)
    if _is_html(response):
        return f"{response.reason} with an HTML page (from a proxy or load balancer, not Zendesk)"
    text = scrub(" ".join(response.text.split()), response)
    return f"{response.reason} ({_clip(text)})" if text else str(response.reason)


def scrub(text: str, response: requests.Response) -> str:
    """Server text fit for one log line: no credentials (proxies echo them), no line breaks.

    The secrets are read from the Authorization header of the request and of any request
    redirected from: the whole value, the Basic credential in base64 and decoded
    (`email/token:api_token`), the API token and the Bearer token, each also in base64. Any
    other `Basic ...` or `Bearer ...` value is masked as well. Control characters (CR, LF,
    terminal escapes) become spaces, so a server cannot forge log lines.
    """
    for secret in _secrets(response):
        text = text.replace(secret, MASK)
    text = CONTROL_CHARACTERS.sub(" ", _AUTH_VALUE.sub(rf"\1 {MASK}", text))
    return " ".join(text.split()) if "  " in text else text


def _secrets(response: requests.Response) -> list[str]:
    found: set[str] = set()
    for sent in (response, *(getattr(response, "history", None) or ())):
        found.update(_credentials(_authorization(sent)))
    found |= {base64.b64encode(s.encode()).decode().rstrip("=") for s in found}
    # Longest first, so a secret inside another is masked with it.
    return sorted({s for s in found if len(s) >= MIN_SECRET}, key=len, reverse=True)


def _authorization(sent: requests.Response) -> str:
    """The Authorization header of the request a response answers ("" if none)."""
    request = getattr(sent, "request", None)
    return str(request.headers.get("Authorization", "")) if request is not None else ""


def _credentials(header: str) -> list[str]:
    """The secrets one Authorization header holds, as sent and decoded."""
    scheme, _, credential = header.partition(" ")
    found = [header, credential.strip()]
    if scheme.lower() == "basic":
        try:
            login = base64.b64decode(credential.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            login = ""
        found += [login, login.partition(":")[2]]
    return found


def _error_json(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = _DECODER.decode(_without_bom(response.content))
    except (msgspec.DecodeError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def _body_kind(response: requests.Response, document: Any) -> str:
    size = len(response.content)
    if document is not None:
        return f"JSON that is not an export page (no `tickets` list; {size} bytes)"
    if _is_html(response):
        return "an HTML page instead of JSON (a proxy, captive portal or maintenance page)"
    if not response.content.strip():
        return "an empty body instead of JSON"
    try:
        json.loads(response.content.decode("utf-8", errors="replace"))
    except ValueError as error:
        where = getattr(error, "pos", size)
        if where >= len(response.content.decode("utf-8", errors="replace").rstrip()):
            return f"a JSON body cut short ({size} bytes, ended mid-document)"
        return f"a body that is not JSON ({size} bytes, malformed at character {where})"
    return f"a body that is not JSON ({size} bytes)"


def _is_html(response: requests.Response) -> bool:
    content_type = response.headers.get("Content-Type", "").lower()
    return "html" in content_type or response.content.lstrip()[:1] == b"<"


def _locate(problem: str, response: requests.Response) -> str:
    """Append the path (never the query or headers) and Zendesk's request id."""
    url = urlsplit(response.url or "")
    where = f"{problem} for {url.hostname or ''}{url.path}"
    if history := getattr(response, "history", None):
        start = urlsplit(history[0].url or "")
        where += f", after a redirect from {start.hostname}{start.path} (check `api_url` or "
        where += (
            f"`subdomain`; credentials are not sent to another host, {url.hostname})"
            if start.hostname != url.hostname
            else "`subdomain`, and any proxy in between)"
        )
    request_id = response.headers.get("X-Zendesk-Request-Id")
    where = scrub(where, response)  # a redirect's path can hold what a proxy put there
    return f"{where} (request id {scrub(request_id, response)})" if request_id else where


def _clip(text: str) -> str:
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"

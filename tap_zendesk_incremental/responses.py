"""What a Zendesk response means, decided in one place.

Every function here is pure: it reads a `requests.Response` and returns a decoded page, says the
export has caught up, or raises the SDK's retriable or fatal error with a one-line message that
names the problem and the fix. Messages never include request headers (credentials live there).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msgspec
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

if TYPE_CHECKING:
    import requests

# Zendesk answers a start_time within the last minute with 422 InvalidValue (older) or
# 400 StartTimeTooRecent (newer): both mean "nothing new yet".
TOO_RECENT_STATUSES = (HTTPStatus.BAD_REQUEST, HTTPStatus.UNPROCESSABLE_ENTITY)
RETRY_STATUSES = (HTTPStatus.TOO_MANY_REQUESTS,)
_DECODER = msgspec.json.Decoder()
_SNIPPET = 160


def decode_page(response: requests.Response) -> dict[str, Any]:
    """The JSON object of a 2xx export page; anything else is retriable (proxies, cut bodies)."""
    try:
        page = _DECODER.decode(response.content)
    except msgspec.DecodeError:
        page = None
    if not isinstance(page, dict) or not isinstance(page.get("tickets"), list):
        msg = f"Zendesk answered {response.status_code} with {_body_kind(response)}"
        raise RetriableAPIError(_locate(msg, response), response)
    return page


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


def problem(response: requests.Response) -> str:
    """What an error response says, where it came from, and Zendesk's request id."""
    return _locate(f"Zendesk answered {response.status_code} {_summary(response)}", response)


def needs_credentials_fix(response: requests.Response) -> bool:
    """True for the answers that only other credentials or permissions can cure."""
    return response.status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN)


def _fix(response: requests.Response) -> str:
    status = response.status_code
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
    return "fix the setting the message names and run again"


def _summary(response: requests.Response) -> str:
    """Zendesk's own `error: description`, or what kind of body came instead."""
    error = _error_json(response)
    if error is not None:
        name, description = error.get("error"), error.get("description")
        if isinstance(name, dict):  # some endpoints nest {"title", "message"}
            name, description = name.get("title"), name.get("message", description)
        text = ": ".join(str(part) for part in (name, description) if part)
        return f"{response.reason} ({_clip(text)})" if text else str(response.reason)
    if _is_html(response):
        return f"{response.reason} with an HTML page (from a proxy or load balancer, not Zendesk)"
    text = " ".join(response.text.split())
    return f"{response.reason} ({_clip(text)})" if text else str(response.reason)


def _error_json(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = _DECODER.decode(response.content)
    except msgspec.DecodeError:
        return None
    return body if isinstance(body, dict) else None


def _body_kind(response: requests.Response) -> str:
    if _is_html(response):
        return "an HTML page instead of JSON (a proxy, captive portal or maintenance page)"
    if not response.content:
        return "an empty body instead of JSON"
    return f"a body that is not a JSON export page ({len(response.content)} bytes, cut short?)"


def _is_html(response: requests.Response) -> bool:
    content_type = response.headers.get("Content-Type", "").lower()
    return "html" in content_type or response.content.lstrip()[:1] == b"<"


def _locate(problem: str, response: requests.Response) -> str:
    """Append the path (never the query or headers) and Zendesk's request id."""
    url = urlsplit(response.url or "")
    where = f"{problem} for {url.hostname or ''}{url.path}"
    request_id = response.headers.get("X-Zendesk-Request-Id")
    return f"{where} (request id {request_id})" if request_id else where


def _clip(text: str) -> str:
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"

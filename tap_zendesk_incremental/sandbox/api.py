"""From a request to a response, as Zendesk would answer it: auth, rate limit, faults, pages.

No sockets here: the HTTP handler delivers the `Response` (and carries out the faults that need
the socket, such as a reset connection or a truncated body).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING

from tap_zendesk_incremental.sandbox.data import encode, hostile_page
from tap_zendesk_incremental.sandbox.events import events_page
from tap_zendesk_incremental.sandbox.export import (
    VISIBLE_DELAY,
    ApiError,
    Context,
    PageCache,
    cursor_page,
    time_page,
)
from tap_zendesk_incremental.sandbox.faults import FaultPlan, Faults, RateWindow

if TYPE_CHECKING:
    from tap_zendesk_incremental.sandbox.directory import People
    from tap_zendesk_incremental.sandbox.store import TicketStore

JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
ROUTES = {
    "/api/v2/incremental/tickets": "time",
    "/api/v2/incremental/tickets.json": "time",
    "/api/v2/incremental/tickets/cursor": "cursor",
    "/api/v2/incremental/tickets/cursor.json": "cursor",
    # One budget for all of them: the rate window below is the account's, whatever the path.
    "/api/v2/incremental/ticket_events": "events",
    "/api/v2/incremental/ticket_events.json": "events",
}
NO_HELP_DESK = (
    "There is no help desk configured at this address. This means that the address "
    "is available and that you can claim it at http://www.zendesk.com/signup"
)
FORBIDDEN = {
    "error": "Forbidden",
    "description": "You do not have access to this page. Please "
    "contact the account owner of this help desk for further help.",
}
UNAUTHORIZED = {"error": "Couldn't authenticate you"}
HTML_502 = (
    "<html><body><h1>502 Bad Gateway</h1><p>The server returned an invalid or incomplete "
    "response.</p><hr><center>nginx</center></body></html>"
)
HTML_200 = (
    "<!DOCTYPE html><html><head><title>Example Support</title></head><body>"
    "<h1>We'll be back soon</h1><p>Scheduled maintenance in progress.</p></body></html>"
)
BAD_START_TIME = {
    "error": "InvalidValue",
    "description": "Invalid start_time",
    "details": {"start_time": [{"error": "InvalidValue", "description": "start_time is invalid"}]},
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    params: dict[str, str]
    authorization: str | None


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None  # the fault this response carries out, if any
    trickle_seconds: float = 0.0  # pause between chunks of the body (see Faults)


@dataclass(frozen=True)
class RequestRecord:
    """One request as the sandbox saw it. The Authorization value is never kept."""

    method: str
    path: str
    params: dict[str, str]
    status: int  # 0 when the connection was reset instead of answered
    time: float
    auth_kind: str | None  # "basic", "bearer" or None, whatever the credentials were worth
    fault: str | None = None


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    return Response(status, encode(payload).encode(), JSON, dict(headers or {}))


def auth_kind(authorization: str | None) -> str | None:
    scheme = (authorization or "").split(" ", 1)[0].lower()
    return scheme if scheme in {"basic", "bearer"} else None


FAULT_RESPONSES = {
    "500": lambda: json_response(
        500, {"error": "InternalServerError", "description": "Something went wrong"}
    ),
    "502": lambda: json_response(502, {"error": "BadGateway", "description": "Bad gateway"}),
    "503": lambda: json_response(
        503, {"error": "DatabaseTimeout", "description": "Database timed out"}, {"Retry-After": "1"}
    ),
    "504": lambda: json_response(504, {"error": "GatewayTimeout", "description": "Timed out"}),
    "html502": lambda: Response(502, HTML_502.encode(), HTML),
    "html200": lambda: Response(200, HTML_200.encode(), HTML),
    "429": lambda: json_response(429, {"error": "APIRateLimitExceeded"}, {"Retry-After": "1"}),
    "429noretry": lambda: json_response(429, {"error": "APIRateLimitExceeded"}),
    "401": lambda: json_response(401, UNAUTHORIZED),
    "403": lambda: json_response(403, FORBIDDEN),
    "404text": lambda: Response(404, NO_HELP_DESK.encode(), TEXT),
    "400json": lambda: json_response(400, BAD_START_TIME),
}


class Api:
    """The account's API: credentials, data, switches, and what happened so far."""

    def __init__(
        self,
        store: TicketStore,
        people: People,
        base_url: str,
        *,
        credentials: tuple[str, str, str],
        per_page_max: int,
        faults: Faults,
    ) -> None:
        self.store, self.people, self.base_url = store, people, base_url
        self.email, self.api_token, self.access_token = credentials
        self.per_page_max = per_page_max
        self.faults = faults
        self.plan = FaultPlan()
        self.window = RateWindow()
        self.cache = PageCache()
        self.records: list[RequestRecord] = []
        self._records_lock = threading.Lock()

    def record(self, entry: RequestRecord) -> None:
        with self._records_lock:
            self.records.append(entry)

    def handle(self, request: Request) -> Response:
        faults = self.faults
        if faults.proxy is not None and not (faults.proxy == "shift" and SHIFTED in request.params):
            return self.proxy(request, faults)
        if faults.unknown_subdomain:  # no account there: nothing to authenticate against
            return Response(404, NO_HELP_DESK.encode(), TEXT)
        if not self.authorized(request.authorization):
            return json_response(401, UNAUTHORIZED)
        if faults.forbidden:
            return json_response(403, FORBIDDEN)
        endpoint = ROUTES.get(request.path) if request.method == "GET" else None
        if endpoint is None:
            return json_response(404, {"error": "InvalidEndpoint", "description": "Not found"})
        return self.export(endpoint, request.params, faults)

    def proxy(self, request: Request, faults: Faults) -> Response:
        """What a misbehaving proxy in front of Zendesk answers instead of Zendesk."""
        secret = _bare_secret(request.authorization)
        if faults.proxy == "echo":  # some WAFs and API gateways quote the request back
            body = (
                # Line breaks and a terminal escape: a log line forged by the server's text.
                "Request rejected by gateway.\r\n2026-01-01 00:00:00,000 | INFO | forged\x1b[0m"
                "\nRequest headers: Accept: application/json; "
                f"Authorization: {request.authorization}; path {request.path}; "
                f"token {base64.b64encode(secret.encode()).decode()}"
            )
            return Response(faults.echo_status, body.encode(), TEXT)
        params = dict(request.params)
        if faults.proxy == "shift":
            start = int(params.get("start_time") or 0)
            params.update(start_time=str(start + faults.shift_seconds), **{SHIFTED: "1"})
        query = "&".join(f"{key}={value}" for key, value in params.items())
        target = faults.redirect_to if faults.proxy == "redirect" else f"{request.path}?{query}"
        # A login page that carries the credential in its path, as some SSO proxies do.
        target = target.replace("{credential}", secret)
        return Response(302, b"", TEXT, {"Location": target})

    def authorized(self, authorization: str | None) -> bool:
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() == "bearer":
            return hmac.compare_digest(value.strip().encode(), self.access_token.encode())
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = f"{self.email}/token:{self.api_token}"
        return hmac.compare_digest(decoded.encode(), expected.encode())

    def export(self, endpoint: str, params: dict[str, str], faults: Faults) -> Response:
        rate_headers: dict[str, str] = {}
        if faults.rate_limit is not None:
            budget = self.window.hit(faults.rate_limit, faults.rate_window, time.monotonic())
            rate_headers = budget.headers(faults.rate_headers)
            if not budget.allowed:
                seconds = faults.retry_after_value or str(budget.resets)
                retry = {"Retry-After": seconds} if faults.retry_after_on_429 else {}
                return json_response(
                    429, {"error": "APIRateLimitExceeded"}, {**rate_headers, **retry}
                )
        response = self.faulty_or_page(endpoint, params, faults)
        response.headers.update(rate_headers)
        return response

    def faulty_or_page(self, endpoint: str, params: dict[str, str], faults: Faults) -> Response:
        kind = self.plan.draw(faults)
        if kind == "timeout":
            time.sleep(faults.timeout_seconds)  # then answer normally, as a slow database would
        elif kind == "reset":
            return Response(0, b"", fault=kind)
        elif kind in FAULT_RESPONSES:
            response = FAULT_RESPONSES[kind]()
            response.fault = kind
            if faults.retry_after_value is not None and "Retry-After" in response.headers:
                response.headers["Retry-After"] = faults.retry_after_value
            return response
        response = self.page(endpoint, params, faults)
        if response.status == HTTPStatus.OK:
            if faults.hostile or faults.large_descriptions:
                response.body = hostile_page(
                    json.loads(response.body),
                    hostile=faults.hostile,
                    description_bytes=faults.large_descriptions,
                )
            response.trickle_seconds = faults.trickle_seconds
        if kind == "badjson":
            response.body = response.body[: len(response.body) // 2]
        response.fault = kind
        return response

    def page(self, endpoint: str, params: dict[str, str], faults: Faults) -> Response:
        key = (endpoint, faults.page_key(), tuple(sorted(params.items())))
        store = self.store
        with store.lock:  # data version, visibility and page must agree
            version = store.version
            cached = self.cache.get(version, key)
            if cached is not None:  # valid once means valid for good: time only moves forward
                return Response(200, cached)
            ctx = Context(
                self.base_url,
                int(time.time() - faults.clock_behind),
                faults.same_second,
                faults.too_recent_status,
                self.per_page_max,
                faults,
            )
            try:
                if endpoint == "events":
                    body = events_page(store.events, self.people, params, ctx)
                else:
                    build = time_page if endpoint == "time" else cursor_page
                    body = build(store, self.people, params, ctx)
            except ApiError as error:
                return json_response(error.status, error.payload)
            # A page is final only once every ticket is visible; until then time changes it.
            if (store.max_gts or 0) <= ctx.now - VISIBLE_DELAY:
                self.cache.put(version, key, body)
        return Response(200, body)


SHIFTED = "shifted"  # the query parameter a "shift" proxy marks its redirects with


def _bare_secret(authorization: str | None) -> str:
    """The API token or OAuth token an Authorization header carries ("" for none)."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip()).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return ""
    return value.strip()

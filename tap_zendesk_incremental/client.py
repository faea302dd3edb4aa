"""The base stream for Zendesk's incremental export: URL, auth, pacing, errors and retries."""

from __future__ import annotations

import contextlib
import logging
import random
import re
import socket
import threading
import time
from collections import Counter
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import backoff
import requests
import singer_sdk.singerlib as singer
import urllib3
from singer_sdk.authenticators import BasicAuthenticator, BearerTokenAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers._catalog import pop_deselected_record_properties
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.streams import RESTStream
from typing_extensions import override
from urllib3.exceptions import NameResolutionError, NewConnectionError

from tap_zendesk_incremental import responses
from tap_zendesk_incremental.conform import (
    OUTCOMES,
    SET_ASIDE,
    SET_ASIDE_OUTCOME,
    Conformer,
    Mismatches,
    NewField,
    column_path,
    keep_aside,
    new_fields,
    refused_name,
    with_new_fields,
)
from tap_zendesk_incremental.ratelimit import MAX_RESET_WAIT, retry_after
from tap_zendesk_incremental.typed import PageDecoder

if TYPE_CHECKING:
    from collections.abc import Generator

    from backoff.types import Details
    from requests.auth import AuthBase
    from singer_sdk.helpers.types import Context

    from tap_zendesk_incremental.ratelimit import Pacer

# What a retry can cure: the SDK's own list of transient failures.
TRANSIENT_ERRORS = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
MAX_BACKOFF_SECONDS = 60.0


MAX_REDIRECTS = 5  # Zendesk redirects at most once (http -> https); more is a loop
MIN_RETRY_AFTER = 1.0  # a Retry-After below this (0, negative) gets the usual backoff
MAX_RETRY_AFTER = 600.0  # and one above this is capped: no budget window is that long


class BodyTimeout(requests.exceptions.ReadTimeout):
    """The body did not arrive in full within `request_timeout` (a trickle or a stall)."""


class PacedSession(requests.Session):
    """A session that holds every request, retries included, until the budget allows it."""

    def __init__(self, pacer: Pacer) -> None:
        super().__init__()
        self.pacer = pacer
        self.max_redirects = MAX_REDIRECTS

    @override
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.pacer.before_request()
        stream = kwargs.pop("stream", False)
        started = time.monotonic()
        try:
            response = super().send(request, stream=True, **kwargs)
        except requests.exceptions.TooManyRedirects as error:
            raise FatalAPIError(describe_error(error)) from None
        self.pacer.after_response(response.headers)
        if not stream:
            timeout = kwargs.get("timeout")
            limit = float(timeout) if isinstance(timeout, (int, float)) else None
            response._content = read_body(response, started, limit)
        return response


def read_body(response: requests.Response, started: float, timeout: float | None) -> bytes:
    """The whole body, within `timeout` seconds of the request's start (a trickle included).

    Read in one go: `Response.content` reads a 2 MB page in 10 KB steps, which cost more than
    decoding it. iter_content maps cut bodies and resets to the requests errors that are
    retried. Each socket read is bounded by the timeout; the whole body by a watchdog that
    shuts the connection at the deadline (a body trickling in never ends a read).
    """
    if timeout is None:
        return b"".join(response.iter_content(chunk_size=None))
    cut = threading.Event()
    remaining = max(0.0, timeout - (time.monotonic() - started))
    watchdog = threading.Timer(remaining, _cut_connection, (response, cut))
    watchdog.daemon = True
    watchdog.start()
    try:
        return b"".join(response.iter_content(chunk_size=None))
    except requests.exceptions.RequestException as error:
        cause = error.args[0] if error.args else None
        if cut.is_set() or isinstance(cause, urllib3.exceptions.ReadTimeoutError):
            raise BodyTimeout(request=response.request, response=response) from None
        raise
    finally:
        watchdog.cancel()


def _cut_connection(response: requests.Response, cut: threading.Event) -> None:
    cut.set()
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):  # closed meanwhile: the read is over anyway
            sock.shutdown(socket.SHUT_RDWR)


class ZendeskStream(RESTStream[Any]):
    """A stream read from `{base}/api/v2/incremental/...`."""

    # The first backoff wait, in seconds; doubled on each retry up to MAX_BACKOFF_SECONDS.
    retry_base_seconds: float = 1.0
    # Until Zendesk has answered once in this run, a refused connection or an unknown host is
    # almost always a wrong address, not an outage: give up after this long, not after
    # max_retry_seconds. Once it has answered, the same failure is retried as any other.
    unreachable_give_up_seconds: float = 30.0
    # Zendesk's JSON holds only JSON types: the SDK's per-value conformance pass (most of its
    # time per record) has nothing to convert. Undeclared fields: see keep_declared_fields.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # SDK log lines demoted to DEBUG. The tap ends a failed run with its own one-line error
    # (tap.py): the SDK's generic line about the same failure would be a second ERROR line.
    debug_only_messages: tuple[str, ...] = ("An unhandled error occurred while syncing",)
    items_key = "tickets"  # the array of this stream's export pages

    @property
    def pacer(self) -> Pacer:
        """The tap's one pacer: every incremental export of an account shares one budget."""
        return self._tap.pacer  # type: ignore[attr-defined,no-any-return]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retries = 0
        self.rate_limited = 0
        self.declared = frozenset(self.schema["properties"])
        self.unreachable_since: float | None = None
        self.conformer = Conformer(self.schema)
        self._page_decoder: PageDecoder | None = None
        self.fitting_page: dict[str, Any] | None = None  # the last page typed.py accepted
        self.mismatches = Mismatches()
        self.reported: Counter[str] = Counter()  # the counts the last WARNING gave

    @property
    @override
    def url_base(self) -> str:
        if api_url := self.config.get("api_url"):
            return api_url.rstrip("/")
        return f"https://{self.config['subdomain']}.zendesk.com"

    @cached_property
    @override
    def authenticator(self) -> AuthBase:
        if token := self.config.get("access_token"):
            return BearerTokenAuthenticator(token=token)
        return BasicAuthenticator(
            username=f"{self.config['email']}/token",
            password=self.config["api_token"],
        )

    @property
    @override
    def http_headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    @cached_property
    @override
    def requests_session(self) -> requests.Session:
        return PacedSession(self.pacer)

    @property
    @override
    def timeout(self) -> float:  # type: ignore[override]
        return float(self.config["request_timeout"])  # a config file's numbers are Decimals

    @override
    def validate_response(self, response: requests.Response) -> None:
        responses.check_redirects(response)
        if responses.is_too_recent(response):
            return
        responses.raise_for_status(response)

    # Retries: the SDK's backoff decorator, bounded by time instead of a count of tries.

    @override
    def request_decorator(self, func: Any) -> Any:
        return backoff.on_exception(
            self.backoff_wait_generator,
            TRANSIENT_ERRORS,
            max_tries=None,
            max_time=float(self.config["max_retry_seconds"]),
            giveup=self.never_reached_for_too_long,
            on_backoff=self.backoff_handler,
            jitter=None,  # applied in backoff_wait_generator, never to a Retry-After
            logger=None,  # backoff_handler logs each retry in one line
        )(func)

    @override
    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        attempt = 0
        error = yield  # type: ignore[misc]
        while True:
            attempt += 1
            error = yield self.retry_wait(error, attempt)

    def never_reached_for_too_long(self, error: BaseException) -> bool:
        """True when no answer came yet and connecting has failed for the fail-fast time."""
        if self.pacer.responses or not cannot_connect(error):
            return False
        self.unreachable_since = self.unreachable_since or time.monotonic()
        return self.unreachable_left() <= 0

    def unreachable_left(self) -> float:
        """Seconds left of the fail-fast time for an address that never answered."""
        since = self.unreachable_since or time.monotonic()
        return since + self.unreachable_give_up_seconds - time.monotonic()

    def retry_wait(self, error: BaseException, attempt: int) -> float:
        """Retry-After exactly; a 429 without it waits for the window; else backoff + jitter."""
        if not self.pacer.responses and cannot_connect(error):
            return max(0.0, min(self.backoff_seconds(attempt), self.unreachable_left()))
        return self.known_host_wait(error, attempt)

    def known_host_wait(self, error: BaseException, attempt: int) -> float:
        """The wait before retrying a request to an address that has answered in this run."""
        response = getattr(error, "response", None)
        backoff = self.backoff_seconds(attempt)
        if response is not None and response.status_code in (429, 503):
            seconds = retry_after(response.headers)
            if seconds is not None and seconds >= MIN_RETRY_AFTER:
                return min(seconds, MAX_RETRY_AFTER)
            if seconds is not None:  # 0 or negative: a server in a hurry would hammer itself
                return max(backoff, MIN_RETRY_AFTER)
            if response.status_code == 429:
                return self.pacer.delay() or MAX_RESET_WAIT
        return backoff

    def backoff_seconds(self, attempt: int) -> float:
        """Exponential backoff with jitter: 0.5-1 s, 1-2 s, 2-4 s ... up to a minute."""
        ceiling = min(self.retry_base_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security

    @override
    def backoff_handler(self, details: Details) -> None:
        self.retries += 1
        error = details.get("exception")
        response = getattr(error, "response", None)
        if response is not None and response.status_code == 429:
            self.rate_limited += 1
        self.log(
            "Retrying in %.1f s (try %d failed): %s",
            details.get("wait", 0.0),
            details.get("tries", 0),
            describe_error(error),
            level=logging.WARNING,
        )

    @override
    def log(self, message: str, *args: Any, level: int = logging.INFO, **kwargs: Any) -> None:
        if message.startswith(self.debug_only_messages):
            level = logging.DEBUG
        super().log(message, *args, level=level, **kwargs)

    @cached_property
    def prunes_nothing(self) -> bool:
        """True when the catalog deselects no property (the usual case)."""
        return all(self.mask.values())

    @override
    def _generate_record_messages(self, record: dict[str, Any]) -> Generator[Any, None, None]:
        # The SDK's own, less its pruning pass when there is nothing to prune: that pass walks
        # every nested key of every record and took a quarter of the tap's time. Type
        # conformance is NONE (see TYPE_CONFORMANCE_LEVEL): keep_declared_fields did it.
        if not self.prunes_nothing:
            pop_deselected_record_properties(record, self.schema, self.mask)
        for stream_map in self.stream_maps:
            if (mapped := stream_map.transform(record)) is None:
                continue
            if stream_map.flattening_enabled:
                drop_unflattened_nulls(mapped, stream_map.transformed_schema)
            yield singer.RecordMessage(
                stream=stream_map.stream_alias,
                record=mapped,
                version=self._stream_version,
                time_extracted=utc_now(),
            )

    @cached_property
    def writes_records_as_is(self) -> bool:
        """True when each record is written as the stream yields it: nothing deselected, no
        stream map, no flattening. Its records may then be typed Structs (typed.Record)."""
        return self.prunes_nothing and all(
            type(stream_map) is SameRecordTransform and not stream_map.flattening_enabled
            for stream_map in self.stream_maps
        )

    def decode_page(self, response: requests.Response) -> dict[str, Any]:
        """A 2xx export page: checked in C when every ticket fits the schema (typed.py),
        else decoded as any JSON (responses.py) and checked record by record."""
        decoder = self._page_decoder
        if decoder is None or decoder.schema is not self.schema:  # new: a field was announced
            added = (self.replication_key,) if self.replication_key else ()
            records = self.writes_records_as_is
            decoder = PageDecoder(self.schema, added, records=records, items=self.items_key)
            self._page_decoder = decoder
        page = decoder.decode(response.content)
        if page is not None and isinstance(page.get(self.items_key), list):
            self.fitting_page = page
            return page
        return responses.decode_page(response, self.items_key)

    def keep_declared_fields(self, record: dict[str, Any]) -> None:
        """Make the record fit the SCHEMA this stream sent (see conform.py and the README).

        A top-level field the schema does not declare is announced in a new SCHEMA before the
        first record that carries a value of it (a field Zendesk adds tomorrow is a column
        tomorrow, not a loss). Values of a type the schema does not allow are converted or
        set aside, counted in the stream's one WARNING. Nothing to do for a ticket of a page
        that typed.py accepted (the usual case).
        """
        if self.fitting_page is not None and getattr(self, "page", None) is self.fitting_page:
            return
        if not self.declared.issuperset(record):
            for name in [name for name in record.keys() - self.declared if record[name] is None]:
                del record[name]  # null so far: absent says the same
        if (new := new_fields(record, self.schema)) and (new := self._columns_only(record, new)):
            self._announce(new)
        if not self.conformer.fits(record):
            self.conformer.repair(record, self.label(record), self.mismatches)

    def label(self, record: dict[str, Any]) -> str:
        """The record, as a WARNING names it: `ticket 42`, `user 7`."""
        return f"{self.name.removesuffix('s')} {record.get('id')}"

    def _columns_only(
        self, record: dict[str, Any], new: dict[str, NewField]
    ) -> dict[str, NewField]:
        """The new fields that can be columns; the others are set aside in the record.

        A column is a top-level key, or with flattening a key in nested objects too.
        """
        flattening = next((m for m in self.stream_maps if m.flattening_enabled), None)
        options = flattening.flattening_options if flattening is not None else None
        separator = options.separator if options is not None else None
        kept = {}
        for name, field in new.items():
            path = column_path(field)
            if path is None or (len(path) > 1 and separator is None):
                kept[name] = field  # inside a JSON value: any key will do
            elif refused_name(path[-1], separator):
                parent = record
                for key in path[:-1]:
                    parent = parent[key]
                keep_aside(record, name, parent.pop(path[-1]))
                self.mismatches.note(f"{self.label(record)} {name!r}", SET_ASIDE_OUTCOME)
            else:
                kept[name] = field
        return kept

    def _announce(self, new: dict[str, NewField]) -> None:
        """Declare new fields, rebuild what depends on the schema, send the new SCHEMA."""
        # The stream classes declare `schema` as a class attribute: this instance's shadows it.
        self.schema = schema = with_new_fields(self.schema, new)
        if self._input_schema is not None:  # the catalog's copy, when one was given
            with contextlib.suppress(KeyError, TypeError):  # a catalog shaped otherwise
                self._input_schema = with_new_fields(self._input_schema, new)
        self.declared = frozenset(schema["properties"])
        self.conformer = Conformer(schema)
        # The stream maps (flattening, aliases) are built from the schema: build them anew.
        self._tap.mapper.register_raw_stream_schema(self.name, schema, self.primary_keys)
        self._stream_maps = self._tap.mapper.stream_maps[self.name]
        for message in self._generate_schema_messages():
            self._tap.write_message(message)
        self.log(
            "Zendesk sent %s fields this tap's schema does not declare: %s; announced in a new "
            "SCHEMA before the first record that carries them (a newer tap version may "
            "declare them with a stricter type)",
            self.name,
            ", ".join(f"{name} ({new[name][2]['type'][1]})" for name in sorted(new)),
            level=logging.WARNING,
        )

    @override
    def sync(self, context: Context | None = None) -> None:
        try:
            super().sync(context)
        finally:
            self.report_mismatches()

    def report_mismatches(self) -> None:
        """One WARNING counting the values repaired since the last one, if any."""
        new = self.mismatches.counts - self.reported
        if not new:
            return
        self.reported = self.mismatches.counts.copy()
        outcomes = ", ".join(f"{new[outcome]} {outcome}" for outcome in OUTCOMES if new[outcome])
        self.log(
            "%d values in %s had a type the schema does not allow (%s; set aside = kept as JSON "
            "text under `%s`, the field null); first ones: %s",
            new.total(),
            self.name,
            outcomes,
            SET_ASIDE,
            ", ".join(self.mismatches.examples),
            level=logging.WARNING,
        )


def drop_unflattened_nulls(record: dict[str, Any], schema: dict[str, Any]) -> None:
    """Remove a null object's own key, which the flattened SCHEMA does not declare.

    The SDK flattens `{"satisfaction_rating": {"score": ...}}` into `satisfaction_rating__score`
    but keeps `"satisfaction_rating": null` as it is: a strict target (target-csv) stops on a
    key its SCHEMA lacks. Absent says the same as null for each flattened column.
    """
    properties = schema["properties"]
    for key in [key for key, value in record.items() if value is None and key not in properties]:
        del record[key]


# What each transient failure is, for a person: (exception, message); the first match wins.
_DESCRIPTIONS: tuple[tuple[type[BaseException], str], ...] = (
    (BodyTimeout, "no answer from Zendesk{where} within `request_timeout` while reading the body"),
    (requests.exceptions.Timeout, "no answer from Zendesk{where} within `request_timeout`"),
    (
        requests.exceptions.TooManyRedirects,
        "Zendesk{where} redirected more than {max_redirects} times, last to {location} (a "
        "redirect loop): check `api_url` (or `subdomain`) and any proxy in between",
    ),
    (
        requests.exceptions.SSLError,
        "the TLS certificate{where} could not be verified (a proxy that re-signs HTTPS needs "
        "its CA in REQUESTS_CA_BUNDLE)",
    ),
    (
        (requests.exceptions.ConnectionError, ConnectionResetError),  # type: ignore[arg-type]
        "the connection to Zendesk{where} failed or was reset (check `subdomain` or "
        "`api_url`, and the network)",
    ),
    (
        requests.exceptions.ContentDecodingError,
        "the response from Zendesk{where} could not be decompressed (its Content-Encoding "
        "names a compression its body does not have: a proxy in between?)",
    ),
    (
        requests.exceptions.ChunkedEncodingError,
        "the response from Zendesk{where} was cut short (the connection ended before the "
        "whole body arrived)",
    ),
    (
        requests.exceptions.RequestException,
        "the response from Zendesk{where} was cut short ({kind})",
    ),
)


def describe_error(error: BaseException | None) -> str:
    """One line for a transient failure: what failed and where, never a header or a query."""
    if isinstance(error, RetriableAPIError):
        return str(error)
    if cannot_connect(error):
        return (
            f"cannot connect to Zendesk{_host(error)} ({_connect_failure(error)}): check "
            "`subdomain` or `api_url`, and the network"
        )
    for kind, text in _DESCRIPTIONS:
        if isinstance(error, kind):
            location = _location(error) if "{location}" in text else ""
            return text.format(
                where=_host(error),
                location=location,
                kind=type(error).__name__,
                max_redirects=MAX_REDIRECTS,
            )
    return repr(error)


def cannot_connect(error: BaseException | None) -> bool:
    """A refused connection or an unknown host: no connection was made, nothing was sent."""
    if not isinstance(error, requests.exceptions.ConnectionError) or not error.args:
        return False
    return isinstance(getattr(error.args[0], "reason", None), NewConnectionError)


def _connect_failure(error: BaseException) -> str:
    reason = error.args[0].reason
    if isinstance(reason, NameResolutionError):
        return "unknown host"
    found = re.search(r"\[Errno -?\d+\] ([^'\"]+)", str(reason))
    return found.group(1).strip().lower() if found else "connection refused"


def _location(error: BaseException) -> str:
    """Host and path (never the query) a redirect pointed to, scrubbed like server text."""
    response = getattr(error, "response", None)
    target = urlsplit(response.headers.get("Location", "")) if response is not None else None
    if target is None:
        return "an unknown address"
    where = f"{target.hostname or _host(error).removeprefix(' at ')}{target.path}"
    return responses.scrub(where, response)


def _host(error: BaseException | None) -> str:
    """` at host:port` of the failed request (the port is half of a wrong address)."""
    request = getattr(error, "request", None)
    url = urlsplit(request.url) if request is not None and request.url else None
    if url is None or not url.hostname:
        return ""
    try:
        port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    except ValueError:
        port = None
    return f" at {url.hostname}:{port}" if port else f" at {url.hostname}"

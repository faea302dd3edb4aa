"""The base stream for Zendesk's incremental export: URL, auth, pacing, errors and retries."""

from __future__ import annotations

import logging
import random
import re
import time
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import backoff
import requests
import singer_sdk.singerlib as singer
from singer_sdk.authenticators import BasicAuthenticator, BearerTokenAuthenticator
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams import RESTStream
from typing_extensions import override
from urllib3.exceptions import NameResolutionError, NewConnectionError

from tap_zendesk_incremental import responses
from tap_zendesk_incremental.ratelimit import MAX_RESET_WAIT, Pacer, retry_after

if TYPE_CHECKING:
    from collections.abc import Generator

    from backoff.types import Details
    from requests.auth import AuthBase

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


class PacedSession(requests.Session):
    """A session that holds every request, retries included, until the budget allows it."""

    def __init__(self, pacer: Pacer) -> None:
        super().__init__()
        self.pacer = pacer

    @override
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.pacer.before_request()
        stream = kwargs.pop("stream", False)
        response = super().send(request, stream=True, **kwargs)
        self.pacer.after_response(response.headers)
        if not stream:
            # Read a 2 MB export page in one go: `Response.content` reads it in 10 KB steps,
            # which cost more than decoding it. iter_content maps cut bodies, resets and
            # timeouts to the requests errors that are retried.
            response._content = b"".join(response.iter_content(chunk_size=None))
        return response


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pacer = Pacer(int(self.config.get("max_requests_per_minute") or 10), announce=self.log)
        self.retries = 0
        self.rate_limited = 0
        self.declared = frozenset(self.schema["properties"])
        self.undeclared: set[str] = set()
        self.unreachable_since: float | None = None

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
        if response is not None and response.status_code in (429, 503):
            if (seconds := retry_after(response.headers)) is not None:
                return seconds
            if response.status_code == 429:
                return self.pacer.delay() or MAX_RESET_WAIT
        return self.backoff_seconds(attempt)

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
        # conformance is NONE (see TYPE_CONFORMANCE_LEVEL), so skipping it changes nothing.
        if not self.prunes_nothing:
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            if (mapped := stream_map.transform(record)) is not None:
                yield singer.RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )

    def keep_declared_fields(self, record: dict[str, Any]) -> None:
        """Drop top-level fields the schema does not declare, naming new ones once.

        A field Zendesk adds tomorrow must not crash the tap, nor reach a strict target that
        validates records against the SCHEMA it was sent.
        """
        if self.declared.issuperset(record):  # the usual case, without building a set
            return
        names = record.keys() - self.declared
        for name in names:
            del record[name]
        if names - self.undeclared:
            self.undeclared |= names
            self.log(
                "Zendesk sent %s fields this tap's schema does not declare, left out: %s",
                self.name,
                ", ".join(sorted(self.undeclared)),
                level=logging.WARNING,
            )


def describe_error(error: BaseException | None) -> str:
    """One line for a transient failure: what failed and where, never a header or a query."""
    if isinstance(error, RetriableAPIError):
        return str(error)
    where = _host(error)
    if isinstance(error, requests.exceptions.Timeout):
        return f"no answer from Zendesk{where} within `request_timeout`"
    if isinstance(error, requests.exceptions.SSLError):
        return (
            f"the TLS certificate{where} could not be verified (a proxy that re-signs HTTPS "
            "needs its CA in REQUESTS_CA_BUNDLE)"
        )
    if isinstance(error, (requests.exceptions.ConnectionError, ConnectionResetError)):
        return (
            f"cannot connect to Zendesk{where} ({_connect_failure(error)}): check `subdomain` "
            "or `api_url`, and the network"
            if cannot_connect(error)
            else f"the connection to Zendesk{where} failed or was reset (check `subdomain` or "
            "`api_url`, and the network)"
        )
    if isinstance(error, requests.exceptions.RequestException):
        return f"the response from Zendesk{where} was cut short ({type(error).__name__})"
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

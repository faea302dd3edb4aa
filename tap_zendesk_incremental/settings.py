"""The tap's settings: their schema, and the checks that turn a bad value into one clear line."""

from __future__ import annotations

import ipaddress
import re
import time
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from singer_sdk import typing as th

if TYPE_CHECKING:
    from collections.abc import Iterator

FUTURE_SLACK_SECONDS = 60  # clock skew between this machine and whoever wrote the config
SUBDOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "subdomain",
        th.StringType,
        title="Subdomain",
        description="Required (either auth method) unless `api_url` is set. Your Zendesk "
        "subdomain: `acme` for acme.zendesk.com. Letters, digits and hyphens only.",
        examples=["acme"],
    ),
    th.Property(
        "email",
        th.StringType,
        title="Email",
        description="API-token auth: required, with `api_token`. OAuth: leave unset. The "
        "admin's email address.",
        examples=["admin@acme.com"],
    ),
    th.Property(
        "api_token",
        th.StringType,
        secret=True,
        title="API token",
        description="API-token auth: required, with `email`. OAuth: leave unset. A Zendesk API "
        "token (Admin Center > Apps and integrations > Zendesk API), sent as HTTP Basic "
        "`{email}/token:{api_token}`.",
    ),
    th.Property(
        "access_token",
        th.StringType,
        secret=True,
        title="OAuth access token",
        description="OAuth: required, instead of `email` and `api_token`. API-token auth: "
        "leave unset. An OAuth access token, sent as `Bearer`.",
    ),
    th.Property(
        "start_date",
        th.StringType,
        required=True,
        title="Start date",
        description="Required (either auth method). Where the first run starts exporting "
        "(later runs start at the bookmark): an ISO 8601 date or UTC date-time, not in the "
        "future.",
        examples=["2024-01-01", "2024-01-01T00:00:00Z"],
    ),
    th.Property(
        "api_url",
        th.StringType,
        title="API URL",
        description="Optional base URL replacing `https://{subdomain}.zendesk.com` (a proxy, "
        "the local sandbox, tests). https only, except for loopback hosts.",
        examples=["https://zendesk-proxy.internal.example.com", "http://127.0.0.1:8675"],
    ),
    th.Property(
        "exclude_deleted",
        th.BooleanType,
        default=False,
        title="Exclude deleted tickets",
        description="Send `exclude_deleted=true`: deleted tickets are left out of the export "
        "instead of arriving with status `deleted`.",
    ),
    th.Property(
        "per_page",
        th.IntegerType,
        default=1000,
        title="Tickets per page",
        description="Tickets per export page, 1 to 1000. Each page is one request of the "
        "incremental-export budget, so keep the maximum.",
    ),
    th.Property(
        "max_requests_per_minute",
        th.IntegerType,
        default=10,
        title="Max requests per minute",
        description="The incremental-export budget to pace to when Zendesk's responses carry no "
        "rate-limit header: 10, or 30 with the High Volume API add-on.",
    ),
    th.Property(
        "max_retry_seconds",
        th.NumberType,
        default=300,
        title="Max retry seconds",
        description="Total seconds spent retrying one request (5xx, 429, resets, timeouts, "
        "non-JSON bodies) before the run stops with an error; the next run resumes.",
    ),
    th.Property(
        "request_timeout",
        th.NumberType,
        default=120,
        title="Request timeout",
        description="Seconds to wait for Zendesk to answer one request before retrying it.",
    ),
).to_dict()


SECRETS = ("api_token", "access_token")
TEXT_SETTINGS = ("subdomain", "email", *SECRETS, "start_date", "api_url")


def config_problems(config: dict[str, Any]) -> list[str]:
    """Every problem in the config, each as one line that names the setting and the fix."""
    checks = (_text, _location, _auth, _start_date, _ranges)
    return [problem for check in checks for problem in check(config)]


def merge_problems(own: list[str], schema_errors: list[str]) -> list[str]:
    """Our lines, then the JSON-Schema errors about settings that none of our lines names.

    A schema error names its setting as `config['x']` or `'x' is a required property`; ours
    name it first as `` `x` ``: one problem gets one line, ours (it says how to fix it).
    """
    named = {found.group(1) for line in own if (found := re.search(r"`(\w+)`", line))}
    return own + [error for error in schema_errors if not named & _schema_names(error)]


def _schema_names(error: str) -> set[str]:
    found = re.search(r"config\['(\w+)'\]|^'(\w+)' is a required property", error)
    return {name for name in found.groups() if name} if found else set()


def redact(message: str, config: dict[str, Any]) -> str:
    """The message with every secret setting's value masked."""
    for name in SECRETS:
        if value := config.get(name):
            # As JSON-Schema messages quote a value: repr ('abc', 123); never bare substrings.
            message = message.replace(repr(value), "***")
    return message


def _text(config: dict[str, Any]) -> Iterator[str]:
    for name in TEXT_SETTINGS:
        value = config.get(name)
        if value is not None and not isinstance(value, str):
            # Never echo the value: it may be a token that YAML or JSON read as a number.
            yield f"`{name}` must be text, not a {type(value).__name__}: quote it in the config"


def _location(config: dict[str, Any]) -> Iterator[str]:
    api_url, subdomain = config.get("api_url"), config.get("subdomain")
    if api_url:
        if problem := _api_url_problem(str(api_url)):
            yield problem
    elif not subdomain:
        yield "`subdomain` is missing: set it to `acme` for acme.zendesk.com (or set `api_url`)"
    elif not SUBDOMAIN.match(str(subdomain)):
        yield (
            f"`subdomain` {str(subdomain)[:60]!r} is not a Zendesk subdomain: use only the first "
            "label, letters, digits and hyphens (`acme`, not `acme.zendesk.com` or a URL)"
        )


def _api_url_problem(api_url: str) -> str | None:
    url = urlsplit(api_url)
    if url.scheme not in {"http", "https"} or not url.hostname:
        return (
            f"`api_url` {api_url[:80]!r} is not a URL: use e.g. https://zendesk-proxy.example.com"
        )
    if url.username or url.password:
        return "`api_url` must not carry credentials: drop `user:password@`, use auth settings"
    if url.query or url.fragment:
        return "`api_url` must be a base URL without `?query` or `#fragment`"
    if url.scheme == "http" and not _is_loopback(url.hostname):
        return (
            f"`api_url` uses http to {url.hostname}, which would send credentials in clear text: "
            "use https (http is allowed only for 127.0.0.1, ::1 and localhost)"
        )
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _auth(config: dict[str, Any]) -> Iterator[str]:
    email, api_token = config.get("email"), config.get("api_token")
    oauth = bool(config.get("access_token"))
    if (email or api_token) and oauth:
        yield (
            "both `api_token`/`email` and `access_token` are set: keep exactly one way to "
            "authenticate (API token, or OAuth access token)"
        )
    elif not (email or api_token or oauth):
        yield (
            "no credentials: set `email` and `api_token` (API token auth) or `access_token` (OAuth)"
        )
    elif not email and not oauth:
        yield "`email` is missing: API-token auth needs the admin's `email` besides `api_token`"
    elif not api_token and not oauth:
        yield (
            "`api_token` is missing: API-token auth needs an `api_token` besides `email` "
            "(or set `access_token` instead of both)"
        )


def _start_date(config: dict[str, Any]) -> Iterator[str]:
    value = config.get("start_date")
    if value is None or value == "":
        yield "`start_date` is missing: set where the first run starts, e.g. 2024-01-01"
        return
    try:
        start = parse_start_date(str(value))
    except ValueError:
        yield (
            f"`start_date` {str(value)[:40]!r} is not an ISO 8601 date: use 2024-01-01 or "
            "2024-01-01T00:00:00Z"
        )
        return
    if start.timestamp() < 0:
        # Unix seconds start in 1970: Zendesk would refuse a negative start_time.
        yield (
            f"`start_date` {str(value)[:40]!r} is before 1970: use 1970-01-01 or later (the "
            "export has nothing older than the account)"
        )
    elif start.timestamp() > time.time() + FUTURE_SLACK_SECONDS:
        # Zendesk refuses a start_time in the future; a run would export nothing, forever.
        yield (
            f"`start_date` {str(value)[:40]!r} is in the future: set the past date the first "
            "run should export from, e.g. 2024-01-01"
        )


def parse_start_date(value: str) -> datetime:
    """`2024-01-01` or `2024-01-01T00:00:00Z` (UTC unless an offset is given)."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _ranges(config: dict[str, Any]) -> Iterator[str]:
    for name, low, high, unit in (
        ("per_page", 1, 1000, "tickets"),
        ("max_requests_per_minute", 1, 1_000_000, "requests"),
        ("max_retry_seconds", 0, 86_400, "seconds"),
        ("request_timeout", 1, 3_600, "seconds"),
    ):
        value = config.get(name)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, Decimal))  # config files give Decimals
            or not (low <= value <= high)
        ):
            yield f"`{name}` is {value!r}: use a number of {unit} from {low} to {high}"
        elif name in {"per_page", "max_requests_per_minute"} and not float(value).is_integer():
            yield f"`{name}` is {value!r}: use a whole number from {low} to {high}"

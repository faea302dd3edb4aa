"""No credential in any output, at any log level: exports that fail and succeed, with API-token
(Basic) and OAuth (Bearer) auth, logging everything at DEBUG, urllib3's connection log included.

Each run is the installed command against a sandbox whose credentials are distinctive strings;
all of stdout and stderr is searched for them, for the Basic header's base64, and for the header
name. The runs are independent, so a module fixture starts them all at once.
"""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest
from helpers import Run, config_for, run_cli

from tap_zendesk_incremental.sandbox import ZendeskSandbox

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

EMAIL = "secret-admin@example.com"
API_TOKEN = "sEcReT-api-9f8e7d"
ACCESS_TOKEN = "sEcReT-oauth-4c3b2a"
WRONG_API_TOKEN = "sEcReT-wrong-api-7e6d5c"
WRONG_ACCESS_TOKEN = "sEcReT-wrong-oauth-1b0a9f"
URL_PASSWORD = "sEcReT-url-password-5a4b3c"
NUMERIC_TOKEN = 738_291_045_617_283_940


def basic(token: str) -> str:
    return base64.b64encode(f"{EMAIL}/token:{token}".encode()).decode()


SECRETS = (
    API_TOKEN,
    ACCESS_TOKEN,
    WRONG_API_TOKEN,
    WRONG_ACCESS_TOKEN,
    URL_PASSWORD,
    str(NUMERIC_TOKEN),
    basic(API_TOKEN),
    basic(WRONG_API_TOKEN),
)
TICKETS = 600

# Everything at DEBUG, urllib3 and requests by name too, existing loggers left on.
LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s | %(levelname)s | %(name)s | %(message)s"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "plain",
            "level": "DEBUG",
        }
    },
    "root": {"level": "DEBUG", "handlers": ["stderr"]},
    "loggers": {
        name: {"level": "DEBUG"} for name in ("urllib3", "requests", "backoff", "singer_sdk")
    },
}


def auth(kind: str, sb: ZendeskSandbox, *, wrong: bool = False) -> dict[str, Any]:
    if kind == "basic":
        return {"api_token": WRONG_API_TOKEN if wrong else sb.api_token}
    token = WRONG_ACCESS_TOKEN if wrong else sb.access_token
    return {"email": None, "api_token": None, "access_token": token}


def succeeding(kind: str, sb: ZendeskSandbox) -> dict[str, Any]:
    return config_for(sb, per_page=200, **auth(kind, sb))


def wrong_credentials(kind: str, sb: ZendeskSandbox) -> dict[str, Any]:
    return config_for(sb, **auth(kind, sb, wrong=True))


def transient_failures_until_giving_up(kind: str, sb: ZendeskSandbox) -> dict[str, Any]:
    """An HTML 502 from a proxy, a 500 with JSON, then HTML 200 pages until the tap gives up.

    Within 2 s of retrying the tap makes three tries (backoff of 0.5-1 s, then the rest).
    """
    sb.fail_next("html502", 1)
    sb.fail_next("500", 1)
    sb.fail_next("html200", 1000)
    return config_for(sb, max_retry_seconds=2, request_timeout=1, **auth(kind, sb))


EXPORTS: dict[str, Callable[[str, ZendeskSandbox], dict[str, Any]]] = {
    "succeeding": succeeding,
    "wrong-credentials": wrong_credentials,
    "5xx-and-html-until-giving-up": transient_failures_until_giving_up,
}
AUTH_KINDS = ("basic", "bearer")
RUNS = [f"{kind}-{export}" for kind in AUTH_KINDS for export in EXPORTS]
FAILING = [name for name in RUNS if not name.endswith("-succeeding")]
SUCCEEDING = [name for name in RUNS if name.endswith("-succeeding")]
# Settings refused before any request; their messages must not echo a credential either.
URL_WITH_PASSWORD = "api-url-with-a-password"
NUMERIC_API_TOKEN = "api-token-of-the-wrong-type"


def debug_env(folder: Path) -> dict[str, str]:
    log_config = folder / "logging.yml"
    log_config.write_text(json.dumps(LOG_CONFIG))  # JSON is YAML
    return {
        "LOGLEVEL": "DEBUG",
        "TAP_ZENDESK_INCREMENTAL_LOGLEVEL": "DEBUG",
        "SINGER_SDK_LOG_CONFIG": str(log_config),
    }


@dataclass
class Outcome:
    run: Run
    faults: list[str | None] = field(default_factory=list)  # of each request the sandbox saw
    schemes: set[str | None] = field(default_factory=set)  # "basic" or "bearer", as received


def export(name: str, folder: Path) -> Outcome:
    kind, _, scenario = name.partition("-")
    with ZendeskSandbox(
        tickets=TICKETS, seed=4, port=0, email=EMAIL, api_token=API_TOKEN, access_token=ACCESS_TOKEN
    ) as sb:
        config = EXPORTS[scenario](kind, sb)
        run = run_cli(config, folder, env=debug_env(folder), timeout=60)
        return Outcome(run, [r.fault for r in sb.requests], {r.auth_kind for r in sb.requests})


def refused(config: dict[str, Any], folder: Path) -> Outcome:
    return Outcome(run_cli(config, folder, env=debug_env(folder), timeout=60))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every run of this module, run at once."""
    jobs: dict[str, Callable[[], Outcome]] = {
        name: partial(export, name, tmp_path_factory.mktemp(name)) for name in RUNS
    }
    base = {"email": EMAIL, "start_date": "2024-01-01", "max_retry_seconds": 0}
    url_with_password = {
        **base,
        "api_token": API_TOKEN,
        "api_url": f"http://admin:{URL_PASSWORD}@127.0.0.1:9",
    }
    numeric_token = {**base, "api_token": NUMERIC_TOKEN, "api_url": "http://127.0.0.1:9"}
    for name, config in (
        (URL_WITH_PASSWORD, url_with_password),
        (NUMERIC_API_TOKEN, numeric_token),
    ):
        jobs[name] = partial(refused, config, tmp_path_factory.mktemp(name))
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        return {name: future.result(timeout=120) for name, future in futures.items()}


def leaks(run: Run) -> list[str]:
    """The secrets, and the header name, found anywhere in what the run wrote."""
    output = run.stdout + run.stderr
    found = [secret for secret in SECRETS if secret in output]
    if "authorization" in output.lower():
        found.append("Authorization")
    return found


@pytest.mark.parametrize("name", RUNS)
def test_no_credential_in_any_output_of_an_export(name, runs):
    assert leaks(runs[name].run) == []


@pytest.mark.parametrize("name", RUNS)
def test_the_export_logged_at_debug_including_urllib3(name, runs):
    # Otherwise the search above would be over quiet output and prove little.
    assert "| DEBUG | urllib3.connectionpool |" in runs[name].run.stderr
    assert "| DEBUG | singer_sdk" in runs[name].run.stderr


@pytest.mark.parametrize("name", RUNS)
def test_each_export_authenticated_as_configured(name, runs):
    assert runs[name].schemes == {name.partition("-")[0]}


@pytest.mark.parametrize("name", SUCCEEDING)
def test_the_succeeding_exports_exported_every_ticket(name, runs):
    assert runs[name].run.exit_code == 0
    assert len({r["id"] for r in runs[name].run.records()}) == TICKETS


@pytest.mark.parametrize("name", FAILING)
def test_the_failing_exports_failed(name, runs):
    assert runs[name].run.exit_code != 0


@pytest.mark.parametrize("kind", AUTH_KINDS)
def test_the_transient_failures_all_happened_before_giving_up(kind, runs):
    faults = runs[f"{kind}-5xx-and-html-until-giving-up"].faults
    assert faults[:3] == ["html502", "500", "html200"]


def test_a_password_in_api_url_is_not_echoed(runs):
    run = runs[URL_WITH_PASSWORD].run
    assert run.exit_code != 0
    assert "api_url" in run.stderr
    assert leaks(run) == []


def test_a_token_of_the_wrong_type_is_not_echoed(runs):
    run = runs[NUMERIC_API_TOKEN].run
    assert run.exit_code != 0
    assert leaks(run) == []

"""Many Zendesk accounts in one project: `meltano.yml`'s inherited extractors, one per account,
run in parallel by Dagster (dagster-meltano, multiprocess executor) into one PostgreSQL.

Three sandbox accounts on three ports, each with a rate budget of its own (each export mostly
waits for it, as against Zendesk), different sizes and seeds, so that any mix-up shows. The
fast tests check `meltano.yml` itself; the `slow` ones run the README's Dagster definitions.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from postgres_server import PostgresServer, serve
from test_meltano_e2e import (
    DAGSTER_SPEC,
    EXPORT,
    MELTANO_SPEC,
    ROOT,
    Meltano,
    clean_env,
    copy_project,
    free_port,
    log,
    readme_dagster_definitions,
    run,
    tool_venv,
)

from tap_zendesk_incremental.sandbox import Faults, ZendeskSandbox

if TYPE_CHECKING:
    from collections.abc import Iterator

PARENT = "tap-zendesk-incremental"
JOB = "zendesk-accounts-to-postgres"
# account -> (tickets, seed): different sizes, so a mix-up changes the counts
ACCOUNTS = {"acme": (300, 21), "globex": (240, 22), "initech": (180, 23)}
PER_PAGE = 50
# One export request per 5 s for each account: every export waits for its own budget.
RATE_LIMIT, RATE_WINDOW = 1, 5.0


def project_yaml() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))


def accounts(project: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in project["plugins"]["extractors"] if e.get("inherit_from") == PARENT]


# meltano.yml: fast


def test_meltano_yml_defines_the_accounts_as_extractors_inheriting_the_tap() -> None:
    names = [account["name"] for account in accounts(project_yaml())]
    assert names == [f"tap-zendesk-{name}" for name in ACCOUNTS]


def test_each_account_loads_into_a_schema_of_its_own() -> None:
    schemas = [account.get("load_schema") for account in accounts(project_yaml())]
    assert None not in schemas
    assert len(set(schemas)) == len(schemas)


def test_the_accounts_job_runs_each_account_once_into_postgres() -> None:
    project = project_yaml()
    (job,) = [job for job in project["jobs"] if job["name"] == JOB]
    expected = [f"{account['name']} target-postgres" for account in accounts(project)]
    assert job["tasks"] == expected


def test_the_sandbox_environment_gives_each_account_its_own_port() -> None:
    (sandbox,) = [env for env in project_yaml()["environments"] if env["name"] == "sandbox"]
    urls = {
        plugin["name"]: plugin["config"]["api_url"]
        for plugin in sandbox["config"]["plugins"]["extractors"]
    }
    assert len(set(urls.values())) == len(urls) == len(ACCOUNTS) + 1


# Dagster, three sandboxes: slow


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[dict[str, ZendeskSandbox]]:
    started: dict[str, ZendeskSandbox] = {}
    try:
        for name, (tickets, seed) in ACCOUNTS.items():
            budget = Faults(rate_limit=RATE_LIMIT, rate_window=RATE_WINDOW)
            sb = ZendeskSandbox(tickets=tickets, seed=seed, port=0, faults=budget)
            started[name] = sb.start()
        yield started
    finally:
        for sb in started.values():
            sb.stop()


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    yield from serve(free_port())


def accounts_env(sandboxes: dict[str, ZendeskSandbox], meltano_bin: Path) -> dict[str, str]:
    """Each account's own URL and credentials; what they share through the parent's vars."""
    env = clean_env(
        PATH=f"{meltano_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        TAP_ZENDESK_INCREMENTAL_START_DATE="2000-01-01",
        TAP_ZENDESK_INCREMENTAL_PER_PAGE=str(PER_PAGE),
        TAP_ZENDESK_INCREMENTAL_MAX_RETRY_SECONDS="30",
    )
    for name, sb in sandboxes.items():
        prefix = f"TAP_ZENDESK_{name.upper()}_"
        env.update(
            {
                f"{prefix}API_URL": sb.url,
                f"{prefix}EMAIL": sb.email,
                f"{prefix}API_TOKEN": sb.api_token,
            }
        )
    return env


class DagsterRun:
    def __init__(self, meltano: Meltano, output: str, wall: float) -> None:
        self.meltano, self.output, self.wall = meltano, output, wall

    @property
    def steps(self) -> list[str]:
        """`HH:MM:SS op EVENT` for each op's start and end, from Dagster's log lines."""
        events = re.findall(
            r"(\d\d:\d\d:\d\d) [+-]\d{4} - dagster - \w+ - \w+ - [\w-]+ - \d+ - (\w+) - "
            r"(STEP_START|STEP_SUCCESS|STEP_FAILURE)",
            self.output,
        )
        return [" ".join(event) for event in events]


@pytest.fixture(scope="module")
def dagster_run(
    tmp_path_factory: pytest.TempPathFactory,
    sandboxes: dict[str, ZendeskSandbox],
    pg: PostgresServer,
) -> DagsterRun:
    meltano_bin = tool_venv(MELTANO_SPEC, "meltano", tmp_path_factory)
    dagster_bin = tool_venv(DAGSTER_SPEC, "dagster", tmp_path_factory)
    project = copy_project(tmp_path_factory, meltano_bin)
    env = accounts_env(sandboxes, meltano_bin)
    env.update(pg.target_env)
    env["DAGSTER_HOME"] = str(readme_dagster_definitions(project, tmp_path_factory))
    started = datetime.now().astimezone()
    command = [str(dagster_bin / "dagster"), "job", "execute", "-f", "orchestrate/definitions.py"]
    result = run([*command, "-j", JOB.replace("-", "_")], cwd=project, env=env)
    wall = (datetime.now().astimezone() - started).total_seconds()
    return DagsterRun(Meltano(project, meltano_bin, env), result.stdout + result.stderr, wall)


def export_interval(sb: ZendeskSandbox) -> tuple[float, float]:
    """When the account's export requests were served: first and last."""
    times = [r.time for r in sb.requests if r.path.removesuffix(".json") == EXPORT]
    assert times, "no export request reached this account"
    return min(times), max(times)


def stored(pg: PostgresServer, schema: str) -> dict[int, tuple[int, str]]:
    with pg.connect() as connection:
        rows = connection.execute(
            f"SELECT id, generated_timestamp, subject FROM {schema}.tickets"
        ).fetchall()
    return {ticket_id: (gts, subject) for ticket_id, gts, subject in rows}


@pytest.mark.slow
@pytest.mark.parametrize("name", ACCOUNTS)
def test_each_account_loads_exactly_its_own_tickets_into_its_schema(
    name: str, dagster_run: DagsterRun, sandboxes: dict[str, ZendeskSandbox], pg: PostgresServer
) -> None:
    sb = sandboxes[name]
    expected = {i: (t["generated_timestamp"], t["subject"]) for i, t in sb.tickets.items()}
    assert stored(pg, f"zendesk_{name}") == expected


@pytest.mark.slow
@pytest.mark.parametrize("name", ACCOUNTS)
def test_each_account_keeps_its_own_state_at_its_newest_ticket(
    name: str, dagster_run: DagsterRun, sandboxes: dict[str, ZendeskSandbox]
) -> None:
    state = dagster_run.meltano.state(f"prod:tap-zendesk-{name}-to-target-postgres")
    tickets = state["singer_state"]["bookmarks"]["tickets"]
    newest = max(t["generated_timestamp"] for t in sandboxes[name].tickets.values())
    assert tickets["replication_key_value"] == newest


@pytest.mark.slow
def test_dagster_runs_the_accounts_as_separate_ops(dagster_run: DagsterRun) -> None:
    started = set(re.findall(r'Started execution of step "([a-z_]+)"', dagster_run.output))
    assert started == {f"tap_zendesk_{name}_target_postgres" for name in ACCOUNTS}


@pytest.mark.slow
def test_the_accounts_exports_run_at_the_same_time(
    dagster_run: DagsterRun, sandboxes: dict[str, ZendeskSandbox]
) -> None:
    intervals = {name: export_interval(sb) for name, sb in sandboxes.items()}
    first = min(start for start, _ in intervals.values())
    spans = {name: end - start for name, (start, end) in intervals.items()}
    union = max(end for _, end in intervals.values()) - first
    log(
        "exports (s from the first request): "
        + ", ".join(f"{n} {s - first:.1f}-{e - first:.1f}" for n, (s, e) in intervals.items())
        + f"; one account at most {max(spans.values()):.1f} s, all {union:.1f} s,"
        f" one after the other {sum(spans.values()):.1f} s"
    )
    log(f"dagster job wall {dagster_run.wall:.1f} s; steps: {dagster_run.steps}")
    # Every export had started before any of them ended: all three were running at once.
    assert max(start for start, _ in intervals.values()) < min(end for _, end in intervals.values())

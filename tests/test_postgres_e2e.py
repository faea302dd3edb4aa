"""Into a real warehouse: `meltano run zendesk-to-postgres` twice into a throwaway PostgreSQL.

The first run loads the sandbox's tickets and sideload objects; the sandbox then changes
(tickets touched, added, deleted) and the second run starts from the stored state. The tables
must then hold exactly what a fresh full export from the tap holds: one row per id, the newest
version, every column equal (date-times as UTC instants). Those tests are marked `slow` like the
meltano e2e tests, whose virtualenv and project machinery they reuse; the fast ones check the
loader's declaration in `meltano.yml`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
import yaml
from helpers import config_for, run_cli
from postgres_server import PostgresServer, serve
from test_meltano_e2e import (
    MELTANO_SPEC,
    ROOT,
    Meltano,
    clean_env,
    copy_project,
    export_start_times,
    free_port,
    run,
    tap_env,
    tool_venv,
)

from tap_zendesk_incremental.sandbox import ZendeskSandbox
from tap_zendesk_incremental.tap import TapZendeskIncremental

if TYPE_CHECKING:
    from collections.abc import Iterator


def discovered_streams() -> tuple[str, ...]:
    """Every stream the tap has (new ones, such as event streams, are then checked too)."""
    config = {"subdomain": "x", "access_token": "x", "start_date": "2024-01-01"}
    return tuple(TapZendeskIncremental(config=config).streams)


STREAMS = discovered_streams()
STATE_ID = "prod:tap-zendesk-incremental-to-target-postgres"
SCHEMA = "tap_zendesk_incremental"  # the extractor's namespace: meltano's default load_schema


@pytest.fixture(scope="module")
def meltano_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tool_venv(MELTANO_SPEC, "meltano", tmp_path_factory)


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    yield from serve(free_port())


@pytest.fixture(scope="module")
def sb() -> Iterator[ZendeskSandbox]:
    with ZendeskSandbox(tickets=400, seed=13, port=0) as sandbox:
        yield sandbox


@dataclass
class Loads:
    """What the two runs did: the sandbox's changes, the STATEs, the requests of run two."""

    touched: list[int] = field(default_factory=list)
    added: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    first_bookmark: int = 0
    second_start_times: list[int] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    target: Path = Path()  # the target-postgres executable meltano installed
    meltano: Meltano | None = None  # `meltano ...` in the project copy, with the runs' env


@pytest.fixture(scope="module")
def loads(
    tmp_path_factory: pytest.TempPathFactory,
    meltano_bin: Path,
    pg: PostgresServer,
    sb: ZendeskSandbox,
) -> Loads:
    project = copy_project(tmp_path_factory, meltano_bin)
    env = tap_env(sb, meltano_bin, "out-unused")
    env.update(pg.target_env)
    env["TAP_ZENDESK_INCREMENTAL__SELECT"] = json.dumps([f"{stream}.*" for stream in STREAMS])
    # A shell in another time zone must not shift the stored timestamps (meltano.yml sets
    # PGTZ=UTC for the target); nor must the server's (America/New_York).
    env["PGTZ"] = "America/New_York"
    meltano = Meltano(project, meltano_bin, env)
    target = project / ".meltano/loaders/target-postgres/venv/bin/target-postgres"
    done = Loads(target=target, meltano=meltano)
    meltano("run", "zendesk-to-postgres")
    done.first_bookmark = bookmark(meltano.state(STATE_ID))

    ids = sorted(sb.tickets)
    done.touched, done.deleted = ids[3::40], ids[11::90]
    sb.touch(done.touched)
    sb.delete(done.deleted)
    done.added = sb.add_tickets(15)
    served_before = len(sb.requests)
    meltano("run", "zendesk-to-postgres")
    done.second_start_times = export_start_times(sb, served_before)
    done.state = meltano.state(STATE_ID)
    return done


def bookmark(state: dict[str, Any]) -> int:
    return state["singer_state"]["bookmarks"]["tickets"]["replication_key_value"]


@pytest.fixture(scope="module")
def exported(
    loads: Loads, sb: ZendeskSandbox, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[int, dict[str, Any]]]:
    """A fresh full export by the tap, after the changes: stream -> id -> record."""
    config = config_for(sb)
    catalog = TapZendeskIncremental(config=config).catalog_dict
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = True
    catalog_file = tmp_path_factory.mktemp("export") / "catalog.json"
    catalog_file.write_text(json.dumps(catalog), encoding="utf-8")
    run = run_cli(config, catalog_file.parent, args=("--catalog", str(catalog_file)))
    assert run.exit_code == 0, run.stderr
    return {stream: {r["id"]: r for r in run.records(stream)} for stream in STREAMS}


def table(pg: PostgresServer, stream: str) -> list[dict[str, Any]]:
    """Every row of the stream's table, `timestamp` columns read as UTC instants."""
    with pg.connect() as connection:
        columns = connection.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (SCHEMA, stream),
        ).fetchall()
        assert columns, f"no table {SCHEMA}.{stream}"
        select = ", ".join(
            f'"{name}" AT TIME ZONE \'UTC\' AS "{name}"'
            if kind == "timestamp without time zone"
            else f'"{name}"'
            for name, kind in columns
        )
        cursor = connection.execute(f'SELECT {select} FROM {SCHEMA}."{stream}"')
        names = [column.name for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def as_loaded(value: Any) -> Any:
    """A record's value as it reads back from Postgres (date-times as aware datetimes)."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", value):
        return datetime.fromisoformat(value)
    if isinstance(value, float):
        return Decimal(str(value))
    return value


def differences(row: dict[str, Any], record: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Columns whose stored value differs from the record's (the `_sdc_*` columns aside)."""
    names = {name for name in row if not name.startswith("_sdc_")} | set(record)
    found = {}
    for name in names:
        stored, expected = row.get(name), as_loaded(record.get(name))
        if isinstance(stored, Decimal) and isinstance(expected, Decimal):
            stored = stored.normalize()
            expected = expected.normalize()
        if stored != expected:
            found[name] = (stored, expected)
    return found


# meltano.yml's loader: fast


def loader() -> dict[str, Any]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (found,) = [p for p in project["plugins"]["loaders"] if p["name"] == "target-postgres"]
    return found


def test_the_postgres_loader_is_a_pinned_custom_plugin() -> None:
    plugin = loader()
    assert "variant" not in plugin  # no Meltano Hub lookup on `meltano install`
    assert re.fullmatch(r"meltanolabs-target-postgres==[\d.]+", plugin["pip_url"])


def test_the_postgres_loader_always_loads_in_utc() -> None:
    assert loader()["env"] == {"PGTZ": "UTC"}


def test_the_postgres_credentials_are_sensitive() -> None:
    settings = {s["name"]: s for s in loader()["settings"]}
    assert {name for name, s in settings.items() if s.get("sensitive")} == {
        "password",
        "sqlalchemy_url",
    }


@pytest.mark.slow
def test_the_declared_settings_are_the_targets_own_with_its_defaults(loads: Loads) -> None:
    about = json.loads(
        run([str(loads.target), "--about", "--format=json"], cwd=ROOT, env=clean_env()).stdout
    )
    known = about["settings"]["properties"]
    for setting in loader()["settings"]:
        assert setting["name"] in known, setting["name"]
        if "value" in setting:
            assert known[setting["name"]].get("default") == setting["value"], setting["name"]


@pytest.mark.slow
def test_meltano_config_list_masks_the_postgres_password(loads: Loads, pg: PostgresServer) -> None:
    assert loads.meltano
    listed = loads.meltano("config", "list", "target-postgres")
    output = listed.stdout + listed.stderr
    assert "password" in output
    assert pg.target_env["TARGET_POSTGRES_PASSWORD"] not in output


# The loads: slow


@pytest.mark.slow
def test_the_second_run_starts_from_the_stored_bookmark(loads: Loads) -> None:
    assert loads.second_start_times, "the second run sent no export request"
    assert loads.second_start_times[0] == loads.first_bookmark


@pytest.mark.slow
def test_the_stored_bookmark_is_the_newest_ticket_version(loads: Loads, sb: ZendeskSandbox) -> None:
    newest = max(ticket["generated_timestamp"] for ticket in sb.tickets.values())
    assert bookmark(loads.state) == newest > loads.first_bookmark


@pytest.mark.slow
def test_one_row_per_ticket_holding_its_newest_version(
    loads: Loads, pg: PostgresServer, sb: ZendeskSandbox
) -> None:
    rows = table(pg, "tickets")
    assert len(rows) == len({row["id"] for row in rows}) == len(sb.tickets)
    stored = {row["id"]: row["generated_timestamp"] for row in rows}
    assert stored == {i: t["generated_timestamp"] for i, t in sb.tickets.items()}
    assert all(stored[i] > loads.first_bookmark for i in loads.touched + loads.added)


@pytest.mark.slow
def test_deleted_tickets_stay_as_rows_with_status_deleted(loads: Loads, pg: PostgresServer) -> None:
    rows = {row["id"]: row for row in table(pg, "tickets")}
    assert {rows[i]["status"] for i in loads.deleted} == {"deleted"}
    # `_sdc_deleted_at` is the target's soft delete on ACTIVATE_VERSION, which the tap never sends.
    assert all(row["_sdc_deleted_at"] is None for row in rows.values())


@pytest.mark.slow
@pytest.mark.parametrize("stream", STREAMS)
def test_every_column_equals_what_the_tap_exported(
    stream: str, pg: PostgresServer, exported: dict[str, dict[int, dict[str, Any]]]
) -> None:
    rows = {row["id"]: row for row in table(pg, stream)}
    assert set(rows) == set(exported[stream])
    assert exported[stream], f"the export holds no {stream}"
    mismatched = {
        key: found
        for key, record in exported[stream].items()
        if (found := differences(rows[key], record))
    }
    assert not mismatched, (
        f"{len(mismatched)} {stream} differ, e.g. {next(iter(mismatched.items()))}"
    )


@pytest.mark.slow
def test_timestamps_are_stored_as_utc_wall_time(
    loads: Loads, pg: PostgresServer, sb: ZendeskSandbox
) -> None:
    """Read back without any time-zone conversion, `created_at` is the UTC date-time Zendesk sent,
    although the server runs in America/New_York and the loading shell had PGTZ set to it."""
    some = sorted(sb.tickets)[:50]
    with pg.connect() as connection:
        connection.execute("SET TIME ZONE 'America/New_York'")
        rows = connection.execute(
            f'SELECT id, to_char(created_at, \'YYYY-MM-DD"T"HH24:MI:SS"Z"\') FROM {SCHEMA}.tickets'
            " WHERE id = ANY(%s)",
            (some,),
        ).fetchall()
    assert dict(rows) == {i: sb.tickets[i]["created_at"] for i in some}


@pytest.mark.slow
def test_json_null_is_jsonb_null_not_sql_null(
    loads: Loads, pg: PostgresServer, sb: ZendeskSandbox
) -> None:
    unrated = sum(1 for t in sb.tickets.values() if t["satisfaction_rating"] is None)
    assert unrated, "the sandbox has no ticket without a satisfaction rating"
    with pg.connect() as connection:
        count = connection.execute
        sql_null = count(f"SELECT count(*) FROM {SCHEMA}.tickets WHERE satisfaction_rating IS NULL")
        json_null = count(
            f"SELECT count(*) FROM {SCHEMA}.tickets WHERE satisfaction_rating = 'null'::jsonb"
        )
        assert (sql_null.fetchone(), json_null.fetchone()) == ((0,), (unrated,))


@pytest.mark.slow
def test_arrays_of_objects_are_jsonb_arrays_read_with_unnest(
    loads: Loads, pg: PostgresServer, sb: ZendeskSandbox
) -> None:
    items = sum(len(t["custom_fields"] or ()) for t in sb.tickets.values())
    with pg.connect() as connection:
        kind = connection.execute(
            "SELECT data_type, udt_name FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = 'tickets' AND column_name = 'custom_fields'",
            (SCHEMA,),
        ).fetchone()
        assert kind == ("ARRAY", "_jsonb")
        unnested = connection.execute(
            f"SELECT count(*) FROM {SCHEMA}.tickets, unnest(custom_fields) AS field"
        ).fetchone()
        assert unnested == (items,)
        with pytest.raises(psycopg.errors.UndefinedFunction):
            connection.execute(f"SELECT jsonb_array_elements(custom_fields) FROM {SCHEMA}.tickets")


def readme_queries() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- postgres-queries:start -->\n```sql\n(.*?)```", readme, re.DOTALL)
    assert block, "README.md has no postgres-queries block"
    return [query.strip() for query in block.group(1).split(";") if query.strip()]


@pytest.mark.slow
def test_the_readme_queries_run_and_return_rows(loads: Loads, pg: PostgresServer) -> None:
    queries = readme_queries()
    assert len(queries) >= 3
    with pg.connect() as connection:
        for query in queries:
            assert connection.execute(query).fetchall(), f"no rows from the README's: {query}"


def history_queries() -> list[str]:
    """The example SQL of the README's ticket history section, statement by statement."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Ticket history and comments", 1)[1].split("\n## ", 1)[0]
    sql = section.split("```sql", 1)[1].split("```", 1)[0]
    return [statement.strip() for statement in sql.split(";") if statement.strip()]


@pytest.mark.slow
def test_the_ticket_history_queries_run_on_the_loaded_tables(
    loads: Loads, pg: PostgresServer
) -> None:
    del loads  # the tables it loaded
    status_durations, first_replies = history_queries()
    with pg.connect() as connection:
        connection.execute(f"SET search_path TO {SCHEMA}")
        durations = connection.execute(status_durations).fetchall()
        replies = connection.execute(first_replies).fetchall()
    assert durations  # one row per status change
    assert any(row[2] is not None for row in durations)  # a status that was left again
    assert all(row[1] for row in durations)
    assert replies is not None

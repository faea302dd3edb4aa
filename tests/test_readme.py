"""The documents agree with the code: README settings table, meltano.yml settings, `.ci/run`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tap_zendesk_incremental.sandbox.__main__ import parse_args
from tap_zendesk_incremental.sandbox.data import FIRST_GTS
from tap_zendesk_incremental.settings import CONFIG_SCHEMA, parse_start_date
from tap_zendesk_incremental.tap import TapZendeskIncremental

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def between(text: str, name: str) -> str:
    """The text between `<!-- name:start -->` and `<!-- name:end -->`, stripped."""
    found = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", text, re.DOTALL)
    assert found, f"README.md has no <!-- {name}:start --> ... <!-- {name}:end --> block"
    return found.group(1).strip()


def fenced_command(text: str, name: str) -> str:
    """The single command line in the fenced code block between the `name` markers."""
    block = between(text, name)
    lines = [line for line in block.splitlines() if not line.startswith("```")]
    assert len(lines) == 1, f"the {name} block must hold exactly one command line: {lines}"
    return lines[0].strip()


def own_settings() -> dict[str, dict]:
    """The tap's own settings, without those the SDK appends (in place) for its capabilities."""
    builtin: dict = {"type": "object", "properties": {}}
    TapZendeskIncremental.append_builtin_config(builtin)
    return {
        name: schema
        for name, schema in CONFIG_SCHEMA["properties"].items()
        if name not in builtin["properties"]
    }


def own_extractor(extractors: list[dict]) -> list[dict]:
    """The tap's own entry, not the accounts that inherit from it."""
    return [plugin for plugin in extractors if plugin["name"] == "tap-zendesk-incremental"]


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def about_markdown() -> str:
    result = subprocess.run(
        [sys.executable, "-m", "tap_zendesk_incremental", "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout


def section_table(markdown: str, heading: str) -> str:
    """The markdown table (or list) right under `## heading` in the `--about` output."""
    section = markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith(("|", "- "))]
    return "\n".join(lines)


def test_readme_settings_table_is_the_about_output(readme: str, about_markdown: str) -> None:
    expected = section_table(about_markdown, "Settings")
    assert expected.startswith("| Setting |")
    assert between(readme, "settings") == expected, (
        "README.md's settings table is out of date: paste the table from "
        "`tap-zendesk-incremental --about --format=markdown` between the settings markers"
    )


def test_readme_capabilities_are_the_about_output(readme: str, about_markdown: str) -> None:
    assert between(readme, "capabilities") == section_table(about_markdown, "Capabilities")


def test_meltano_yml_settings_mirror_the_tap_settings() -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (extractor,) = own_extractor(project["plugins"]["extractors"])
    declared = {setting["name"]: setting for setting in extractor["settings"]}
    properties = own_settings()

    assert list(declared) == list(properties)
    for name, schema in properties.items():
        setting = declared[name]
        assert bool(setting.get("sensitive")) == bool(schema.get("secret")), name
        assert setting.get("kind"), f"{name} has no kind"
        if "default" in schema:
            assert setting.get("value") == schema["default"], name


def test_meltano_yml_kinds_match_the_schema_types() -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (extractor,) = own_extractor(project["plugins"]["extractors"])
    kinds = {setting["name"]: setting["kind"] for setting in extractor["settings"]}
    # `number` settings are `integer` in meltano.yml: meltano 4.4.1 cannot pass a `decimal`
    # setting read from an env var to the tap (Decimal is not JSON serializable).
    allowed = {
        "string": {"string", "password"},
        "boolean": {"boolean"},
        "integer": {"integer"},
        "number": {"integer"},
    }
    for name, schema in own_settings().items():
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        (json_type,) = [t for t in types if t != "null"]
        assert kinds[name] in allowed[json_type], (name, kinds[name], json_type)


def test_ci_runs_exactly_the_readme_test_command(readme: str) -> None:
    command = fenced_command(readme, "test-command")
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [
        line.strip()
        for line in script.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0] == "set -euo pipefail"
    assert lines[1].startswith("cd ")
    assert lines[-1] == command
    # In between, only installing PostgreSQL's server programs where they are missing.
    assert all("postgresql" in line or line == "fi" for line in lines[2:-1]), lines[2:-1]


def test_readme_quickstart_uses_the_declared_job_and_environment(readme: str) -> None:
    command = fenced_command(readme, "quickstart")
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    assert "meltano --environment=sandbox run zendesk-to-jsonl" in command
    assert "zendesk-to-jsonl" in [job["name"] for job in project["jobs"]]
    assert "sandbox" in [environment["name"] for environment in project["environments"]]


def test_meltano_sandbox_environment_matches_the_sandbox_defaults() -> None:
    """`meltano --environment=sandbox` reaches `python -m tap_zendesk_incremental.sandbox`."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (environment,) = [env for env in project["environments"] if env["name"] == "sandbox"]
    (extractor,) = own_extractor(environment["config"]["plugins"]["extractors"])
    config = extractor["config"]
    defaults = parse_args([])
    assert config["api_url"] == f"http://127.0.0.1:{defaults.port}"
    assert config["email"] == defaults.email
    assert config["api_token"] == defaults.api_token
    assert parse_start_date(config["start_date"]).timestamp() <= FIRST_GTS


def test_meltano_yml_declares_every_capability_of_the_tap(about_markdown: str) -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (extractor,) = own_extractor(project["plugins"]["extractors"])
    about = section_table(about_markdown, "Capabilities").replace("`", "").replace("- ", "")
    assert extractor["capabilities"] == about.splitlines()
    assert "structured-logging" in extractor["capabilities"]


def test_the_readme_meltano_extractor_block_matches_meltano_yml(readme: str) -> None:
    block = between(readme, "meltano-extractor").removeprefix("```yaml").removesuffix("```")
    (documented,) = yaml.safe_load(block)
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (extractor,) = own_extractor(project["plugins"]["extractors"])
    for key in ("name", "namespace", "executable", "capabilities", "select"):
        assert documented[key] == extractor[key], key
    assert "variant" not in documented  # a custom plugin: no Meltano Hub lookup
    keys = ("name", "kind", "sensitive", "value")
    assert [{k: s.get(k) for k in keys} for s in documented["settings"]] == [
        {k: s.get(k) for k in keys} for s in extractor["settings"]
    ]


# Every file or folder the README's commands create, and a name that the README uses for it.
CREATED = {
    ".venv/": ".venv/bin",
    ".venv-meltano/": ".venv-meltano",
    ".venv-dagster/": ".venv-dagster",
    ".venv-target/": ".venv-target",
    ".meltano/": ".meltano/",
    "output/": "output/tickets.jsonl",
    "plugins/": "plugins",
    ".env": ".env",
    "config.json": "config.json",
    "target.json": "target.json",
    "state.json": "state.json",
    "state.new.json": "state.new.json",
    "cron.log": "cron.log",
    ".dagster/": ".dagster",
    "orchestrate/": "orchestrate/definitions.py",
    "dist/": "dist/",
}


def test_gitignore_covers_every_file_the_readme_creates(readme: str) -> None:
    for path, mention in CREATED.items():
        assert mention in readme, f"README no longer mentions {mention}: update CREATED"
        inside = f"{path}any-file" if path.endswith("/") else path  # a folder: what is in it
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", "--no-index", inside], cwd=ROOT, check=False
        )
        assert ignored.returncode == 0, f"{path} is not git-ignored"

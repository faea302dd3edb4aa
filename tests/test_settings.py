"""Each bad setting is one line naming the problem and the fix."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tap_zendesk_incremental.settings import config_problems, merge_problems

GOOD = {
    "subdomain": "acme",
    "email": "admin@acme.com",
    "api_token": "t0ken",
    "start_date": "2024-01-01",
}


def with_(**changes):
    config = {**GOOD, **changes}
    return {key: value for key, value in config.items() if value is not None}


@pytest.mark.parametrize(
    "config",
    [
        GOOD,
        with_(start_date="2024-01-01T00:00:00Z"),
        with_(start_date="2024-01-01T00:00:00+02:00"),
        with_(subdomain="acme-eu-2"),
        with_(subdomain=None, api_url="https://zendesk-proxy.example.com/"),
        with_(subdomain=None, api_url="http://127.0.0.1:8675"),
        with_(subdomain=None, api_url="http://localhost:8675"),
        with_(subdomain=None, api_url="http://[::1]:8675"),
        with_(email=None, api_token=None, access_token="oauth"),
        with_(per_page=1, max_requests_per_minute=30),
    ],
)
def test_good_configs_have_no_problem(config):
    assert config_problems(config) == []


@pytest.mark.parametrize(
    ("config", "names"),
    [
        (with_(subdomain=None), ["`subdomain` is missing", "api_url"]),
        (with_(subdomain="acme.zendesk.com"), ["not a Zendesk subdomain", "`acme`"]),
        (with_(subdomain="evil.com/x"), ["not a Zendesk subdomain"]),
        (with_(subdomain="https://acme.zendesk.com"), ["not a Zendesk subdomain"]),
        (with_(access_token="oauth"), ["exactly one way"]),
        (with_(email=None, api_token=None), ["no credentials", "access_token"]),
        (with_(api_token=None), ["`api_token` is missing"]),
        (with_(email=None), ["`email` is missing"]),
        (with_(start_date=None), ["`start_date` is missing", "2024-01-01"]),
        (with_(start_date="yesterday"), ["not an ISO 8601 date", "2024-01-01"]),
        (with_(start_date="2024-13-01"), ["not an ISO 8601 date"]),
        (with_(per_page=0), ["`per_page`", "1 to 1000"]),
        (with_(per_page=5000), ["`per_page`", "1 to 1000"]),
        (with_(per_page=2.5), ["`per_page`", "whole number"]),
        (with_(max_requests_per_minute=0), ["`max_requests_per_minute`"]),
        (with_(api_url="http://zendesk-proxy.example.com"), ["clear text", "https"]),
        (with_(api_url="http://10.0.0.5"), ["clear text"]),
        (with_(api_url="https://user:pw@proxy.example.com"), ["credentials"]),
        (with_(api_url="ftp://proxy.example.com"), ["not a URL"]),
    ],
)
def test_bad_config_is_one_line_that_names_the_setting_and_the_fix(config, names):
    problems = config_problems(config)
    assert problems, config
    assert "\n" not in problems[0]
    for name in names:
        assert name in problems[0]


def test_a_start_date_in_the_future_is_a_problem_naming_it():
    (problem,) = config_problems(with_(start_date="2099-01-01"))
    assert "`start_date` '2099-01-01' is in the future" in problem


def test_a_start_date_within_the_clock_skew_slack_is_fine():
    soon = datetime.now(timezone.utc) + timedelta(seconds=30)
    assert config_problems(with_(start_date=soon.isoformat())) == []


def test_every_problem_is_reported_at_once_one_line_each():
    problems = config_problems({"per_page": 0, "request_timeout": 0})
    assert [problem.split(" ", 1)[0] for problem in problems] == [
        "`subdomain`",
        "no",  # no credentials
        "`start_date`",
        "`per_page`",
        "`request_timeout`",
    ]
    assert all("\n" not in problem for problem in problems)


def test_a_missing_api_token_names_only_the_api_token():
    (problem,) = config_problems(with_(api_token=None))
    assert problem.startswith("`api_token` is missing")
    assert "`email` too" not in problem


def test_a_missing_email_names_only_the_email():
    (problem,) = config_problems(with_(email=None))
    assert problem.startswith("`email` is missing")


def test_schema_errors_about_a_setting_already_named_are_left_out():
    own = config_problems(with_(start_date=None))
    schema = [
        "'start_date' is a required property",
        "'yes' is not of type 'boolean', 'null' in config['exclude_deleted']",
    ]
    assert merge_problems(own, schema) == [*own, schema[1]]


@pytest.mark.parametrize("value", ["1969-12-31", "0001-01-01T00:00:00Z"])
def test_a_start_date_before_1970_is_a_problem_naming_it(value):
    (problem,) = config_problems(with_(start_date=value))
    assert "`start_date`" in problem
    assert "before 1970" in problem

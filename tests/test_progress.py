"""What a person watching the run reads: one line per page and one summary, nothing per record."""

from __future__ import annotations

import re

from helpers import config_for, run_cli

from tap_zendesk_incremental.progress import Progress, duration
from tap_zendesk_incremental.ratelimit import RateLimit
from tap_zendesk_incremental.sandbox import ZendeskSandbox

PAGE_LINE = re.compile(
    r"Page (\d+): (\d+) tickets so far, position \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "
    r"\((\w+) behind now\), rate budget left ([\d?/]+|unknown), caught up in (.+)$"
)
SUMMARY = re.compile(
    r"Export finished: (\d+) tickets, (\d+) pages, (\d+) duplicates dropped, (\d+) retries, "
    r"(\d+) rate-limited \(429\), [\d.]+ seconds"
)


def test_each_page_logs_one_line_and_the_run_one_summary(tmp_path):
    with ZendeskSandbox(tickets=1000, seed=4, port=0) as sb:
        sb.faults.rate_limit = 1000
        sb.fail_next("502")
        run = run_cli(config_for(sb, per_page=100, max_retry_seconds=10), tmp_path)
    assert run.exit_code == 0, run.stderr
    pages = [m for line in run.stderr.splitlines() if (m := PAGE_LINE.search(line))]
    assert len(pages) >= 5
    assert [int(m.group(1)) for m in pages] == list(range(1, len(pages) + 1))
    assert int(pages[-1].group(2)) == 1000
    assert pages[-1].group(4).endswith("/1000")
    summary = [m for line in run.stderr.splitlines() if (m := SUMMARY.search(line))]
    assert len(summary) == 1
    tickets, page_count, _, retries, _ = map(int, summary[0].groups())
    assert (tickets, page_count, retries) == (1000, len(pages), 1)


def test_no_line_is_logged_per_record(tmp_path):
    with ZendeskSandbox(tickets=1000, seed=4, port=0) as sb:
        run = run_cli(config_for(sb, per_page=1000), tmp_path)
    assert run.exit_code == 0
    assert len(run.stderr.splitlines()) < 30


def test_the_estimate_comes_from_the_recent_pace():
    clock = iter([0.0, 10.0, 20.0]).__next__
    wall = lambda: 1_000_000.0  # noqa: E731
    progress = Progress(clock=clock, wall=wall)
    progress.page_done(1_000_000 - 4000, 100, None)
    line = progress.page_done(1_000_000 - 3000, 100, RateLimit(remaining=7, resets=30, total=10))
    # 1,000 s of export per 10 s of run, 3,000 s behind: about 30 s to go.
    assert "caught up in about 30s" in line
    assert "rate budget left 7/10" in line
    assert "(50m behind now)" in line


def test_durations_read_like_a_person_writes_them():
    assert [duration(s) for s in (5, 125, 7500, 90 * 86400)] == ["5s", "2m", "2h05m", "90d"]

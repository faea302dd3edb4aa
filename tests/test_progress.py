"""What a person watching the run reads: one line per page and one summary, nothing per record."""

from __future__ import annotations

import re

from helpers import config_for, run_cli

from tap_zendesk_incremental.progress import Progress, duration
from tap_zendesk_incremental.ratelimit import Pacer, RateLimit
from tap_zendesk_incremental.sandbox import ZendeskSandbox

PAGE_LINE = re.compile(
    r"Page (\d+): (\d+) tickets so far, position \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "
    r"\((\w+) behind now\), rate budget left ([\d?/]+|unknown), (at most about \w+ left "
    r"\(the time to reach now at the recent pace, waits included\)|time left: .+)$"
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
    # 1,000 s of export per 10 s of run, 3,000 s behind: at most about 30 s to go.
    assert "at most about 30s left (the time to reach now at the recent pace" in line
    assert "rate budget left 7/10" in line
    assert "(50m behind now)" in line


def test_durations_read_like_a_person_writes_them():
    assert [duration(s) for s in (5, 125, 7500, 90 * 86400)] == ["5s", "2m", "2h05m", "90d"]


def test_the_first_page_claims_no_estimate():
    progress = Progress(clock=lambda: 0.0, wall=lambda: 1_000_000.0)
    line = progress.page_done(1_000_000 - 4000, 100, None)
    assert line.endswith("time left: estimated from the next page on")


def seconds(text: str) -> float:
    """`45s`, `12m`, `3h20m`, `41d` back to seconds."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([dhms])", text))


def estimates_with_one_wait(pages_before_wait: int, wait: float) -> list[float]:
    """Seconds left per page: pages 0.1 s apart, each 1 day of position, one wait between."""
    day = 86_400
    now = [0.0]
    wall = 400 * day
    progress = Progress(per_minute=10, clock=lambda: now[0], wall=lambda: wall)
    estimates = []
    for page in range(1, 2 * pages_before_wait + 1):
        now[0] += wait if page == pages_before_wait + 1 else 0.1
        line = progress.page_done(page * day, 1000, RateLimit(remaining=0, resets=1, total=10))
        if match := re.search(r"at most about (\w+) left", line):
            estimates.append(seconds(match.group(1)))
    return estimates


def test_one_wait_for_the_rate_budget_does_not_make_the_estimate_jump():
    # Ten requests at once, then the minute's wait, then ten more: the pattern of a rate limit.
    estimates = estimates_with_one_wait(pages_before_wait=10, wait=59.0)
    assert len(estimates) == 19
    assert max(estimates) / min(estimates) < 1.5, estimates


def test_the_estimate_follows_a_pace_slower_than_the_budget():
    # A page every 60 s with a budget of 10 a minute: the server, not the budget, is the limit.
    progress = Progress(per_minute=10, clock=iter([0.0, 60.0, 120.0]).__next__, wall=lambda: 10_000)
    progress.page_done(1000, 10, None)
    line = progress.page_done(1100, 10, None)
    # 100 s of position per 60 s of run, 8,900 s behind: 5,340 s, i.e. 1h29m.
    assert "at most about 1h29m left" in line


class AnnouncingPacer(Pacer):
    """A pacer on a fake clock that records what it announces instead of logging it."""

    def __init__(self, per_minute: int, zendesk_header: str | None = None) -> None:
        self.now, self.said = 0.0, []
        super().__init__(
            per_minute, clock=lambda: self.now, sleep=self.wait, announce=self.said.append
        )
        if zendesk_header:
            self.after_response({"Zendesk-RateLimit-incremental-exports": zendesk_header})

    def wait(self, seconds: float) -> None:
        self.now += seconds


def test_a_long_wait_for_the_budget_is_announced_before_it_starts():
    pacer = AnnouncingPacer(10, "total=10; remaining=0; resets=42")
    pacer.before_request()
    assert pacer.said == [
        "Waiting 42 s for the rate budget: Zendesk says 0 of 10 incremental-export requests "
        "are left until its window resets"
    ]
    assert pacer.now == 42


def test_a_wait_paced_by_the_setting_names_the_setting():
    pacer = AnnouncingPacer(2)
    for _ in range(3):
        pacer.before_request()
    assert len(pacer.said) == 1
    assert pacer.said[0].startswith("Waiting 61 s for the rate budget: 2 requests sent in the")
    assert "`max_requests_per_minute`" in pacer.said[0]


def test_a_short_wait_is_not_announced():
    pacer = AnnouncingPacer(10, "total=10; remaining=0; resets=2")
    pacer.before_request()
    assert pacer.said == []
    assert pacer.now == 2


def test_the_run_logs_the_wait_for_the_budget_at_info(tmp_path):
    with ZendeskSandbox(tickets=300, seed=4, port=0) as sb:
        sb.faults.rate_limit = 2
        sb.faults.rate_window = 6.0
        run = run_cli(config_for(sb, per_page=100), tmp_path)
    assert run.exit_code == 0, run.stderr
    waits = [line for line in run.stderr.splitlines() if "for the rate budget" in line]
    assert waits, run.stderr
    assert all("| INFO" in line for line in waits)
    assert re.search(r"Waiting [56] s for the rate budget: Zendesk says 0 of 2 ", waits[0])
    assert sb.count_429 == 0

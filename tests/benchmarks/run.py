"""Speed, memory and request counts of the tap against the sandbox, next to a stdlib floor.

    python tests/benchmarks/run.py [--tickets 20000,200000] [--repeat 1] [--seed 7]
                                   [--also DIR ...] [--count-all] [--no-json]
                                   [--events 200000]

For each size: a sandbox with that many tickets (pages encoded once and served from memory,
warmed by an untimed pass), then, alternating `--repeat` times, the floor (`floor.py`) and the
tap, each a fresh process timed from start to exit with stdout to /dev/null (best run kept).
The tap's peak RSS and CPU time come from its own rusage (wait4); its requests from the
sandbox's request log. One more tap run at the first size (or every size with
`--count-all`) captures stdout to count STATE messages and check each ticket came once.
`--also DIR` times another copy of the tap package side by side, in the same alternation.
`--events N,...` measures the ticket event export too, at these sizes: a sandbox of N tickets
holds N events (a Create each); the floor reads the same event pages, the tap runs with only
`ticket_events` selected. `--tickets ''` skips the tickets sizes.
Prints a table and writes it as JSON to tests/benchmarks/results/<UTC timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import (
    PER_PAGE,
    RESULTS,
    Measured,
    check,
    count_messages,
    environment,
    floor_command,
    floor_counts,
    git_info,
    hold_all_pages,
    run_measured,
    tap_command,
    timestamp,
    warm_up,
    write_config,
)

from tap_zendesk_incremental.sandbox import ZendeskSandbox
from tap_zendesk_incremental.tap import TapZendeskIncremental

RATIO_MEANING = (
    "ratio = tap seconds / floor seconds, wall clock, process start to exit "
    "(<= 1.0: the tap is at least as fast as the floor); cpu ratio = the same with CPU seconds"
)


def sizes(text: str) -> list[int]:
    """`20000,200000` -> [20000, 200000]."""
    values = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    if values and min(values) <= 0:
        msg = "give ticket counts above 0, comma separated"
        raise argparse.ArgumentTypeError(msg)
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=sizes, default=[20_000, 200_000], help="sizes")
    parser.add_argument("--events", type=sizes, default=[], help="ticket event export sizes")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per size (best kept)")
    parser.add_argument("--seed", type=int, default=7, help="sandbox data seed")
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="a directory holding another copy of the `tap_zendesk_incremental` package (a "
        "scratch edit): timed side by side with the installed tap, first on its PYTHONPATH",
    )
    parser.add_argument(
        "--count-all", action="store_true", help="count STATE messages at every size"
    )
    parser.add_argument("--no-json", action="store_true", help="do not write results/*.json")
    args = parser.parse_args(argv)
    for directory in args.also:
        if not (directory / "tap_zendesk_incremental" / "__init__.py").is_file():
            parser.error(f"--also {directory}: no tap_zendesk_incremental package in it")
    return args


@dataclass
class Tap:
    """One copy of the tap to time: the installed one, or a directory put first on the path."""

    label: str
    env: dict[str, str] | None
    runs: list[Measured] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    repeats: list[int] = field(default_factory=list)
    messages: dict[str, Any] | None = None


def taps_to_time(also: list[Path]) -> list[Tap]:
    taps = [Tap("tap", None)]
    for directory in also:
        path = os.pathsep.join(
            filter(None, [str(directory.resolve()), os.environ.get("PYTHONPATH")])
        )
        taps.append(Tap(directory.name, {**os.environ, "PYTHONPATH": path}))
    return taps


def events_catalog(config: Path, directory: Path) -> Path:
    """A catalog selecting only `ticket_events`."""
    found = TapZendeskIncremental(config=json.loads(config.read_text())).catalog_dict
    for stream in found["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] == "ticket_events"
    path = directory / "catalog.json"
    path.write_text(json.dumps(found))
    return path


def measure_size(
    tickets: int, args: argparse.Namespace, *, count: bool, export: str = "tickets"
) -> list[dict[str, Any]]:
    """Floor and tap(s) at one size, on one sandbox whose pages are already encoded."""
    print(f"-- {tickets:,} {export}: building the sandbox", file=sys.stderr, flush=True)
    taps = taps_to_time(args.also)
    floors: list[Measured] = []
    with (
        ZendeskSandbox(tickets=tickets, seed=args.seed, port=0) as sandbox,
        tempfile.TemporaryDirectory() as scratch,
    ):
        config = write_config(sandbox, Path(scratch))
        catalog = events_catalog(config, Path(scratch)) if export != "tickets" else None
        cached = hold_all_pages(sandbox)
        # Untimed: every page into the sandbox's cache, both programs' files into the OS's.
        warm_up(sandbox, export)
        check(run_measured([sys.executable, "-c", "import json, http.client"]), "python")
        for tap in taps:
            about = [*tap_command(config)[:-2], "--about"]
            check(run_measured(about, env=tap.env), f"{tap.label} --about (warm-up)")

        for attempt in range(args.repeat):
            print(f"   timed run {attempt + 1}/{args.repeat}", file=sys.stderr, flush=True)
            floors.append(check(run_measured(floor_command(sandbox, export)), "floor"))
            for tap in taps:
                before = len(sandbox.requests)
                command = tap_command(config, catalog)
                tap.runs.append(check(run_measured(command, env=tap.env), tap.label))
                sent = sandbox.requests[before:]
                tap.requests.append(len(sent))
                distinct = {(r.path, tuple(sorted(r.params.items()))) for r in sent}
                tap.repeats.append(len(sent) - len(distinct))

        if count:
            print("   counting messages", file=sys.stderr, flush=True)
            for tap in taps:
                with tempfile.TemporaryFile() as output:
                    command = tap_command(config, catalog)
                    check(run_measured(command, stdout=output, env=tap.env), tap.label)
                    output.seek(0)
                    tap.messages = count_messages(output)

    floor = min(floors, key=lambda run: run.seconds)
    floor_records, pages = floor_counts(floor)
    rows = []
    for tap in taps:
        best = min(tap.runs, key=lambda run: run.seconds)
        rows.append(
            {
                "tap": tap.label,
                "tap_pythonpath": tap.env["PYTHONPATH"] if tap.env else None,
                "export": export,
                "tickets": tickets,  # = events with `export` ticket_events
                "pages": pages,
                "page_cache_holds_all": cached,
                "floor_records": floor_records,
                "floor_seconds": round(floor.seconds, 3),
                "floor_cpu_seconds": round(floor.cpu_seconds, 3),
                "floor_records_per_second": round(floor_records / floor.seconds),
                "tap_seconds": round(best.seconds, 3),
                "tap_cpu_seconds": round(best.cpu_seconds, 3),
                "tap_records_per_second": round(tickets / best.seconds),
                "ratio": round(best.seconds / floor.seconds, 3),
                "cpu_ratio": round(best.cpu_seconds / floor.cpu_seconds, 3),
                "tap_peak_rss_mib": round(max(run.max_rss_mib for run in tap.runs), 1),
                "tap_requests": tap.requests[0],
                "tap_requests_per_1000_tickets": round(tap.requests[0] * 1000 / tickets, 3),
                "tap_repeated_requests": tap.repeats[0],
                "all_floor_seconds": [round(run.seconds, 3) for run in floors],
                "all_tap_seconds": [round(run.seconds, 3) for run in tap.runs],
                "all_tap_requests": tap.requests,
                "messages": tap.messages,
            }
        )
    return rows


COLUMNS = (
    ("tap", "tap", "{}"),
    ("export", "export", "{}"),
    ("records", "tickets", "{:,}"),
    ("pages", "pages", "{:,}"),
    ("floor s", "floor_seconds", "{:.2f}"),
    ("floor rec/s", "floor_records_per_second", "{:,}"),
    ("floor cpu s", "floor_cpu_seconds", "{:.2f}"),
    ("tap s", "tap_seconds", "{:.2f}"),
    ("tap rec/s", "tap_records_per_second", "{:,}"),
    ("ratio", "ratio", "{:.2f}"),
    ("tap cpu s", "tap_cpu_seconds", "{:.2f}"),
    ("cpu ratio", "cpu_ratio", "{:.2f}"),
    ("peak RSS MiB", "tap_peak_rss_mib", "{:.1f}"),
    ("requests", "tap_requests", "{:,}"),
    ("req/1k tickets", "tap_requests_per_1000_tickets", "{:.2f}"),
    ("repeats", "tap_repeated_requests", "{:,}"),
    ("STATE", "state_messages", "{:,}"),
)


def table(rows: list[dict[str, Any]]) -> str:
    """A plain text table, one line per size and tap."""
    cells = [[title for title, _, _ in COLUMNS]]
    for row in rows:
        states = (row["messages"] or {}).get("by_type", {}).get("STATE")
        values = {**row, "state_messages": states}
        cells.append(
            ["-" if values[key] is None else form.format(values[key]) for _, key, form in COLUMNS]
        )
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True))
        for line in cells
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = [
        row
        for index, tickets in enumerate(args.tickets)
        for row in measure_size(tickets, args, count=args.count_all or index == 0)
    ]
    rows += [
        row
        for index, events in enumerate(args.events)
        for row in measure_size(
            events, args, count=args.count_all or index == 0, export="ticket_events"
        )
    ]
    result = {
        "timestamp": timestamp(),
        "git": git_info(),
        "environment": environment(),
        "settings": {"seed": args.seed, "repeat": args.repeat, "per_page": PER_PAGE},
        "ratio_meaning": RATIO_MEANING,
        "sizes": rows,
    }
    print(table(rows))
    print(RATIO_MEANING)
    for label, export in dict.fromkeys((row["tap"], row["export"]) for row in rows):
        mine = [row for row in rows if row["tap"] == label and row["export"] == export]
        first, last = mine[0], mine[-1]
        if last is not first:
            growth = last["tap_peak_rss_mib"] - first["tap_peak_rss_mib"]
            print(
                f"{label}: peak RSS {first['tap_peak_rss_mib']:.1f} MiB at {first['tickets']:,}"
                f" -> {last['tap_peak_rss_mib']:.1f} MiB at {last['tickets']:,} {export}"
                f" ({growth:+.1f})"
            )
        for row in mine:
            if messages := row["messages"]:
                once = messages["records"] == messages["unique_ids"] == row["tickets"]
                print(
                    f"{label}: {row['tickets']:,} {export}: messages {messages['by_type']}; "
                    f"each exactly once: {'yes' if once else 'NO'}"
                )
    changed = result["git"]["uncommitted"]
    print(f"commit {result['git']['commit'][:12]}", end="")
    print(f" + uncommitted: {', '.join(changed)}" if changed else "")
    if not args.no_json:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{result['timestamp']}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

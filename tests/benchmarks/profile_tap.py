"""Profile the tap with cProfile against a warm sandbox, and print where the time goes.

    python tests/benchmarks/profile_tap.py [--tickets 50000] [--seed 7] [--top 30]

Writes tests/benchmarks/results/profile-<UTC timestamp>.prof (open it with `python -m pstats`
or snakeviz) and prints the top functions by own time and by cumulative time.
"""

from __future__ import annotations

import argparse
import pstats
import sys
import tempfile
from pathlib import Path

from harness import (
    RESULTS,
    check,
    hold_all_pages,
    run_measured,
    tap_command,
    timestamp,
    warm_up,
    write_config,
)

from tap_zendesk_incremental.sandbox import ZendeskSandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)

    RESULTS.mkdir(exist_ok=True)
    output = RESULTS / f"profile-{timestamp()}.prof"
    with (
        ZendeskSandbox(tickets=args.tickets, seed=args.seed, port=0) as sandbox,
        tempfile.TemporaryDirectory() as scratch,
    ):
        config = write_config(sandbox, Path(scratch))
        hold_all_pages(sandbox)
        warm_up(sandbox)
        # The installed command is a Python script: cProfile runs it as one.
        profiled = [sys.executable, "-m", "cProfile", "-o", str(output), *tap_command(config)]
        run = check(run_measured(profiled), "tap under cProfile")
    print(f"{args.tickets:,} tickets under cProfile: {run.seconds:.2f} s; written {output}")
    stats = pstats.Stats(str(output))
    stats.strip_dirs().sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())

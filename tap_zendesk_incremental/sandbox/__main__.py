"""`python -m tap_zendesk_incremental.sandbox`: serve a sandbox account until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

from tap_zendesk_incremental.sandbox.faults import RATE_HEADER_STYLES, SAME_SECOND_MODES, Faults
from tap_zendesk_incremental.sandbox.server import ZendeskSandbox

if TYPE_CHECKING:
    from collections.abc import Sequence


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tap_zendesk_incremental.sandbox",
        description="A local Zendesk Support account serving the incremental ticket exports.",
    )
    parser.add_argument("--tickets", type=int, default=5000, help="tickets to generate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    parser.add_argument("--port", type=int, default=8675, help="port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--same-second", type=int, default=0, metavar="N",
                        help="add one second holding N tickets (the same-second trap)")
    parser.add_argument("--same-second-mode", choices=SAME_SECOND_MODES, default="grow",
                        help="a full page of one second: grow it (documented) or stall (observed)")
    parser.add_argument("--email", default="admin@example.com")
    parser.add_argument("--api-token", default="sandbox-api-token")
    parser.add_argument("--access-token", default="sandbox-oauth-token")
    parser.add_argument("--rate-limit", type=int, default=None, metavar="N",
                        help="export requests allowed per window (default: unlimited)")
    parser.add_argument("--rate-window", type=float, default=60.0, metavar="SECONDS")
    parser.add_argument("--rate-headers", choices=RATE_HEADER_STYLES, default="zendesk")
    parser.add_argument("--fail-rate", type=float, default=0.0, metavar="F",
                        help="share of export requests failing with a random transient fault")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    faults = Faults(fail_rate=args.fail_rate, same_second=args.same_second_mode,
                    rate_limit=args.rate_limit, rate_window=args.rate_window,
                    rate_headers=args.rate_headers)
    try:
        sandbox = ZendeskSandbox(
            tickets=args.tickets, seed=args.seed, port=args.port, host=args.host,
            email=args.email, api_token=args.api_token, access_token=args.access_token,
            same_second_tickets=args.same_second, faults=faults,
        )
    except (ValueError, OSError) as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    started = time.perf_counter()
    with sandbox:
        print(f"Zendesk sandbox at {sandbox.url} email={sandbox.email} "
              f"api_token={sandbox.api_token} access_token={sandbox.access_token} "
              f"tickets={len(sandbox.tickets)}", flush=True)
        while not stop.wait(0.5):
            pass
    print(f"sandbox stopped after {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

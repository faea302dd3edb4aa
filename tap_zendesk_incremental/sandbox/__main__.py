"""`python -m tap_zendesk_incremental.sandbox`: serve a sandbox account until SIGINT or SIGTERM.

With `-- <command...>` after the options it serves only while that command runs, and exits
with the command's exit code.
"""

from __future__ import annotations

import argparse
import errno
import signal
import subprocess
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
        epilog="After the options, `-- COMMAND [ARG ...]` serves only while COMMAND runs and "
        "exits with its exit code.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--tickets", type=int, default=5000, help="tickets to generate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    parser.add_argument("--port", type=int, default=8675, help="port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument(
        "--same-second",
        type=int,
        default=0,
        metavar="N",
        help="add one second holding N tickets (the same-second trap)",
    )
    parser.add_argument(
        "--same-second-mode",
        choices=SAME_SECOND_MODES,
        default="grow",
        help="a full page of one second: grow it (documented) or stall (observed)",
    )
    parser.add_argument("--email", default="admin@example.com", help="the admin's email")
    parser.add_argument("--api-token", default="sandbox-api-token", help="the API token")
    parser.add_argument(
        "--access-token", default="sandbox-oauth-token", help="the OAuth access token"
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=None,
        metavar="N",
        help="export requests allowed per window; not given: unlimited, no rate headers",
    )
    parser.add_argument(
        "--rate-window",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="length of the rate-limit window",
    )
    parser.add_argument(
        "--rate-headers",
        choices=RATE_HEADER_STYLES,
        default="zendesk",
        help="rate-limit headers sent: Zendesk-RateLimit-*, ratelimit-*, or none",
    )
    parser.add_argument(
        "--fail-rate",
        type=float,
        default=0.0,
        metavar="F",
        help="share of export requests failing with a random transient fault",
    )
    parser.add_argument(
        "--hostile",
        action="store_true",
        help="mix lone surrogates, huge numbers, odd types and new fields into the data",
    )
    parser.add_argument(
        "--trickle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="pause between 64-byte chunks of every page (a trickling proxy)",
    )
    parser.add_argument(
        "--retry-after", default=None, metavar="VALUE", help="Retry-After value sent with 429s"
    )
    parser.add_argument(
        "--proxy",
        choices=("echo", "redirect", "loop", "shift"),
        default=None,
        help="a proxy in front: echo the Authorization header in 502s, redirect away, loop, "
        "redirect to a start_time an hour later",
    )
    return parser.parse_args(argv)


def split_command(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """The sandbox's own options, and the command after `--` (empty when there is none)."""
    argv = list(argv)
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1 :]


def run_while_serving(command: list[str], stop: threading.Event) -> int:
    """Run `command` while the sandbox serves; its exit code (128+N if killed by signal N)."""
    try:
        child = subprocess.Popen(command)  # noqa: S603 - the user's own command line
    except OSError as error:
        print(f"sandbox: cannot run {command[0]!r}: {error}", file=sys.stderr)
        return 127
    while True:
        try:
            code = child.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            if stop.is_set():  # SIGTERM (or SIGINT) for us: pass it on, then wait for the end
                child.terminate()
                code = child.wait()
            else:
                continue
        return 128 - code if code < 0 else code


def _why_not(error: OSError, host: str, port: int) -> str:
    """Why the sandbox cannot listen, and what to do about it."""
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is taken (another sandbox still running?): serve on another "
            "with --port N (0: any free port) and point the tap's `api_url` at it, e.g. "
            "TAP_ZENDESK_INCREMENTAL_API_URL=http://127.0.0.1:N"
        )
    return f"cannot listen on {host}:{port}: {error.strerror or error}"


def main(argv: Sequence[str] | None = None) -> int:
    options, command = split_command(sys.argv[1:] if argv is None else argv)
    args = parse_args(options)
    faults = Faults(
        fail_rate=args.fail_rate,
        same_second=args.same_second_mode,
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        rate_headers=args.rate_headers,
        hostile=args.hostile,
        trickle_seconds=args.trickle,
        retry_after_value=args.retry_after,
        proxy=args.proxy,
    )
    try:
        sandbox = ZendeskSandbox(
            tickets=args.tickets,
            seed=args.seed,
            port=args.port,
            host=args.host,
            email=args.email,
            api_token=args.api_token,
            access_token=args.access_token,
            same_second_tickets=args.same_second,
            faults=faults,
        )
    except OSError as error:
        print(f"sandbox: {_why_not(error, args.host, args.port)}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    started = time.perf_counter()
    with sandbox:
        print(
            f"Zendesk sandbox at {sandbox.url} email={sandbox.email} "
            f"api_token={sandbox.api_token} access_token={sandbox.access_token} "
            f"tickets={len(sandbox.tickets)}",
            flush=True,
        )
        if command:
            return run_while_serving(command, stop)
        while not stop.wait(0.5):
            pass
    print(f"sandbox stopped after {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The floor: the least a plain Python loop does to export the same pages as the tap.

Standard library only. Fetches the time-based export from `start_time`, follows `next_page`
until `end_of_stream`, decodes each page with `json.loads` and writes every ticket as a Singer
RECORD line (`json.dumps`) to stdout. One keep-alive connection, as the tap's session has.

    python floor.py BASE_URL EMAIL API_TOKEN START_TIME PER_PAGE [EXPORT] > /dev/null

EXPORT is `tickets` (default) or `ticket_events`: the export's path and its page's array.

Prints `records pages` to stderr at the end.
"""

from __future__ import annotations

import base64
import http.client
import json
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Iterator

EXPORT_PATH = "/api/v2/incremental/{export}"


def pages(
    base_url: str,
    email: str,
    api_token: str,
    start_time: int,
    per_page: int,
    export: str = "tickets",
) -> Iterator[dict[str, Any]]:
    """Every page of the time-based export from `start_time`, decoded, up to end_of_stream."""
    base = urlsplit(base_url)
    credentials = base64.b64encode(f"{email}/token:{api_token}".encode()).decode()
    headers = {"Authorization": f"Basic {credentials}", "Accept": "application/json"}
    connection = http.client.HTTPConnection(base.hostname or "127.0.0.1", base.port)
    path = f"{base.path.rstrip('/')}{EXPORT_PATH.format(export=export)}"
    target = f"{path}?start_time={start_time}&per_page={per_page}"
    try:
        while True:
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
            body = response.read()
            if response.status != http.client.OK:
                msg = f"HTTP {response.status} for {target}: {body[:200]!r}"
                raise RuntimeError(msg)
            page = json.loads(body)
            yield page
            if page["end_of_stream"]:
                return
            following = urlsplit(page["next_page"])
            target = f"{following.path}?{following.query}"
    finally:
        connection.close()


def main(argv: list[str]) -> int:
    base_url, email, api_token, start_time, per_page, *rest = argv
    export = rest[0] if rest else "tickets"
    write = sys.stdout.write
    dumps = json.dumps
    records = count = 0
    for page in pages(base_url, email, api_token, int(start_time), int(per_page), export):
        count += 1
        for item in page[export]:
            write(dumps({"type": "RECORD", "stream": export, "record": item}) + "\n")
            records += 1
    sys.stdout.flush()
    sys.stderr.write(f"{records} {count}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

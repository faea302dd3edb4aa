"""The HTTP side: a threading HTTP/1.1 server on loopback that hands requests to the `Api`.

It also carries out the faults that need the socket: a reset connection, a truncated body.
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from tap_zendesk_incremental.sandbox.api import Request, RequestRecord, auth_kind

if TYPE_CHECKING:
    from tap_zendesk_incremental.sandbox.api import Api, Response


TRICKLE_CHUNK = 64  # bytes per chunk of a trickled body


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: Api | None = None) -> None:
        self.api = api
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End kept-alive connections, or their threads would go on serving after stop()."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its handler
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up (or being hung up on by a fault) is routine here, not an error.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Zendesk behind its load balancers
    server_version = "ZendeskSandbox/1.0"
    timeout = 75  # seconds an idle keep-alive connection is kept, as nginx does by default
    server: SandboxServer

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, *args: object) -> None:
        """Silence the default one-line-per-request log on stderr."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:  # every route is GET-only: other methods get the 404
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)  # keep the connection usable for the next request
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        authorization = self.headers.get("Authorization")
        api = self.server.api
        assert api is not None
        arrived = time.time()
        response = api.handle(Request(self.command, parts.path, params, authorization))
        # Recorded before the answer leaves, so a client that has it also sees the record.
        api.record(
            RequestRecord(
                self.command,
                parts.path,
                params,
                response.status,
                arrived,
                auth_kind(authorization),
                response.fault,
            )
        )
        self._deliver(response)

    def _deliver(self, response: Response) -> None:
        if response.fault == "reset":
            self._reset()
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("X-Zendesk-Request-Id", secrets.token_hex(16))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        body = response.body
        if response.fault == "truncated":  # full Content-Length announced, half sent
            body = body[: len(body) // 2]
            self.close_connection = True
        if response.trickle_seconds > 0:
            self._trickle(body, response.trickle_seconds)
            return
        self.wfile.write(body)

    def _trickle(self, body: bytes, pause: float) -> None:
        """A body dribbled out in small chunks, as a slow proxy or a bad link delivers it."""
        for start in range(0, len(body), TRICKLE_CHUNK):
            self.wfile.write(body[start : start + TRICKLE_CHUNK])
            self.wfile.flush()
            time.sleep(pause)

    def _reset(self) -> None:
        # SO_LINGER 0 makes close() send a RST: the client sees "connection reset by peer".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.rfile.close()  # drop the file's reference, or close() would not close the socket
        self.connection.close()


def loopback_host(host: str) -> str:
    """The IPv4 loopback address to bind; anything else is refused (no traffic leaves)."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.IPv4Address(host)
    except ipaddress.AddressValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ValueError(f"the sandbox only listens on IPv4 loopback (127.0.0.0/8), not {host!r}")
    return host

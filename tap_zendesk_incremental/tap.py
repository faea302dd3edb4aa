"""The Zendesk incremental-export tap: settings, streams, and one-line errors."""

from __future__ import annotations

import contextlib
import errno
import gc
import io
import os
import sys
from functools import cached_property
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn

import click
import requests
from singer_sdk import Tap
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError
from singer_sdk.helpers._util import load_json
from singer_sdk.plugin_base import _ConfigInput
from singer_sdk.singerlib import RecordMessage, StateMessage
from typing_extensions import override

from tap_zendesk_incremental.bookmark import StateError, check_state
from tap_zendesk_incremental.children import PageChildStream
from tap_zendesk_incremental.client import ZendeskStream, describe_error
from tap_zendesk_incremental.events import TicketCommentsStream, TicketEventsStream
from tap_zendesk_incremental.files import UnreadableFileError, read_json_object
from tap_zendesk_incremental.ratelimit import Pacer
from tap_zendesk_incremental.settings import (
    CONFIG_SCHEMA,
    config_problems,
    merge_problems,
    redact,
)
from tap_zendesk_incremental.sideloads import (
    GroupsStream,
    OrganizationsStream,
    TicketMetricSetsStream,
    UsersStream,
)
from tap_zendesk_incremental.signals import DeferredSignals
from tap_zendesk_incremental.streams import TicketsStream

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

GC_THRESHOLD = 100_000  # allocations between young-generation collections
HELD_BYTES = 32 * 2**20  # records held back for the STATE that covers them, at most
RESUME_HINT = "the next run resumes from the last STATE"


class OutputError(Exception):
    """The tap's output cannot be written: the run cannot go on."""


class SingerOutput(MsgSpecWriter):
    """The SDK's msgspec encoder, flushed with each STATE instead of after every record.

    Whatever a crash loses from the buffer is records *and* the STATE after them, so the last
    STATE a target saw never covers a record it did not get. A message is written whole: a
    stop requested while one is being written (`defer`) runs before the next message, so the
    STATE it writes starts on a line of its own and covers the record just written. Output
    failures become one `OutputError`, after which the output is dropped (stdout goes to
    /dev/null, so exiting raises nothing more).
    """

    def __init__(self) -> None:
        super().__init__()
        self.writing = False
        self.deferred: Callable[[], None] | None = None
        self.failed = False
        self.held = bytearray()  # records not yet written: they go out with the next STATE

    @override
    def write_message(self, message: Any) -> None:
        if self.deferred is not None:
            # A stop came while the last message was being written. Run it now, not right
            # after that write: the SDK has since moved the bookmark past that record, so the
            # STATE the stop writes covers it.
            deferred, self.deferred = self.deferred, None
            deferred()
        if self.failed:
            return
        data = self.format_message(message)
        if isinstance(message, RecordMessage) and len(self.held) + len(data) <= HELD_BYTES:
            # Records wait for the STATE that covers them and go out with it in one write: a
            # `kill -9` then leaves the target the last STATE and nothing after it, so the next
            # run repeats nothing (a page is a few MB; more than HELD_BYTES goes out early).
            self.held += data
            return
        self.writing = True
        try:
            out = sys.stdout
            if out is None:
                self._fail("the tap's standard output is closed (started with `>&-`?)")
            if self.held:
                self.held += data
                data, self.held = self.held, bytearray()
            write_all(out.buffer, data)
            if isinstance(message, StateMessage):
                out.flush()
        except BrokenPipeError:
            self._fail("the target stopped reading the tap's output (broken pipe)")
        except OSError as error:
            if error.errno == errno.ENOSPC:
                self._fail("no space left on the device the tap's output is written to")
            self._fail(f"writing the tap's output failed: {error.strerror or error}")
        finally:
            self.writing = False

    def defer(self, action: Callable[[], None]) -> None:
        """Run `action` before the next message (the one being written goes out whole)."""
        self.deferred = action

    def _fail(self, reason: str) -> NoReturn:
        self.failed = True
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        raise OutputError(f"{reason}; {RESUME_HINT} the target received")


def write_all(buffer: BinaryIO, data: bytes | bytearray) -> None:
    """Write every byte: a signal handled mid-write makes `write` return a short count.

    No memoryview: `data` is the SDK's shared encoding buffer, which an export would lock
    against the next message (the STATE a deferred stop writes).
    """
    written = buffer.write(data)
    while written < len(data):
        written += buffer.write(data[written:])


class TapZendeskIncremental(Tap):
    """Zendesk Support tickets through the time-based Incremental Ticket Export."""

    name = "tap-zendesk-incremental"
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = SingerOutput
    resumed: frozenset[str] = frozenset()  # the streams the STATE given had an entry for

    @override
    def discover_streams(self) -> list[ZendeskStream]:
        tickets = TicketsStream(self)
        sideloads = (UsersStream, GroupsStream, OrganizationsStream, TicketMetricSetsStream)
        events = TicketEventsStream(self)
        return [
            tickets,
            *(stream(self, tickets) for stream in sideloads),
            events,
            TicketCommentsStream(self, events),
        ]

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # The SDK's JSON-Schema pass also fills in the defaults; our checks come first in the
        # report because each names the setting and the fix. Schema messages quote values, so
        # secrets are masked in them. Asked to raise, the SDK logs no extra "Config validation
        # failed" WARNING.
        try:
            found = super()._validate_config(raise_errors=True)
        except ConfigValidationError as error:
            found = error.errors
        schema_errors = [redact(e, self._config) for e in found]
        errors = merge_problems(config_problems(self._config), schema_errors)
        if errors and raise_errors:
            raise ConfigValidationError(errors[0], errors=errors)
        return errors

    @override
    def load_state(self, state: dict[str, Any]) -> None:
        # Before the first request: a bookmark that cannot be resumed from stops the run here.
        checked = check_state(state)
        for level, message in checked.notes:
            self.logger.log(level, "%s", message)
        self.resumed = frozenset(checked.state.get("bookmarks") or {})
        super().load_state(checked.state)

    @cached_property
    def pacer(self) -> Pacer:
        """The one pacer of every stream's requests, retries included: all incremental
        exports of an account share one budget (10 a minute, 30 with High Volume)."""
        per_minute = int(self.config.get("max_requests_per_minute") or 10)
        return Pacer(per_minute, announce=self.logger.info)

    @cached_property
    def signals(self) -> DeferredSignals:
        """SIGTERM/SIGINT held while a record and its STATE entry are written."""
        return DeferredSignals(self._handle_termination)

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        # The SDK writes the STATE, then exits 0; a stopped export is not a success to a
        # scheduler, so exit as a shell reports a signal (143 for SIGTERM, 130 for SIGINT).
        # Mid-message, the stop waits for the message's end. A second signal then stops at
        # once, without a STATE: the last one the target got is still right.
        writer = self.message_writer
        if isinstance(writer, SingerOutput) and writer.writing:
            if writer.deferred is not None:
                raise SystemExit(128 + signum)
            writer.defer(lambda: self._handle_termination(signum, frame))
            return
        if self.signals.arrived(signum, frame):
            return  # handled when the record being written and its STATE entry are done
        try:
            super()._handle_termination(signum, frame)
        except SystemExit:
            raise SystemExit(128 + signum) from None

    @override
    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Run the tap; an error the user can fix ends it with one line and exit code 1."""
        # A decoded export page is ~30,000 new objects: at Python's default threshold the
        # collector ran ~40 times a page and took a quarter of the CPU, finding no cycles to
        # free. Collect less often, for this command's run only.
        thresholds = gc.get_threshold()
        gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
        try:
            super().invoke(*args, **kwargs)
        except ConfigValidationError as error:
            for problem in error.errors or [str(error)]:  # all of them: fixed in one go
                cls.logger.error("Invalid configuration: %s", problem)
            sys.exit(1)
        except (StateError, FatalAPIError) as error:
            cls._fail(str(error))
        except (RetriableAPIError, requests.exceptions.RequestException) as error:
            cls._fail(f"Gave up after retrying: {describe_error(error)}; {RESUME_HINT}")
        except OutputError as error:
            cls._fail(f"Stopped: {error}")
        finally:
            gc.set_threshold(*thresholds)

    @override
    def sync_all(self) -> None:
        if not any(stream.selected for stream in self.streams.values()):
            # Exit 0 with no output at all would look like "nothing new in Zendesk".
            self.logger.warning(
                "Nothing to export: the catalog selects no stream; select `tickets` "
                "(in Meltano: `select: [tickets.*]`)"
            )
        self.warn_new_children()
        super().sync_all()

    def warn_new_children(self) -> None:
        """Say that a stream written from its parent's pages, selected for the first time
        after its parent has a bookmark, gets nothing from the pages exported before."""
        resumed = self.resumed
        for stream in self.streams.values():
            if not isinstance(stream, PageChildStream) or not stream.selected:
                continue
            parent = stream.parent.name
            if stream.name not in resumed and parent in resumed:
                self.logger.warning(
                    "%s is selected for the first time with this STATE: it is written from "
                    "the %s pages read from the %s bookmark on, so nothing of what was "
                    "exported before comes; to fill it in, run once with a STATE without "
                    "the %s bookmark (from `start_date`; its items are then written again)",
                    stream.name,
                    parent,
                    parent,
                    parent,
                )

    # The files named on the command line: an unreadable one is one ERROR line, exit 1.

    @override
    @classmethod
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> Any:
        # Each file read once, here: `--config <(...)` is a pipe, empty on a second read.
        config: dict[str, Any] = {}
        for path in value:
            if path != "ENV":
                config |= load_json(cls._read_or_fail(path, "config file"))
        return _ConfigInput(config=config, parse_env="ENV" in value)  # what the SDK's makes

    @override
    @classmethod
    def get_singer_command(cls) -> click.Command:
        command = super().get_singer_command()
        for param in command.params:
            if param.name in {"state", "catalog"}:
                # Opened by the tap, not by click: click's answer is usage text, exit 2.
                param.type, param.callback = click.STRING, cls.cb_json_file
        return command

    @classmethod
    def cb_json_file(
        cls, ctx: click.Context, param: click.Parameter, value: str | None
    ) -> io.StringIO | None:
        """The `--state` or `--catalog` file, as the SDK's `invoke` reads it."""
        del ctx  # click's callback signature
        if value is None:
            return None
        return io.StringIO(cls._read_or_fail(value, f"{param.name} file"))

    @classmethod
    def _read_or_fail(cls, path: str, what: str) -> str:
        try:
            return read_json_object(path, what)
        except UnreadableFileError as error:
            cls._fail(str(error))

    @classmethod
    def _fail(cls, message: str) -> NoReturn:
        cls.logger.error("%s", message)
        sys.exit(1)


if __name__ == "__main__":
    TapZendeskIncremental.cli()

"""SIGTERM and SIGINT held back while a record and the STATE that covers it are written.

The SDK's handler writes a STATE the moment a signal arrives. Between writing a ticket's RECORD
and recording it in the STATE, that STATE would miss the ticket (the next run writes it again,
outside the bookmark's second); in the middle of writing a line it would split it. Inside
`held()` the signal is only noted, and handled as soon as the block ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType


class DeferredSignals:
    """Defers a signal handler while code runs inside `held()` (re-entrant)."""

    def __init__(self, handle: Callable[[int, FrameType | None], None]) -> None:
        self.handle = handle
        self.depth = 0
        self.pending: tuple[int, FrameType | None] | None = None

    def arrived(self, signum: int, frame: FrameType | None) -> bool:
        """Note a signal; True when it must wait for the end of the current block."""
        if self.depth:
            self.pending = (signum, frame)
            return True
        return False

    def held(self) -> DeferredSignals:
        """`with signals.held():` a block during which signals wait (once per record: cheap)."""
        return self

    def __enter__(self) -> None:
        self.depth += 1

    def __exit__(self, *exc_info: object) -> None:
        self.depth -= 1
        if not self.depth and self.pending is not None:
            signum, frame = self.pending
            self.pending = None
            self.handle(signum, frame)

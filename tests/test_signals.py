"""SIGTERM/SIGINT wait while a record and its STATE entry are written, then are handled."""

from __future__ import annotations

import signal

from tap_zendesk_incremental.signals import DeferredSignals


def test_a_signal_inside_a_held_block_is_handled_when_the_block_ends():
    handled = []
    signals = DeferredSignals(lambda signum, frame: handled.append(signum))
    with signals.held():
        assert signals.arrived(signal.SIGTERM, None)
        assert handled == []
    assert handled == [signal.SIGTERM]


def test_a_signal_outside_a_held_block_is_handled_at_once():
    signals = DeferredSignals(lambda signum, frame: None)
    assert not signals.arrived(signal.SIGTERM, None)


def test_nested_blocks_hold_the_signal_until_the_outermost_ends():
    handled = []
    signals = DeferredSignals(lambda signum, frame: handled.append(signum))
    with signals.held():
        with signals.held():
            signals.arrived(signal.SIGINT, None)
        assert handled == []
    assert handled == [signal.SIGINT]

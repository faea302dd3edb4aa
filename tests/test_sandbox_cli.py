"""The sandbox's command line: what it says when it cannot start, and what --help shows."""

from __future__ import annotations

import socket

import pytest

from tap_zendesk_incremental.sandbox.__main__ import main


def test_a_taken_port_names_the_option_to_use_instead(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["--tickets", "10", "--port", str(port)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"port {port} on 127.0.0.1 is taken" in err
    assert "--port N" in err
    assert "api_url" in err
    assert "Errno" not in err
    assert len(err.strip().splitlines()) == 1


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for default in (
        "(default: 5000)",
        "(default: 8675)",
        "(default: 127.0.0.1)",
        "(default: admin@example.com)",
        "(default: sandbox-api-token)",
        "(default: sandbox-oauth-token)",
        "(default: 60.0)",
        "(default: zendesk)",
    ):
        assert default in text

"""The JSON files named on the command line (config, state, catalog): read, or say why not."""

from __future__ import annotations

import json
import sys
from pathlib import Path

# What to do about each kind of file that cannot be read.
FIXES = {
    "config file": "fix the file, or point --config at the right one",
    "state file": "put back the last good STATE, or leave out --state to start at `start_date`",
    "catalog file": "write it again with `tap-zendesk-incremental --config ... --discover`",
}
JSON_TYPES = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


class UnreadableFileError(ValueError):
    """A file the tap was told to read that cannot be used; the message is one line."""


def read_json_object(path: str, what: str) -> str:
    """The text of `path`, checked to be one JSON object; else UnreadableFileError.

    The text is returned, not the object: the SDK parses it its own way (numbers as Decimal).
    Messages name the file and the problem, never the content (a config file holds tokens).
    """
    # `-` is standard input, as click's File type (which the SDK used) reads it.
    text, problem = (sys.stdin.read(), None) if path == "-" else _read(Path(path))
    if problem is None:
        problem = _not_an_object(text)
    if problem is not None:
        raise UnreadableFileError(f"Cannot read the {what} {path!r}: {problem}; {FIXES[what]}")
    return text


def _read(path: Path) -> tuple[str, str | None]:
    try:
        return path.read_text(encoding="utf-8"), None
    except FileNotFoundError:
        return "", "no such file"
    except IsADirectoryError:
        return "", "it is a directory"
    except PermissionError:
        return "", "permission denied"
    except UnicodeDecodeError:
        return "", "it is not UTF-8 text"
    except OSError as error:
        return "", error.strerror or type(error).__name__


def _not_an_object(text: str) -> str | None:
    if not text.strip():
        return "it is empty"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        # The position only: the decoder's message never quotes the file's content.
        return f"it is not JSON ({error.msg} at line {error.lineno}, column {error.colno})"
    if not isinstance(value, dict):
        return f"it holds {JSON_TYPES.get(type(value), 'a number')}, not a JSON object"
    return None

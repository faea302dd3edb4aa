"""The fast path: an export page checked against the tickets schema in msgspec's C code.

Checking each record in Python (conform.py) costs more than decoding it. Nearly every page
fits the schema, so a page is first decoded by a *check* decoder built from the schema:
msgspec Structs that forbid unknown fields, typed as the schema says. It fails on any ticket
key the schema does not declare, at any depth, and on any value of a type the schema does not
allow. Its result is dropped; a page it accepts is decoded again into plain dicts (Structs
would have to be converted, which costs more than that second decode).

Any other page (an unknown key, a value of another type, a lone surrogate, a page key not
known here) returns None: the caller decodes it as any JSON and checks it record by record.
"""

from __future__ import annotations

from typing import Any, Union

import msgspec

from tap_zendesk_incremental.conform import is_open, json_types

# The keys of an export page besides its arrays (time based and cursor based).
PAGE_KEYS = (
    "count",
    "end_time",
    "end_of_stream",
    "next_page",
    "after_cursor",
    "after_url",
    "before_cursor",
    "before_url",
)
# Arrays beside the tickets: their objects are checked by their own streams, in Python.
SIDELOAD_KEYS = ("users", "groups", "organizations", "metric_sets")
_SCALARS: dict[str, tuple[Any, ...]] = {
    "null": (type(None),),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),  # both: a JSON 1 stays an int
    "boolean": (bool,),
}
_DECODE_ERRORS = (msgspec.ValidationError, msgspec.DecodeError)


class PageDecoder:
    """Decodes export pages whose tickets fit `ticket_schema`; None for any other page."""

    def __init__(
        self, ticket_schema: dict[str, Any], added: tuple[str, ...] = (), items: str = "tickets"
    ) -> None:
        """`added`: required properties the tap adds itself (Zendesk does not send them);
        `items`: the page's array (`tickets`, `ticket_events`)."""
        self.schema = ticket_schema
        self.added = added
        names = iter(range(1_000_000))
        others = [(key, msgspec.Raw, msgspec.UNSET) for key in (*PAGE_KEYS, *SIDELOAD_KEYS)]
        page = msgspec.defstruct(
            "Page",
            [(items, list[_checked(ticket_schema, names, added)]), *others],
            forbid_unknown_fields=True,
            kw_only=True,
        )
        self._check = msgspec.json.Decoder(page)
        self._plain = msgspec.json.Decoder()

    def decode(self, body: bytes) -> dict[str, Any] | None:
        """The page, when every ticket fits the schema; else None."""
        try:
            self._check.decode(body)
        except _DECODE_ERRORS:
            return None
        return self._plain.decode(body)


def _checked(schema: dict[str, Any], names: Any, added: tuple[str, ...] = ()) -> Any:
    """The msgspec type that accepts exactly what the schema allows, unknown keys refused."""
    if "type" not in schema:
        return Any
    parts: list[Any] = []
    for name in json_types(schema):
        if name in _SCALARS:
            parts.extend(_SCALARS[name])
        elif name == "array":
            items = schema.get("items")
            parts.append(list[_checked(items, names)] if items is not None else list)
        elif name == "object" and schema.get("properties"):
            required = set(schema.get("required", ())) - set(added)
            fields = [
                (key, _checked(prop, names))
                if key in required
                else (key, _checked(prop, names), msgspec.UNSET)
                for key, prop in schema["properties"].items()
            ]
            parts.append(
                msgspec.defstruct(
                    f"Checked{next(names)}",
                    fields,
                    forbid_unknown_fields=not is_open(schema),  # open: any other key goes
                    kw_only=True,
                    gc=False,
                )
            )
        else:
            parts.append(dict[str, Any])
    return Union[tuple(parts)]  # noqa: UP007 - built at run time from a list

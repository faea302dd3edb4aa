"""The fast path: an export page decoded and checked against the tickets schema in msgspec's C.

Checking each record in Python (conform.py) costs more than decoding it. Nearly every page
fits the schema, so a page is first decoded by two msgspec decoders built from the schema:

- a *keys* decoder, whose objects forbid unknown fields and whose values are left undecoded
  (`msgspec.Raw`): it fails on any ticket key the schema does not declare, at any depth;
- a *values* decoder into TypedDicts: it fails on any value of a type the schema does not
  allow (it would drop unknown keys silently, which is why the keys decoder runs first).

A page both accept holds only records that fit their SCHEMA. Any other page (an unknown key,
a value of another type, a lone surrogate, a page key not known here) returns None: the
caller decodes it as plain JSON and checks it record by record.
"""

from __future__ import annotations

from typing import Any, TypedDict, Union

import msgspec

from tap_zendesk_incremental.conform import json_types

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

    def __init__(self, ticket_schema: dict[str, Any]) -> None:
        self.schema = ticket_schema
        names = iter(range(1_000_000))
        raw_fields: list[tuple[str, Any, Any]] = [
            (key, msgspec.Raw, msgspec.UNSET) for key in (*PAGE_KEYS, *SIDELOAD_KEYS)
        ]
        keys = msgspec.defstruct(
            "PageKeys",
            [("tickets", list[_keys_type(ticket_schema, names)]), *raw_fields],
            forbid_unknown_fields=True,
            kw_only=True,
        )
        values = TypedDict(  # type: ignore[misc]  # built from the schema at run time
            "Page",
            {
                "tickets": list[_values_type(ticket_schema, names)],
                **dict.fromkeys((*PAGE_KEYS, *SIDELOAD_KEYS), Any),
            },
            total=False,
        )
        self._keys = msgspec.json.Decoder(keys)
        self._values = msgspec.json.Decoder(values)

    def decode(self, body: bytes) -> dict[str, Any] | None:
        """The page, when every ticket fits the schema; else None."""
        try:
            self._keys.decode(body)
            return self._values.decode(body)
        except _DECODE_ERRORS:
            return None


def _keys_type(schema: dict[str, Any], names: Any) -> Any:
    """Objects that forbid unknown fields; anything else undecoded."""
    types = json_types(schema)
    if "object" in types and schema.get("properties"):
        fields = [
            (key, _keys_type(prop, names), msgspec.UNSET)
            for key, prop in schema["properties"].items()
        ]
        struct = msgspec.defstruct(
            f"Keys{next(names)}", fields, forbid_unknown_fields=True, kw_only=True, gc=False
        )
        return struct | None if "null" in types else struct
    items = schema.get("items")
    if "array" in types and items is not None and _has_objects(items):
        listed = list[_keys_type(items, names)]  # type: ignore[misc]
        return listed | None if "null" in types else listed
    return msgspec.Raw


def _has_objects(schema: dict[str, Any]) -> bool:
    return "object" in json_types(schema) and bool(schema.get("properties"))


def _values_type(schema: dict[str, Any], names: Any) -> Any:
    """The msgspec type that accepts exactly the values the schema allows."""
    if "type" not in schema:
        return Any
    parts: list[Any] = []
    for name in json_types(schema):
        if name in _SCALARS:
            parts.extend(_SCALARS[name])
        elif name == "array":
            items = schema.get("items")
            parts.append(list[_values_type(items, names)] if items is not None else list)
        elif name == "object" and schema.get("properties"):
            fields = {key: _values_type(p, names) for key, p in schema["properties"].items()}
            parts.append(TypedDict(f"Values{next(names)}", fields, total=False))  # type: ignore[operator]
        else:
            parts.append(dict[str, Any])
    return Union[tuple(parts)]  # noqa: UP007 - built at run time from a list

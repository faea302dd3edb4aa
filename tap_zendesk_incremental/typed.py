"""The fast path: an export page decoded once, in msgspec's C code, checked against the schema.

Checking each record in Python (conform.py) costs more than decoding it. Nearly every page
fits the schema, so a page is decoded by a *typed* decoder built from the schema: msgspec
Structs that forbid unknown fields, typed as the schema says. It fails on any ticket key the
schema does not declare, at any depth, and on any value of a type the schema does not allow.

When the stream writes its records as they are (no stream map, no flattening, nothing
deselected: `ZendeskStream.writes_records_as_is`), the tickets stay those Structs: `Record`
lets the tap and the SDK read and set their fields like a dict's, and the SDK's msgspec writer
encodes them directly (an unset field is left out, as the key was absent). Otherwise the page
is decoded again into plain dicts, which stream maps and flattening need.

Any other page (an unknown key, a value of another type, a lone surrogate, a page key not
known here) returns None: the caller decodes it as any JSON and checks it record by record.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, Union

import msgspec

from tap_zendesk_incremental.conform import is_open, json_types

if TYPE_CHECKING:
    from collections.abc import Iterator

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
_DECODE_ERRORS = (msgspec.ValidationError, msgspec.DecodeError, RecursionError)
_UNSET = msgspec.UNSET


class Record(msgspec.Struct, kw_only=True, gc=False):
    """A decoded record whose fields read and write like a dict's keys; unset = absent."""

    def __getitem__(self, key: str) -> Any:
        value = getattr(self, key, _UNSET) if key in self.__struct_fields__ else _UNSET
        if value is _UNSET:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)  # only a declared field: an AttributeError says otherwise

    def __delitem__(self, key: str) -> None:
        self[key]  # a KeyError for an absent key, as a dict's
        setattr(self, key, _UNSET)

    def __contains__(self, key: object) -> bool:
        return key in self.__struct_fields__ and getattr(self, key) is not _UNSET  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[str]:
        return (key for key in self.__struct_fields__ if getattr(self, key) is not _UNSET)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return True  # never empty (`id` is required); the SDK tests each record's truth

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, _UNSET) if key in self.__struct_fields__ else _UNSET
        return default if value is _UNSET else value

    def keys(self) -> list[str]:
        return list(self)

    def items(self) -> list[tuple[str, Any]]:
        return [(key, getattr(self, key)) for key in self]


MutableMapping.register(Record)  # `isinstance(ticket, Mapping)` holds for dicts and Records
# Field names that would hide Record's own methods: a schema with one gets plain dicts.
_RESERVED = frozenset(name for name in dir(Record) if not name.startswith("__"))


class PageDecoder:
    """Decodes export pages whose tickets fit `ticket_schema`; None for any other page."""

    def __init__(
        self,
        ticket_schema: dict[str, Any],
        added: tuple[str, ...] = (),
        *,
        records: bool = False,
        items: str = "tickets",
    ) -> None:
        """`added`: required properties the tap adds itself (Zendesk does not send them).

        `records`: keep the tickets as `Record` Structs (else they are plain dicts); never for
        a schema with an open object (`conform.is_open`): a Struct would drop its other keys.
        `items`: the page's array (`tickets`, `ticket_events`).
        """
        self.schema = ticket_schema
        fields = ticket_schema["properties"]
        self.records = (
            records
            and _RESERVED.isdisjoint(fields)
            and all(map(_is_attribute, fields))
            and not _has_open(ticket_schema)
        )
        names = iter(range(1_000_000))
        ticket = _checked(ticket_schema, names, added, base=Record if self.records else None)
        rest = Any if self.records else msgspec.Raw  # Raw: not decoded twice
        others = [(key, rest, _UNSET) for key in (*PAGE_KEYS, *SIDELOAD_KEYS)]
        page = msgspec.defstruct(
            "Page",
            [(items, list[ticket]), *others],
            forbid_unknown_fields=True,
            kw_only=True,
        )
        self._typed = msgspec.json.Decoder(page)
        self._plain = msgspec.json.Decoder()

    def decode(self, body: bytes) -> dict[str, Any] | None:
        """The page, when every ticket fits the schema; else None."""
        try:
            page = self._typed.decode(body)
        except _DECODE_ERRORS:
            return None
        if not self.records:
            return self._plain.decode(body)
        return {
            key: value
            for key in page.__struct_fields__
            if (value := getattr(page, key)) is not _UNSET
        }


def _checked(
    schema: dict[str, Any], names: Any, added: tuple[str, ...] = (), base: type | None = None
) -> Any:
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
            parts.append(_struct(schema, names, added, base))
        elif name == "object" and isinstance(extra := schema.get("additionalProperties"), dict):
            parts.append(dict[str, _checked(extra, names)])
        else:
            parts.append(dict[str, Any])
    return Union[tuple(parts)]  # noqa: UP007 - built at run time from a list


def _struct(schema: dict[str, Any], names: Any, added: tuple[str, ...], base: type | None) -> Any:
    """A Struct with the object's properties as fields; a property not required may be unset.

    A key that cannot be an attribute (`new-field`, `1a`, `__meta`, a key Zendesk added that
    the tap announced) gets an attribute of its own and keeps its name in the JSON.
    """
    required = set(schema.get("required", ())) - set(added)
    fields = []
    for key, prop in schema["properties"].items():
        default: Any = msgspec.NODEFAULT if key in required else _UNSET
        attribute = key
        if not _is_attribute(key):
            attribute = f"_field{next(names)}_"
            default = msgspec.field(default=default, name=key)
        fields.append((attribute, _checked(prop, names), default))
    return msgspec.defstruct(
        f"Checked{next(names)}",
        fields,
        bases=(base,) if base is not None else None,
        forbid_unknown_fields=not is_open(schema),  # open: any other key goes (dicts only)
        kw_only=True,
        gc=False,
    )


def _has_open(schema: Any) -> bool:
    """True when an open object (`conform.is_open`) is anywhere in the schema."""
    if not isinstance(schema, dict):
        return False
    if is_open(schema):
        return True
    nested = [*schema.get("properties", {}).values(), schema.get("items")]
    return any(_has_open(part) for part in nested)


def _is_attribute(key: str) -> bool:
    """True for a key a Struct field can be named after as it is."""
    return key.isidentifier() and not key.startswith("__")

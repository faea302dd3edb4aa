"""Records that fit the SCHEMA the tap sent, whatever types Zendesk's JSON holds.

`Conformer.fits` is the fast check every record goes through: a few type lookups per field,
compiled once from the stream's schema. A record that does not fit is repaired in one
documented way (README, "Values of an unexpected type"):

- a value that converts without loss is converted: `3` for a string field becomes `"3"`
  (not for a date-time field: a number there is set aside),
  `"42"` for an integer field `42`, `3.0` for an integer `3`, `"true"` for a boolean `true`,
  a lone value where a list is declared a list of that one value;
- any other value is set aside: the field becomes null (an array item that cannot be null
  takes its whole array along) and the value is kept, as its JSON text, under
  `schema_mismatches` (field path -> JSON text) in the same record. Nothing is dropped.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

SET_ASIDE = "schema_mismatches"
# The record property that holds set-aside values (every stream's schema declares it).
SET_ASIDE_SCHEMA = {
    "type": ["null", "object"],
    "additionalProperties": {"type": "string"},
    "description": "Values Zendesk sent that the schema's type cannot hold: field path -> "
    "the value as JSON text. The field itself is null. Absent when every value fits.",
}
PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "null": (type(None),),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
# Characters that break or garble a line of text (a log line, a column name).
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_UNFIT = object()  # a value that neither fits nor converts, where null is not allowed
MAX_EXACT_FLOAT = 2**53
EXAMPLES = 5  # values named in the WARNING
CONVERTED, SET_ASIDE_OUTCOME, LEFT_OUT = "converted", "set aside", "left out"
OUTCOMES = (CONVERTED, SET_ASIDE_OUTCOME, LEFT_OUT)


def json_types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type")
    if declared is None:  # no type: anything goes
        return list(PYTHON_TYPES)
    return [declared] if isinstance(declared, str) else list(declared)


def python_types(schema: dict[str, Any]) -> frozenset[type]:
    return frozenset(t for name in json_types(schema) for t in PYTHON_TYPES[name])


@dataclass
class Mismatches:
    """What repairing one stream's records did, for its WARNING: counts by outcome."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def note(self, where: str, outcome: str) -> None:
        """Count one value: CONVERTED, SET_ASIDE or LEFT_OUT."""
        self.counts[outcome] += 1
        if len(self.examples) < EXAMPLES and where not in self.examples:
            self.examples.append(where)  # once: a sideload object comes on many pages


class Conformer:
    """Checks and repairs the records of one stream against its schema."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.properties: dict[str, Any] = schema["properties"]
        self.top = {name: python_types(prop) for name, prop in self.properties.items()}
        self.nested = [
            (name, check)
            for name, prop in self.properties.items()
            if (check := _contents_check(prop)) is not None
        ]

    def fits(self, record: dict[str, Any]) -> bool:
        """True when every value has a type the schema allows (undeclared keys: see caller)."""
        top = self.top
        for key, value in record.items():
            allowed = top.get(key)
            if allowed is not None and type(value) not in allowed:
                return False
        for key, check in self.nested:
            value = record.get(key)
            if value is not None and not check(value):
                return False
        return True

    def repair(self, record: dict[str, Any], label: str, found: Mismatches) -> None:
        """Convert or set aside, in place, every value the schema does not allow."""
        repair = _Repair({}, label, found)
        for key, prop in self.properties.items():
            if key in record and key != SET_ASIDE:
                value = repair.value(record[key], prop, key)
                record[key] = None if value is _UNFIT else value
        if repair.aside or not _fits_aside(record.get(SET_ASIDE)):
            _tap_aside(record, repair).update(repair.aside)


class _Aside(dict):  # type: ignore[type-arg]
    """A `schema_mismatches` the tap made, as opposed to a field of that name from Zendesk."""

    __slots__ = ()


def _tap_aside(record: dict[str, Any], repair: _Repair | None = None) -> _Aside:
    """The record's own `schema_mismatches`, made now if need be. A value Zendesk sent under
    that name is kept in it whole, as JSON text under `schema_mismatches` itself."""
    kept = record.get(SET_ASIDE)
    if isinstance(kept, _Aside):
        return kept
    made = record[SET_ASIDE] = _Aside()
    if kept is not None:
        made[SET_ASIDE] = json.dumps(kept, ensure_ascii=False)
        if repair is not None:
            repair.found.note(f"{repair.label} {SET_ASIDE}", SET_ASIDE_OUTCOME)
    return made


def keep_aside(record: dict[str, Any], path: str, value: Any) -> None:
    """Keep `value` as JSON text under the record's `schema_mismatches[path]`."""
    _tap_aside(record)[path] = json.dumps(value, ensure_ascii=False)


def _fits_aside(value: Any) -> bool:
    """True for a value `schema_mismatches` can hold: null, or text by field path."""
    return value is None or (
        isinstance(value, dict) and all(type(item) is str for item in value.values())
    )


def _contents_check(schema: dict[str, Any]) -> Any:
    """A check of a list's items or an object's properties; None when there is nothing in."""
    items, properties = schema.get("items"), schema.get("properties")
    if items is not None:
        item_types, item_check = python_types(items), _contents_check(items)
        if item_check is None:
            return lambda value: type(value) is not list or item_types.issuperset(map(type, value))
        return lambda value: (
            type(value) is not list
            or all(
                type(item) in item_types and (item is None or item_check(item)) for item in value
            )
        )
    extra = schema.get("additionalProperties")
    if not properties and isinstance(extra, dict) and "type" in extra:
        extra_types = python_types(extra)  # an object of one value type (schema_mismatches)
        return lambda value: (
            type(value) is not dict or extra_types.issuperset(map(type, value.values()))
        )
    if properties:
        compiled = {
            name: (python_types(prop), _contents_check(prop)) for name, prop in properties.items()
        }

        def check_object(value: Any) -> bool:
            if type(value) is not dict:
                return True
            for key, item in value.items():
                if key in compiled:
                    allowed, check = compiled[key]
                    if type(item) not in allowed or (
                        check is not None and item is not None and not check(item)
                    ):
                        return False
            return True

        return check_object
    return None


@dataclass
class _Repair:
    """One record's repair: where set-aside values go and what is counted."""

    aside: dict[str, str]
    label: str
    found: Mismatches

    def value(self, value: Any, schema: dict[str, Any], path: str) -> Any:
        """The value fitted to the schema; _UNFIT when it cannot be, nor be null."""
        if type(value) not in python_types(schema):
            converted = _convert(value, schema)
            if converted is _UNFIT:
                return self.set_aside(value, schema, path)
            self.found.note(f"{self.label} {path}", CONVERTED)
            value = converted
        if isinstance(value, list) and "items" in schema:
            items = [
                self.value(item, schema["items"], f"{path}[{index}]")
                for index, item in enumerate(value)
            ]
            return self.set_aside(value, schema, path) if _UNFIT in items else items
        if isinstance(value, dict) and "properties" in schema:
            for key, prop in schema["properties"].items():
                if key in value:
                    item = self.value(value[key], prop, f"{path}.{key}")
                    value[key] = None if item is _UNFIT else item
        return value

    def set_aside(self, value: Any, schema: dict[str, Any], path: str) -> Any:
        if "null" not in json_types(schema):
            return _UNFIT  # the parent sets itself aside whole
        self.aside[path] = json.dumps(value, ensure_ascii=False)
        self.found.note(f"{self.label} {path}", SET_ASIDE_OUTCOME)
        return None


def _convert(value: Any, schema: dict[str, Any]) -> Any:
    """The value in a type the schema allows, where that loses nothing; else _UNFIT."""
    for name in json_types(schema):
        converter = _CONVERTERS.get(name)
        if converter is not None and (converted := converter(value, schema)) is not _UNFIT:
            return converted
    return _UNFIT


def _to_string(value: Any, schema: dict[str, Any]) -> Any:
    if "format" in schema:  # 1704067200 is no date-time string: which zone, which unit?
        return _UNFIT
    return json.dumps(value) if type(value) in (int, float, bool) else _UNFIT


def _to_integer(value: Any, _schema: dict[str, Any]) -> Any:
    if type(value) is str and _INTEGER.fullmatch(value):
        return int(value)
    if type(value) is float and value.is_integer() and abs(value) <= MAX_EXACT_FLOAT:
        return int(value)
    return _UNFIT


def _to_number(value: Any, _schema: dict[str, Any]) -> Any:
    if type(value) is not str or not _NUMBER.fullmatch(value):
        return _UNFIT
    if _INTEGER.fullmatch(value):
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else _UNFIT  # "1e400" stays as it came


def _to_boolean(value: Any, _schema: dict[str, Any]) -> Any:
    return value == "true" if value in ("true", "false") else _UNFIT


def _to_array(value: Any, schema: dict[str, Any]) -> Any:
    """A lone value where a list is declared: the list of that one value."""
    if isinstance(value, list) or value is None:
        return _UNFIT
    items = schema.get("items", {})
    if isinstance(value, dict) and not value.keys() <= items.get("properties", {}).keys():
        return _UNFIT  # {"360001": "gold"} is no custom field: not one item of the list
    item = value if type(value) in python_types(items) else _convert(value, items)
    return _UNFIT if item is _UNFIT else [item]


_CONVERTERS = {
    "string": _to_string,
    "integer": _to_integer,
    "number": _to_number,
    "boolean": _to_boolean,
    "array": _to_array,
}


# -- fields the schema lacks: announced in a new SCHEMA (see client.ZendeskStream) -----------

# The JSON type of a new field, from the Python type of its first value.
INFERRED_TYPES = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
}
NewField = tuple[tuple[str, ...], str, dict[str, Any]]  # where in the schema, name, schema


def inferred_schema(value: Any) -> dict[str, Any]:
    """The schema of a new field, from its first value: nullable, objects and lists open."""
    name = INFERRED_TYPES[type(value)]
    schema: dict[str, Any] = {"type": ["null", name]}
    if name == "object":
        schema["additionalProperties"] = True
    return schema


def is_open(schema: dict[str, Any]) -> bool:
    """True for an object that declares any other key with any value (`additionalProperties:
    {}`, an event's child events): such a key is not new. The SDK's objects say `true`, which
    JSON Schema reads the same; this tap announces their new keys (flattening makes columns)."""
    return schema.get("additionalProperties") == {}


def new_fields(record: dict[str, Any], schema: dict[str, Any]) -> dict[str, NewField]:
    """Keys with a value that the schema does not declare, at any depth of a declared object.

    Dotted name -> (the path of the `properties` that lacks it, its key, its inferred schema).
    A key that is null so far is not new: absent and null say the same.
    """
    found: dict[str, NewField] = {}
    _walk(record, schema, (), "", found)
    return found


def _walk(
    value: Any, schema: dict[str, Any], at: tuple[str, ...], name: str, found: dict[str, NewField]
) -> None:
    if isinstance(value, dict) and (properties := schema.get("properties")):
        for key, item in value.items():
            full = f"{name}.{key}" if name else key
            prop = properties.get(key)
            if prop is not None:
                _walk(item, prop, (*at, "properties", key), full, found)
            elif item is not None and full not in found and not is_open(schema):
                found[full] = ((*at, "properties"), key, inferred_schema(item))
    elif isinstance(value, list) and (items := schema.get("items")):
        for item in value:
            _walk(item, items, (*at, "items"), f"{name}[]", found)


def column_path(field: NewField) -> list[str] | None:
    """The keys from the record down to a new field, when it lies in objects only (a field
    inside a list is no column, flattened or not); else None."""
    at, key, _ = field
    if "items" in at:
        return None
    return [*at[1::2], key]  # ("properties", "via", "properties") -> ["via", key]


def refused_name(key: str, separator: str | None) -> bool:
    """True for a key no column can be named after: empty, blank, control characters, or,
    when flattening joins keys with `separator`, one holding it (`via__channel` would be the
    flattened `via.channel`)."""
    return (
        not key.strip()
        or CONTROL_CHARACTERS.search(key) is not None
        or (separator is not None and separator in key)
    )


def with_new_fields(schema: dict[str, Any], new: dict[str, NewField]) -> dict[str, Any]:
    """A copy of the schema declaring the new fields (a new dict: stream maps compare them)."""
    extended = copy.deepcopy(schema)
    for path, key, prop in new.values():
        node = extended
        for step in path:
            node = node[step]
        node[key] = prop
    return extended

"""Fast dumping of hot responses: a marshmallow schema compiled once into a plain function.

The documented schema stays the single source of truth (the OpenAPI spec is generated from
it): :func:`dumper` reads its fields and builds a function giving the same output as
``Schema().dump(obj)`` for the field types used in responses, without marshmallow's per-field
machinery. Fields of any other kind, and schemas with dump hooks, fall back to marshmallow itself.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from flask import Response, current_app
from marshmallow import Schema, fields, missing
from marshmallow.utils import get_value

Dump = Callable[[Any], dict]


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, missing)
    return getattr(obj, key, missing)


def _to_int(value: Any) -> Any:
    return None if value is None else int(value)


def _to_float(value: Any) -> Any:
    return None if value is None else float(value)


def _to_str(value: Any) -> Any:
    return None if value is None else str(value)


def _converter(field: fields.Field) -> Callable[[Any], Any] | None:
    """A value converter equal to ``field._serialize`` for simple fields, else None."""
    kind = type(field)
    if kind is fields.Integer and not field.as_string:
        return _to_int
    if kind is fields.Float and not field.as_string:
        return _to_float
    if kind is fields.String:
        return _to_str
    if kind is fields.Boolean or isinstance(field, fields.DateTime):
        serialize = field._serialize
        return lambda value: serialize(value, None, None)
    if isinstance(field, fields.Nested) and not field.only and not field.exclude:
        if not (isinstance(field.nested, type) and issubclass(field.nested, Schema)):
            return None
        inner = dumper(field.nested)
        if field.many:
            return lambda value: None if value is None else [inner(item) for item in value]
        return lambda value: None if value is None else inner(value)
    if kind is fields.List and isinstance(field.inner, fields.Nested):
        inner_convert = _converter(field.inner)
        if inner_convert is not None:
            return lambda value: None if value is None else [inner_convert(v) for v in value]
    return None


@cache
def dumper(schema_class: type[Schema]) -> Dump:
    """A function dumping one object exactly like ``schema_class().dump``."""
    schema = schema_class()
    if schema._hooks.get("pre_dump") or schema._hooks.get("post_dump"):  # type: ignore[attr-defined]
        return schema.dump
    plan: list[tuple[str, str, Callable[[Any], Any] | None, fields.Field, str]] = []
    for name, field in schema.dump_fields.items():
        attribute = field.attribute or name
        key = field.data_key or name
        convert = _converter(field)
        simple = convert is not None and "." not in attribute and field.dump_default is missing
        plan.append((attribute, key, convert if simple else None, field, name))

    def dump(obj: Any) -> dict:
        out = {}
        for attribute, key, convert, field, name in plan:
            if convert is not None:
                value = _get(obj, attribute)
                if value is missing:
                    continue
                out[key] = convert(value)
            else:
                value = field.serialize(name, obj, accessor=get_value)
                if value is not missing:
                    out[key] = value
        return out

    return dump


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    """A JSON response exactly as ``jsonify`` renders ``body``."""
    response = current_app.json.response(body)
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


def raw_json_response(text: str | bytes) -> Response:
    """A response of already rendered JSON (for example from the cache)."""
    return current_app.response_class(text, mimetype="application/json")

"""The API's Blueprint: flask-smorest's, with a parser that remembers parsed query strings."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import flask_smorest
from flask import request
from marshmallow import Schema
from webargs.flaskparser import FlaskParser

IMMUTABLE = (str, int, float, bool, type(None))


def _is_immutable(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_is_immutable(item) for item in value)
    return isinstance(value, IMMUTABLE)


def _pure(schema: Schema) -> bool:
    """True when loading with ``schema`` depends on its input alone: no load hooks (they may
    build objects or read the clock) and no callable defaults (``list``, ``datetime.now``)."""
    hooks = getattr(schema, "_hooks", {})
    if any(hooks.get(name) for name in ("pre_load", "post_load")):
        return False
    return not any(callable(field.load_default) for field in schema.load_fields.values())


class QueryMemoParser(FlaskParser):
    """webargs' Flask parser, remembering the arguments parsed from recent query strings.

    A list endpoint is called again and again with the same query string (often none at all),
    and loading it through marshmallow costs more than the rest of the request's own work when
    the answer comes from the cache. For a schema whose load depends on its input alone, the
    result for a query string is kept (at most ``size`` of them, least recently used dropped)
    when every value is immutable; invalid query strings are parsed, and refused, every time.
    """

    def __init__(self, *args: Any, size: int = 512, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._size = size
        self._memo: OrderedDict[tuple[int, str, str], tuple[Schema, dict]] = OrderedDict()
        self._lock = threading.Lock()
        self._pure: dict[int, tuple[Schema, bool]] = {}

    def _is_pure(self, schema: Schema) -> bool:
        known = self._pure.get(id(schema))
        if known is None or known[0] is not schema:
            known = self._pure[id(schema)] = (schema, _pure(schema))
        return known[1]

    def parse(self, argmap: Any, req: Any = None, *, location: str | None = None, **kwargs: Any):
        if (
            location != "query"
            or req is not None
            or kwargs.get("validate")
            or not isinstance(argmap, Schema)
            or not self._is_pure(argmap)
        ):
            return super().parse(argmap, req, location=location, **kwargs)
        key = (id(argmap), repr(kwargs.get("unknown")), request.environ.get("QUERY_STRING", ""))
        with self._lock:
            hit = self._memo.get(key)
            if hit is not None and hit[0] is argmap:
                self._memo.move_to_end(key)
                return dict(hit[1])
        parsed = super().parse(argmap, req, location=location, **kwargs)
        if isinstance(parsed, dict) and all(_is_immutable(value) for value in parsed.values()):
            with self._lock:
                self._memo[key] = (argmap, dict(parsed))
                if len(self._memo) > self._size:
                    self._memo.popitem(last=False)
        return parsed


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with :class:`QueryMemoParser`."""

    ARGUMENTS_PARSER = QueryMemoParser()

"""The API's Blueprint: flask-smorest's, with the one way a view answers.

A view returns an object (a row, a dict, a model, or a ``(body, status, headers)`` tuple) and
:meth:`Blueprint.response` serialises it with the compiled dumper of the documented schema.
Two kinds of object arrive already rendered, by the same renderer: a :class:`RenderedJSON` body
(an Idempotency-Key replay) and a :class:`app.platform.cache.Cached` value, whose rendered body
is what the cache keeps. A ``Response`` is returned as it is (file downloads, CSV streams).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import flask_smorest
from flask import Response, current_app
from flask_smorest.utils import (
    resolve_schema_instance,
    set_status_and_headers_in_response,
    unpack_tuple_response,
)
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import UnsupportedMediaType

from app.platform.cache import Cached
from app.platform.dumper import RenderedJSON, dump_function, renderer
from app.platform.errors import BadRequest


def _has_unstorable_text(value: Any) -> bool:
    """True when a string anywhere in ``value`` holds a UTF-16 surrogate (not valid Unicode) or
    a NUL character (PostgreSQL's text types refuse it)."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_unstorable_text(k) or _has_unstorable_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_unstorable_text(item) for item in value)
    return False


def _integral_numbers(value: Any) -> Any:
    """``1.0`` read as ``1``: JSON Schema (and so the OpenAPI document) counts a number with a
    zero fraction as an integer, and clients that only have doubles send ids that way."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {key: _integral_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral_numbers(item) for item in value]
    return value


class BodyParser(FlaskParser):
    """webargs' Flask parser, refusing bodies that parse as JSON in Python but that the app must
    not take: a lone UTF-16 surrogate (``"\\ud800"``, no text can store it) or a NUL character
    (PostgreSQL cannot store it; refused on every database alike), nesting deeper than Python's
    recursion limit and integers longer than its digit limit are 400 ``bad_request`` like any
    invalid JSON; a body that is not JSON at all is 415 ``unsupported_media_type``. A NUL in a
    query parameter is a 400 too.
    (``_raw_load_json`` is webargs' hook for loading the body; pinned by
    tests/platform/test_hostile_input.py.)"""

    def _raw_load_json(self, req):
        if req.method == "PATCH" and not req.get_data(cache=True):
            # A PATCH without a body is a client mistake, not an empty change set. Checked here,
            # with the arguments: after authentication and authorisation.
            raise BadRequest("A JSON body is required.", code="body_required")
        if req.content_length and not is_json_request(req):
            raise UnsupportedMediaType("Send the body as application/json.")
        try:
            data = super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise
        except (ValueError, RecursionError) as exc:
            raise json.JSONDecodeError(f"unusable JSON ({type(exc).__name__})", "-", 0) from exc
        if data is not core.missing and _has_unstorable_text(data):
            raise json.JSONDecodeError("a string holds a lone surrogate or a NUL", "-", 0)
        return _integral_numbers(data)

    def load_querystring(self, req, schema):
        if any("\x00" in value for values in req.args.listvalues() for value in values):
            raise BadRequest("A query parameter holds a NUL character.")
        return super().load_querystring(req, schema)


def _documenting(document: Callable[[Callable], Callable]) -> Callable[[Callable], Callable]:
    """A flask-smorest decorator that only documents, applied without its call layer.

    flask-smorest's ``doc`` and ``alt_response`` wrap the view in a function that only calls it
    (through ``current_app.ensure_sync``) and carries the documentation; a route documenting
    four error responses ran six such layers on every request. Here the view itself carries
    the documentation the wrapper would have (flask-smorest copies it, so the view's earlier
    documentation is not changed in place) and is called directly."""

    def apply(view: Callable) -> Callable:
        view._apidoc = document(view)._apidoc  # type: ignore[attr-defined]
        return view

    return apply


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint whose ``response`` serialises with the compiled dumper, and
    whose documenting decorators add no call layer."""

    ARGUMENTS_PARSER = BodyParser()

    @staticmethod
    def doc(**kwargs: Any) -> Callable[[Callable], Callable]:  # type: ignore[override]
        """Document the route (flask-smorest), without a call layer."""
        return _documenting(flask_smorest.Blueprint.doc(**kwargs))

    def alt_response(self, *args: Any, **kwargs: Any) -> Callable[[Callable], Callable]:  # type: ignore[override]
        """Document another response (flask-smorest), without a call layer."""
        return _documenting(super().alt_response(*args, **kwargs))

    def arguments(self, schema, *args, **kwargs):  # type: ignore[override]
        """Document and parse the arguments (flask-smorest) with one schema instance, built
        here once: given a class, webargs would build an instance on every request."""
        return super().arguments(resolve_schema_instance(schema), *args, **kwargs)

    def response(self, status_code, schema=None, **kwargs):  # type: ignore[override]
        """Document the response (flask-smorest) and serialise what the view returns."""
        document = super().response(status_code, schema, **kwargs)
        render = renderer(schema)
        dump = dump_function(resolve_schema_instance(schema) if schema is not None else None)

        def decorator(view: Callable) -> Callable:
            @functools.wraps(view)
            def answer(*args: Any, **view_kwargs: Any) -> Response:
                result, status, headers = unpack_tuple_response(view(*args, **view_kwargs))
                if isinstance(result, Response):
                    set_status_and_headers_in_response(result, status, headers)
                    return result
                if isinstance(result, Cached):
                    result = RenderedJSON(result.rendered(render))
                if result is None and int(status or status_code) == 204:
                    response = current_app.response_class(status=204)
                elif isinstance(result, RenderedJSON):
                    response = current_app.response_class(result, mimetype="application/json")
                else:
                    response = current_app.json.response(dump(result))
                set_status_and_headers_in_response(response, status, headers)
                if status is None:
                    response.status_code = int(status_code)
                return response

            # What flask-smorest records for the spec, on the function Flask calls.
            answer._apidoc = document(view)._apidoc  # type: ignore[attr-defined]
            return answer

        return decorator

"""The API's Blueprint: flask-smorest's, with the one way a view answers.

A view returns an object (a row, a dict, a model, or a ``(body, status, headers)`` tuple) and
:meth:`Blueprint.response` serialises it with the compiled dumper of the documented schema.
Two kinds of object arrive already rendered, by the same renderer: a :class:`RenderedJSON` body
(an Idempotency-Key replay) and a :class:`app.platform.cache.Cached` value, whose rendered body
is what the cache keeps. A ``Response`` is returned as it is (file downloads, CSV streams).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import flask_smorest
from flask import Response, current_app
from flask_smorest.utils import (
    resolve_schema_instance,
    set_status_and_headers_in_response,
    unpack_tuple_response,
)

from app.platform.cache import Cached
from app.platform.dumper import RenderedJSON, dump_function, renderer


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint whose ``response`` serialises with the compiled dumper."""

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

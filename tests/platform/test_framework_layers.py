"""Framework work per request kept to what the request needs: Flask's async check once per
function, and flask-smorest's documenting decorators without a call layer."""

from __future__ import annotations

import flask.app
import pytest

from app import create_app


@pytest.fixture(scope="module")
def plain_app():
    return create_app("testing")


def test_each_function_is_checked_for_async_once(plain_app, monkeypatch):
    checked = []
    real = flask.app.iscoroutinefunction
    monkeypatch.setattr(
        flask.app, "iscoroutinefunction", lambda func: checked.append(func) or real(func)
    )
    client = plain_app.test_client()
    assert client.get("/api/v1/health").status_code == 200
    first = len(checked)
    assert client.get("/api/v1/health").status_code == 200
    assert first > 0
    assert len(checked) == first  # the second request asks about nothing again


def test_an_async_function_still_goes_through_the_bridge(plain_app, monkeypatch):
    async def view():
        return "async"

    bridged = []
    monkeypatch.setattr(
        plain_app, "async_to_sync", lambda func: bridged.append(func) or (lambda: "bridged")
    )
    assert plain_app.ensure_sync(view)() == "bridged"
    assert plain_app.ensure_sync(view)() == "bridged"
    assert bridged == [view, view]

    def plain():
        return "plain"

    assert plain_app.ensure_sync(plain) is plain
    assert plain_app.ensure_sync(plain) is plain


def _layers(func):
    while func is not None:
        yield func
        func = getattr(func, "__wrapped__", None)


def test_documenting_decorators_add_no_call_layer(plain_app):
    passthrough = ("ResponseMixin.alt_response.", "Blueprint.doc.")
    seen = 0
    for view in plain_app.view_functions.values():
        view_class = getattr(view, "view_class", None)
        if view_class is None:
            methods = [view]
        else:
            methods = [getattr(view_class, method.lower()) for method in view_class.methods]
        for method in methods:
            # The code's own name: functools.wraps gives every layer the view's __qualname__.
            names = [layer.__code__.co_qualname for layer in _layers(method)]
            assert not [name for name in names if name.startswith(passthrough)], names
            seen += 1
    assert seen > 100


def test_the_documentation_is_kept(plain_app):
    spec = plain_app.test_client().get("/api/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/parking-events"]["post"]
    assert {"200", "201", "401", "404", "409", "422"} <= set(operation["responses"])
    assert operation["security"] == [{"bearerAuth": []}]
    assert operation["summary"].startswith("Save where I parked")

"""Framework work per request kept to what the request needs: Flask's async check once per
function."""

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

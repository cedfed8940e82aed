"""Pins for the few places where app/platform/ leans on a library's internals (each one justified
by a figure in its comment). When a library changes under one of them, a test here fails."""

from __future__ import annotations

import flask_jwt_extended
import flask_smorest
import pytest
from flask import Flask
from marshmallow import Schema, fields, post_dump

from app.platform import auth as platform_auth
from app.platform.dumper import dumper
from app.platform.extensions import LIMITER_STATE, limiter, take_cors_hook
from tests.conftest import make_app


def test_flask_cors_hook_is_taken_out_and_runs_only_for_cors_requests(tmp_path):
    origin = "https://app.parkmind.example"
    flask_app = make_app(f"sqlite:///{tmp_path / 'cors.db'}", CORS_ORIGINS=[origin])
    hooks = [getattr(hook, "__name__", "") for hook in flask_app.after_request_funcs.get(None, [])]
    assert "cors_after_request" not in hooks
    with pytest.raises(RuntimeError):
        take_cors_hook(flask_app)  # already taken: found once, by its name
    client = flask_app.test_client()
    with_origin = client.get("/api/v1/health", headers={"Origin": origin})
    assert with_origin.headers["Access-Control-Allow-Origin"] == origin
    assert "Access-Control-Allow-Origin" not in client.get("/api/v1/health").headers


def test_the_fast_token_check_leaves_what_flask_jwt_extended_reads(app, client, user, auth):
    headers = auth(user)
    seen = {}

    def full_check(*args, **kwargs):
        raise AssertionError("the fast path should have verified this token")

    original = platform_auth.verify_jwt_in_request
    platform_auth.verify_jwt_in_request = full_check
    try:
        with app.test_request_context("/api/v1/me", headers=headers):

            @platform_auth.auth_required()
            def view():
                seen["claims"] = flask_jwt_extended.get_jwt()
                seen["header"] = flask_jwt_extended.get_jwt_header()
                seen["identity"] = flask_jwt_extended.get_jwt_identity()
                seen["location"] = flask_jwt_extended.get_jwt_request_location()
                return "ok"

            assert view() == "ok"
    finally:
        platform_auth.verify_jwt_in_request = original
    assert seen["claims"]["type"] == "access"
    assert seen["header"]["alg"].startswith("HS")
    assert str(seen["identity"]) == str(user.id)
    assert seen["location"] == "headers"


def test_marshmallow_keeps_dump_hooks_where_the_dumper_looks():
    class Hooked(Schema):
        name = fields.String()

        @post_dump
        def shout(self, data, **kwargs):
            return {"name": data["name"].upper()}

    assert Hooked()._hooks.get("post_dump")
    assert dumper(Hooked)({"name": "ada"}) == {"name": "ADA"}


@pytest.mark.parametrize("decorate", ["doc", "alt_response"])
def test_flask_smorest_documenting_wrappers_only_call_the_view(decorate):
    """app.platform.blueprint keeps what flask-smorest's doc and alt_response wrappers document
    and drops the wrappers: they must do nothing at run time but call the view."""
    blp = flask_smorest.Blueprint("pin", __name__)
    document = blp.doc(summary="pinned") if decorate == "doc" else blp.alt_response(409)
    answer, calls = object(), []

    def view(*args, **kwargs):
        calls.append((args, kwargs))
        return answer

    wrapper = document(view)
    assert wrapper._apidoc and not getattr(view, "_apidoc", None)  # documentation on the copy
    with Flask(__name__).app_context():
        assert wrapper(1, key=2) is answer
    assert calls == [((1,), {"key": 2})]
    code = wrapper.__code__
    # The wrapper's body: current_app.ensure_sync(func)(*args, **kwargs), nothing else.
    assert set(code.co_names) == {"current_app", "ensure_sync"}, code.co_names
    assert code.co_freevars == ("func",)


def test_flask_limiter_keeps_each_apps_state_apart(tmp_path):
    on = make_app(f"sqlite:///{tmp_path / 'on.db'}", RATELIMIT_ENABLED=True)
    off = make_app(f"sqlite:///{tmp_path / 'off.db'}", RATELIMIT_ENABLED=False)
    assert on.extensions[LIMITER_STATE]["enabled"] is True
    assert off.extensions[LIMITER_STATE]["enabled"] is False
    for flask_app, expected in ((on, True), (off, False), (on, True)):
        with flask_app.test_request_context("/api/v1/health"):
            limiter._activate_app_state()
            assert limiter.enabled is expected

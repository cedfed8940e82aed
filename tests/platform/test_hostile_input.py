"""No input gives a 500: hostile strings, numbers, nesting and dates sent to every operation of
the OpenAPI spec, anonymously and as a signed-in user, get a 4xx in the one error shape (or a
success), never a 5xx."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import UserFactory

# Raw JSON texts for one value: what Python's json module parses but the app must refuse safely.
HOSTILE_VALUES = [
    '"a\\ud800b"',  # a lone UTF-16 surrogate
    '"\\udfff"',
    '"line\\nbreak\\u0000nul"',
    "9" * 5000,  # beyond Python's integer digit limit
    "1e999",  # infinity once parsed
    "-0.0",
    '"0001-01-01T00:00:00+01:00"',  # before the year 1 in UTC
    '"9999-12-31T23:59:59-01:00"',  # after the year 9999 in UTC
    "[" * 5000 + "]" * 5000,  # deeper than the recursion limit
    '{"$ne": null}',
    '"' + "x" * 20000 + '"',
]
QUERY_VALUES = ["0001-01-01T00:00:00+01:00", "%ED%A0%80", "9" * 5000, "-1", "1e999", "[]"]


def _operations(app) -> list[tuple[str, str, list[str], list[str]]]:
    """(method, path with ids filled in, JSON body properties, query parameters) of every op."""
    spec = app.extensions["parkmind_api"].spec.to_dict()
    schemas = spec["components"]["schemas"]
    found = []
    for path, item in spec["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            properties: list[str] = []
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            if "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
            properties = sorted(schema.get("properties", {}))
            query = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
            found.append((method.upper(), concrete, properties, query))
    return found


def _assert_answer(response, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.get_data()[:300])
    if response.status_code >= 400 and response.mimetype == "application/json":
        error = response.get_json()["error"]
        assert error["status"] == response.status_code and error["code"], what


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,  # the same examples on every machine: CI fails only on a real defect
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_bodies_and_queries_never_give_a_5xx(app, client, db, auth, data):
    operations = _operations(app)
    assert len(operations) > 60
    headers = data.draw(st.sampled_from([{}, "user"]), label="who")
    if headers == "user":
        headers = auth(UserFactory())
    method, path, properties, query = data.draw(st.sampled_from(operations), label="operation")
    value = data.draw(st.sampled_from(HOSTILE_VALUES), label="value")
    if properties:
        name = data.draw(st.sampled_from(properties), label="property")
        body = "{" + json.dumps(name) + ": " + value + "}"
    else:
        body = value
    target = path
    if query:
        parameter = data.draw(st.sampled_from(query), label="query")
        target = f"{path}?{parameter}={data.draw(st.sampled_from(QUERY_VALUES))}"
    response = client.open(
        f"/api/v1{target}" if not target.startswith("/api") else target,
        method=method,
        data=body,
        headers={**headers, "Content-Type": "application/json"},
    )
    _assert_answer(response, f"{method} {target} {body[:80]}")


@pytest.mark.parametrize("value", HOSTILE_VALUES[:4] + HOSTILE_VALUES[8:9])
def test_login_refuses_hostile_json_without_authentication(client, value):
    response = client.post(
        "/api/v1/auth/login",
        data='{"login": ' + value + ', "password": "a-long-password-1"}',
        headers={"Content-Type": "application/json"},
    )
    _assert_answer(response, value[:40])
    assert response.status_code in (400, 401, 422)


def test_a_nul_character_is_a_400_on_every_database(client, user, auth):
    # PostgreSQL cannot store NUL in text; MariaDB and SQLite refuse it the same way.
    headers = auth(user)
    response = client.post(
        "/api/v1/auth/login",
        data='{"login": "ada\\u0000", "password": "a-long-password-1"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"
    response = client.get("/api/v1/lots", query_string={"q": "a\x00b"}, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_a_body_that_is_not_json_is_415(client):
    response = client.post(
        "/api/v1/auth/login",
        data="login=ada&password=secret",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"


def test_a_datetime_before_the_year_one_in_utc_is_a_422(client, user, auth):
    response = client.post(
        "/api/v1/exports",
        json={"kind": "bookings", "date_from": "0001-01-01T00:00:00+01:00"},
        headers=auth(user),
    )
    assert response.status_code == 422
    assert "date_from" in response.get_json()["error"]["fields"]

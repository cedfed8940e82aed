"""The generated OpenAPI document covers every route with summaries, schemas and errors."""

from __future__ import annotations

import json
import re
import subprocess

from openapi_spec_validator import validate

from tests.support.spec_tools import TOOLS, spec_tool

# Properties that hold one of a fixed set of values: clients get them as enums.
# (Notification.kind is open: every notice names its own kind, documented on the field.)
ENUM_PROPERTIES = {
    "status",
    "state",
    "role",
    "purpose",
    "location_type",
    "actor_role",
    "target_type",
}
OPEN_SETS = {("Notification", "kind"), ("AuditEntry", "action")}


def spec(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_spec_is_valid_openapi_3_1(client, db):
    document = spec(client)
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_spectral_finds_nothing_with_our_ruleset(client, db, tmp_path):
    """Spectral's spectral:oas rules plus tools/spec/.spectral.yaml: zero errors, zero warnings."""
    spectral = spec_tool("spectral")
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(spec(client)))
    result = subprocess.run(
        [
            str(spectral),
            "lint",
            str(document),
            "-r",
            str(TOOLS / ".spectral.yaml"),
            "-f",
            "json",
            "--fail-severity",
            "hint",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    findings, _ = json.JSONDecoder().raw_decode(result.stdout or "[]")
    assert [(f["code"], ".".join(map(str, f["path"]))) for f in findings] == []
    assert result.returncode == 0, result.stderr


def test_every_operation_has_a_unique_verb_noun_operation_id(client, db):
    ids = [
        operation["operationId"]
        for methods in spec(client)["paths"].values()
        for name, operation in methods.items()
        if name != "parameters"
    ]
    assert len(ids) == len(set(ids))
    assert "createBooking" in ids and "releaseBooking" in ids and "listParkingEvents" in ids


def test_states_and_kinds_are_enums_and_nullable_objects_are_typed(client, db):
    schemas = spec(client)["components"]["schemas"]
    score = schemas["ParkingEvent"]["properties"]["score"]
    assert {"$ref": "#/components/schemas/Score"} in score["anyOf"]
    assert {"type": "null"} in score["anyOf"]
    for name, schema in schemas.items():
        for prop, field in schema.get("properties", {}).items():
            if (name, prop) in OPEN_SETS:
                continue
            if prop in ENUM_PROPERTIES and "string" in str(field.get("type")):
                assert "enum" in field, f"{name}.{prop} is not an enum"


def test_no_operation_has_a_blanket_default_response(client, db):
    for path, methods in spec(client)["paths"].items():
        for name, operation in methods.items():
            if name != "parameters":
                assert "default" not in operation["responses"], f"{name} {path}"


def test_every_api_route_is_documented(app, client, db):
    documented = spec(client)["paths"]
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("_"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        assert path in documented, f"{rule.rule} missing from the OpenAPI document"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = documented[path].get(method.lower())
            assert operation, f"{method} {rule.rule} missing"
            assert operation.get("summary"), f"{method} {rule.rule} has no summary"


def test_protected_routes_document_401_and_bearer(client, db):
    operation = spec(client)["paths"]["/api/v1/me"]["get"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert "401" in operation["responses"]
    error = spec(client)["components"]["schemas"]["Error"]
    assert "error" in error["properties"]


def test_every_json_body_has_a_realistic_example_the_server_accepts_as_valid(client, db):
    """Each request example validates against its own schema (Spectral's
    oas3-valid-media-example checks it too); no operation with a JSON body lacks one."""
    missing = [
        operation["operationId"]
        for methods in spec(client)["paths"].values()
        for name, operation in methods.items()
        if name != "parameters"
        and "application/json" in operation.get("requestBody", {}).get("content", {})
        and "example" not in operation["requestBody"]["content"]["application/json"]
    ]
    assert missing == []


def test_every_json_answer_has_a_recorded_example(client, db):
    """Success answers carry a real server's answer as their example (``make
    response-examples``); Spectral checks each against its schema."""
    missing = [
        (operation["operationId"], status)
        for methods in spec(client)["paths"].values()
        for name, operation in methods.items()
        if name != "parameters"
        for status, response in operation["responses"].items()
        if str(status).startswith("2")
        and "application/json" in response.get("content", {})
        and "example" not in response["content"]["application/json"]
    ]
    assert missing == []


def test_argument_schemas_are_built_once_not_per_request(client, user, auth, monkeypatch):
    """Routes declared with a schema class parse with one instance built at import: a request
    builds no marshmallow schema."""
    from marshmallow import Schema

    headers = auth(user)
    built: list[str] = []
    original = Schema.__init__

    def counting(self, *args, **kwargs):
        built.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Schema, "__init__", counting)
    # PATCH /me declares its arguments with a schema class.
    assert client.patch("/api/v1/me", json={"full_name": "Ada"}, headers=headers).status_code == 200
    assert client.get("/api/v1/bookings", headers=headers).status_code == 200
    assert built == []

"""The generated OpenAPI document covers every route with summaries, schemas and errors."""

from __future__ import annotations

import re

from openapi_spec_validator import validate


def spec(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_spec_is_valid_openapi_3(client, db):
    document = spec(client)
    assert document["openapi"].startswith("3.")
    validate(document)


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

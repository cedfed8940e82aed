"""Ids in URLs arrive through one converter: any id outside 1..2**31 - 1 is answered exactly
like an id that does not exist (the domain's own 404), and nothing else checks id ranges."""

from __future__ import annotations

import pytest

from app.platform.schemas import MAX_ID
from tests.factories import UserFactory

# One GET route per domain, with the error code its own missing id answers.
ROUTES = [
    ("/api/v1/lots/{}", "lot_not_found", "user"),
    ("/api/v1/bookings/{}", "booking_not_found", "user"),
    ("/api/v1/parking-events/{}", "not_found", "user"),
    ("/api/v1/exports/{}", "not_found", "user"),
    ("/api/v1/uploads/{}", "upload_not_found", "user"),
    ("/api/v1/admin/users/{}", "user_not_found", "admin"),
]


@pytest.mark.parametrize(("template", "code", "role"), ROUTES)
def test_out_of_range_ids_are_the_domains_own_404(client, auth, template, code, role):
    headers = auth(UserFactory(role=role))
    missing = client.get(template.format(MAX_ID), headers=headers)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == code
    for bad in (0, MAX_ID + 1, 2**40, 10**30):
        response = client.get(template.format(bad), headers=headers)
        assert response.status_code == 404, bad
        assert response.get_json()["error"]["code"] == code


def test_the_spec_bounds_every_id_parameter(app):
    spec = app.extensions["parkmind_api"].spec.to_dict()
    ids = [
        parameter["schema"]
        for path in spec["paths"].values()
        for item in [path, *(op for op in path.values() if isinstance(op, dict))]
        for parameter in item.get("parameters", [])
        if isinstance(item, dict)
        if parameter.get("in") == "path" and parameter["name"].endswith("_id")
    ]
    assert len(ids) >= 10
    assert all(s == {"type": "integer", "minimum": 1, "maximum": MAX_ID} for s in ids)

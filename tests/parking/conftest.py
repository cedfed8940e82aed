"""Helpers for the parking-memory tests: a second user and events made through the API."""

from __future__ import annotations

import pytest

API = "/api/v1"
PARIS = {"latitude": 48.8584, "longitude": 2.2945}


@pytest.fixture
def headers(user, auth):
    return auth(user)


@pytest.fixture
def stranger(db):
    from tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def new_event(client, headers):
    """``new_event(**fields)`` saves a parking event through the API and returns its JSON."""

    def make(**fields):
        body = {**PARIS, **fields}
        response = client.post(f"{API}/parking-events", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make

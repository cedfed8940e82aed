"""``preferences.language`` takes only the languages ParkMind ships (API.md, ``PATCH /me``)."""

from __future__ import annotations

API = "/api/v1"


def test_an_unsupported_language_is_a_422_naming_the_supported_ones(client, user, auth):
    response = client.patch(
        f"{API}/me", headers=auth(user), json={"preferences": {"language": "xx"}}
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    [message] = [
        text for field, texts in error["fields"].items() if "language" in field for text in texts
    ]
    assert message == "Must be one of the supported languages: en, de."
    assert client.get(f"{API}/me", headers=auth(user)).get_json()["preferences"]["language"] == "en"


def test_a_supported_language_is_stored_and_returned(client, user, auth):
    headers = auth(user)
    response = client.patch(f"{API}/me", headers=headers, json={"preferences": {"language": "de"}})
    assert response.status_code == 200
    assert response.get_json()["preferences"]["language"] == "de"
    assert client.get(f"{API}/me", headers=headers).get_json()["preferences"]["language"] == "de"

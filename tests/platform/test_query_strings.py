"""Query strings are parsed by flask-smorest's own parser: the same query string gives the same
answer every time, and an invalid one is refused every time."""

from __future__ import annotations

from tests.factories import LotFactory


def test_the_same_query_string_gives_the_same_page(client, user, auth):
    LotFactory(name="North Lot", spots=1)
    LotFactory(name="South Lot", spots=1)
    headers = auth(user)
    first = client.get("/api/v1/lots?q=north&per_page=1", headers=headers)
    second = client.get("/api/v1/lots?q=north&per_page=1", headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json()
    assert [lot["name"] for lot in first.get_json()["items"]] == ["North Lot"]
    everything = client.get("/api/v1/lots", headers=headers).get_json()
    assert {lot["name"] for lot in everything["items"]} >= {"North Lot", "South Lot"}


def test_an_invalid_query_string_is_refused_every_time(client, user, auth):
    headers = auth(user)
    for _ in range(2):
        response = client.get("/api/v1/lots?page=0", headers=headers)
        assert response.status_code == 422
        assert "page" in response.get_json()["error"]["fields"]
    assert client.get("/api/v1/lots?page=1", headers=headers).status_code == 200


def test_an_argument_changed_by_one_request_does_not_leak_into_the_next(client, user, auth):
    LotFactory(name="Only Lot", spots=1)
    headers = auth(user)
    narrowed = client.get("/api/v1/lots?q=nothing-matches", headers=headers).get_json()
    assert narrowed["items"] == []
    assert client.get("/api/v1/lots", headers=headers).get_json()["items"] != []

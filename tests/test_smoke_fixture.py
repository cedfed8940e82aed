def test_login_and_me(client, user, auth):
    response = client.get("/api/v1/me", headers=auth(user))
    assert response.status_code == 200
    assert response.get_json()["username"] == user.username

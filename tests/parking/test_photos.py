"""Photos on events and landmarks: own ready uploads only, signed URLs, discarded when replaced."""

from __future__ import annotations

from app.uploads.models import Upload
from tests.factories import UploadFactory
from tests.parking.conftest import API


def test_event_photo_is_checked_signed_and_discarded_when_replaced(
    client, headers, user, new_event, db
):
    first = UploadFactory(user=user, purpose="parking_event_photo")
    second = UploadFactory(user=user, purpose="parking_event_photo")
    event = new_event(photo_upload_id=first.id)
    assert event["photo_upload_id"] == first.id
    assert event["photo_url"]

    listed = client.get(f"{API}/parking-events", headers=headers).get_json()
    assert listed["items"][0]["photo_url"]

    response = client.patch(
        f"{API}/parking-events/{event['id']}", json={"photo_upload_id": second.id}, headers=headers
    )
    assert response.status_code == 200
    assert response.get_json()["photo_upload_id"] == second.id
    db.session.expire_all()
    assert db.session.get(Upload, first.id).status == "deleted"
    assert db.session.get(Upload, second.id).status == "ready"


def test_someone_elses_or_unfinished_or_wrong_purpose_upload_is_refused(
    client, headers, user, stranger, db
):
    theirs = UploadFactory(user=stranger, purpose="parking_event_photo")
    pending = UploadFactory(user=user, purpose="parking_event_photo", status="pending")
    avatar = UploadFactory(user=user, purpose="avatar")
    # Requests share the test's session: keep the uploads through each refused request.
    db.session.commit()
    for upload_id, status in ((theirs.id, 404), (pending.id, 409), (avatar.id, 422)):
        response = client.post(
            f"{API}/parking-events",
            json={"latitude": 1, "longitude": 1, "photo_upload_id": upload_id},
            headers=headers,
        )
        assert response.status_code == status, response.get_json()
    assert client.get(f"{API}/parking-events", headers=headers).get_json()["total"] == 0


def test_landmark_photo_uses_the_landmark_purpose(client, headers, user, new_event, db):
    event = new_event()
    wrong = UploadFactory(user=user, purpose="parking_event_photo")
    right = UploadFactory(user=user, purpose="landmark_photo")
    url = f"{API}/parking-events/{event['id']}/landmarks"
    db.session.commit()
    assert (
        client.post(
            url, json={"name": "x", "photo_upload_id": wrong.id}, headers=headers
        ).status_code
        == 422
    )
    created = client.post(url, json={"name": "x", "photo_upload_id": right.id}, headers=headers)
    assert created.status_code == 201
    assert created.get_json()["photo_url"]
    landmark_id = created.get_json()["id"]
    assert client.delete(f"{API}/landmarks/{landmark_id}", headers=headers).status_code == 204
    db.session.expire_all()
    assert db.session.get(Upload, right.id).status == "deleted"


def test_one_photo_belongs_to_one_event(client, auth, user):
    """Before: the same upload could be attached to two events, and deleting one removed the
    other's photo."""
    from tests.factories import UploadFactory

    headers = auth(user)
    photo = UploadFactory(user=user, purpose="parking_event_photo", status="ready")
    first = client.post(
        "/api/v1/parking-events",
        json={"latitude": 48.85, "longitude": 2.29, "photo_upload_id": photo.id},
        headers=headers,
    )
    assert first.status_code == 201, first.get_json()
    second = client.post(
        "/api/v1/parking-events",
        json={"latitude": 48.86, "longitude": 2.30, "photo_upload_id": photo.id},
        headers=headers,
    )
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "upload_in_use"
    # Saving the same photo on its own event again is not a second use.
    same = client.patch(
        f"/api/v1/parking-events/{first.get_json()['id']}",
        json={"photo_upload_id": photo.id},
        headers=headers,
    )
    assert same.status_code == 200, same.get_json()

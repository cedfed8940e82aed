"""A phone attaches photos to a parking event and its landmark, on local storage and on S3."""

from __future__ import annotations

from tests.uploads.conftest import image_bytes, served_key, stored_size


def test_event_and_landmark_photos_round_trip_and_leave_with_the_event(phone):
    event_bytes, landmark_bytes = image_bytes("JPEG"), image_bytes("PNG", size=(5, 5))
    event_photo = phone.upload(event_bytes, "parking_event_photo", "image/jpeg")
    landmark_photo = phone.upload(landmark_bytes, "landmark_photo", "image/png")

    created = phone.client.post(
        "/api/v1/parking-events",
        json={
            "latitude": 48.8584,
            "longitude": 2.2945,
            "location_type": "outdoor",
            "photo_upload_id": event_photo["id"],
        },
        headers=phone.headers,
    )
    assert created.status_code == 201, created.get_json()
    event_id = created.get_json()["id"]
    landmark = phone.client.post(
        f"/api/v1/parking-events/{event_id}/landmarks",
        json={"name": "Blue door", "photo_upload_id": landmark_photo["id"]},
        headers=phone.headers,
    )
    assert landmark.status_code == 201, landmark.get_json()

    shown = phone.client.get(f"/api/v1/parking-events/{event_id}", headers=phone.headers)
    status, fetched, _ = phone.fetch(shown.get_json()["photo_url"])
    assert (status, fetched) == (200, event_bytes)
    status, fetched, _ = phone.fetch(landmark.get_json()["photo_url"])
    assert (status, fetched) == (200, landmark_bytes)

    deleted = phone.client.delete(f"/api/v1/parking-events/{event_id}", headers=phone.headers)

    assert deleted.status_code == 204
    for upload_id in (event_photo["id"], landmark_photo["id"]):
        gone = phone.client.get(f"/api/v1/uploads/{upload_id}", headers=phone.headers)
        assert gone.status_code == 404


def test_a_photo_upload_cannot_be_attached_by_someone_else(phone, auth, db):
    from tests.factories import UserFactory

    photo = phone.upload(image_bytes("PNG"), "parking_event_photo", "image/png")
    stranger = auth(UserFactory())

    response = phone.client.post(
        "/api/v1/parking-events",
        json={
            "latitude": 48.8584,
            "longitude": 2.2945,
            "location_type": "outdoor",
            "photo_upload_id": photo["id"],
        },
        headers=stranger,
    )

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "upload_not_found"


def test_objects_of_a_deleted_event_are_removed_from_storage(phone):
    data = image_bytes("PNG")
    started = phone.start(purpose="parking_event_photo", content_type="image/png", data=data)
    ticket = started.get_json()
    phone.send(ticket, data)
    phone.complete(ticket["id"])
    event = phone.client.post(
        "/api/v1/parking-events",
        json={
            "latitude": 1.0,
            "longitude": 2.0,
            "location_type": "outdoor",
            "photo_upload_id": ticket["id"],
        },
        headers=phone.headers,
    ).get_json()
    key = served_key(ticket["id"])
    assert stored_size(key) == len(data)
    assert stored_size(ticket["fields"]["key"]) is None  # the incoming copy went at completion

    phone.client.delete(f"/api/v1/parking-events/{event['id']}", headers=phone.headers)

    assert stored_size(key) is None

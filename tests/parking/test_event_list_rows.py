"""The event list is read as plain rows (no ORM objects) and shows each event exactly as its own
page does: landmarks in order, the score, signed photo links."""

from __future__ import annotations

from datetime import timedelta

from app.platform.models import utcnow
from tests.factories import (
    LandmarkFactory,
    ParkingEventFactory,
    RetrievalScoreFactory,
    UploadFactory,
    UserFactory,
)
from tests.support import sql


def test_each_listed_event_is_the_event_as_shown_alone(client, db, auth):
    user = UserFactory()
    photo = UploadFactory(user=user)
    landmark_photo = UploadFactory(user=user, purpose="landmark_photo")
    now = utcnow()
    plain = ParkingEventFactory(user=user, parked_at=now - timedelta(hours=5), notes=None)
    rich = ParkingEventFactory(
        user=user,
        status="retrieved",
        parked_at=now - timedelta(hours=3),
        photo_upload_id=photo.id,
        level="B2",
        spot_label="17",
        meter_expires_at=now + timedelta(hours=1),
    )
    LandmarkFactory(event=rich, name="Blue door", photo_upload_id=landmark_photo.id)
    LandmarkFactory(event=rich, name="Kiosk", latitude=None, longitude=None)
    RetrievalScoreFactory(
        event=rich, total=87.5, landmark_recall=50, recall=[{"landmark_id": 1, "how": "free"}]
    )
    db.session.commit()
    headers = auth(user)

    listed = client.get("/api/v1/parking-events", headers=headers).get_json()["items"]

    assert [event["id"] for event in listed] == [rich.id, plain.id]
    for event in listed:
        alone = client.get(f"/api/v1/parking-events/{event['id']}", headers=headers).get_json()
        # Signed links carry their own signing time; the rest is equal field for field.
        for shown in (event, alone):
            for owner in (shown, *shown["landmarks"]):
                owner["photo_url"] = (owner["photo_url"] or "").split("/files/")[0] or None
        assert event == alone
    assert listed[0]["photo_url"] and listed[0]["landmarks"][0]["photo_url"]
    assert listed[0]["landmarks"][1]["photo_url"] is None and listed[1]["photo_url"] is None
    assert listed[0]["score"]["total"] == 87.5 and listed[1]["score"] is None


def test_the_list_reads_rows_not_objects_and_each_table_once(client, db, auth):
    user = UserFactory()
    for index in range(5):
        event = ParkingEventFactory(user=user, photo_upload_id=UploadFactory(user=user).id)
        LandmarkFactory(event=event)
        if index % 2:
            RetrievalScoreFactory(event=event)
    db.session.commit()
    headers = auth(user)
    from app.parking.models import Landmark, ParkingEvent, RetrievalScore

    with (
        sql.orm_objects(ParkingEvent, Landmark, RetrievalScore) as loaded,
        sql.statements(db.engine) as statements,
    ):
        assert client.get("/api/v1/parking-events", headers=headers).status_code == 200
    assert loaded == []  # plain rows: no ORM object is built for a list
    for table in ("landmarks", "retrieval_scores", "uploads"):
        assert len([s for s in statements if f" from {table} " in s]) == 1, (table, statements)


def test_saving_a_parking_place_is_one_insert_returning_the_row(client, db, auth):
    """No ORM object and no unit-of-work flush: the INSERT returns the row the API shows."""
    from app.parking.models import ParkingEvent

    user = UserFactory()
    db.session.commit()
    headers = auth(user)
    with (
        sql.orm_objects(ParkingEvent, event="init") as built,
        sql.statements(db.engine) as statements,
    ):
        response = client.post(
            "/api/v1/parking-events",
            json={"latitude": 52.5, "longitude": 13.4, "level": "2", "notes": "by the lift"},
            headers=headers,
        )
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/parking-events/{body['id']}")
    assert body["landmarks"] == [] and body["score"] is None and body["photo_url"] is None
    assert body == client.get(f"/api/v1/parking-events/{body['id']}", headers=headers).get_json()
    assert built == []
    inserts = [s for s in statements if s.startswith("insert into parking_events")]
    assert len(inserts) == 1 and " returning " in inserts[0]

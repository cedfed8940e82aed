"""Leaving ParkMind: DELETE /me (and an admin's erasure on request) leaves nothing personal in
any table, deletes the photos from storage, tells the caregivers, keeps payments anonymised,
refuses the old tokens and frees the username and e-mail."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.platform.extensions import db as _db
from app.platform.storage import get_storage
from tests import factories
from tests.privacy.conftest import API

CONFIRM = {"password": factories.PASSWORD, "confirm": "DELETE MY ACCOUNT"}
# Tables whose rows of the person must be gone entirely (by the column naming the person).
GONE = {
    "parking_events": "user_id",
    "assist_requests": "user_id",
    "retrieval_scores": "user_id",
    "alerts": "person_id",
    "notifications": "user_id",
    "devices": "user_id",
    "uploads": "user_id",
    "exports": "user_id",
    "auth_sessions": "user_id",
    "idempotency_keys": "user_id",
    "access_log": "person_id",
    "circle_audit": "person_id",
}


def every_value(connection) -> list[tuple[str, str, str]]:
    """(table, column, text) of every non-empty value in the database, except the one thing
    that must name her: the notice telling her caregivers she left (their inbox and the mail
    ledger's subject of it), purged with their other notices after NOTIFICATION_RETENTION_DAYS."""
    found = []
    for table in _db.metadata.sorted_tables:
        for row in connection.execute(sa.select(table)).mappings():
            if _departure_notice(table.name, row):
                continue
            for column, value in row.items():
                if value not in (None, ""):
                    found.append((table.name, column, str(value)))
    return found


def _departure_notice(table: str, row) -> bool:
    key = row.get("dedupe_key") or ""
    if table == "notifications":
        return row["kind"] == "circle_account_closed" and key.startswith("account-closed:")
    return table == "outbound_messages" and key.startswith("account-closed:")


def storage_keys(person_id: int) -> list[str]:
    from app.uploads.models import Upload

    return list(
        _db.session.scalars(sa.select(Upload.storage_key).where(Upload.user_id == person_id))
    )


def erase(client, person, **body):
    return client.delete(f"{API}/me", json={**CONFIRM, **body}, headers=person.headers)


def test_erasure_leaves_nothing_personal_in_any_table(client, auth, person, db, smtp, mailing):
    user_id = person.user.id
    keys = storage_keys(user_id)
    assert len(keys) == 2 and all(get_storage().head(key) for key in keys)
    payments = client.get(f"{API}/payments", headers=person.headers).get_json()["items"]
    assert len(payments) == 1

    assert erase(client, person, password="wrong-password").status_code == 422
    wrong = erase(client, person, confirm="delete my account")
    assert wrong.status_code == 422 and "confirm" in wrong.get_json()["error"]["fields"]
    assert client.get(f"{API}/me", headers=person.headers).status_code == 200

    response = erase(client, person)
    assert response.status_code == 204, response.get_json()

    # Old tokens are refused at once; the password opens nothing.
    assert client.get(f"{API}/me", headers=person.headers).status_code == 401
    login = client.post(
        f"{API}/auth/login", json={"login": "ada.lovelace", "password": factories.PASSWORD}
    )
    assert login.status_code == 401

    db.session.expire_all()
    connection = db.session.connection()
    for table, column, text in every_value(connection):
        for secret in person.secrets:
            assert secret not in text, f"{table}.{column} still holds {secret!r}"
    for table, column in GONE.items():
        left = connection.execute(
            sa.text(f"SELECT count(*) FROM {table} WHERE {column} = :u"), {"u": user_id}
        ).scalar()
        assert left == 0, table
    positions = connection.execute(sa.text("SELECT count(*) FROM retrieval_positions")).scalar()
    landmarks = connection.execute(sa.text("SELECT count(*) FROM landmarks")).scalar()
    assert positions == 0 and landmarks == 0

    # Financial records stay, detached from the person: only the anonymised account's id.
    row = connection.execute(
        sa.text(
            "SELECT username, email, full_name, phone, is_active, erased_at FROM users "
            "WHERE id = :u"
        ),
        {"u": user_id},
    ).one()
    assert row[0] == row[1] == f"erased:{user_id}"
    assert row[2] is None and row[3] is None and not row[4] and row[5] is not None
    kept = connection.execute(
        sa.text("SELECT id, amount_cents FROM payments WHERE user_id = :u"), {"u": user_id}
    ).all()
    assert [(p["id"], p["amount_cents"]) for p in payments] == [tuple(r) for r in kept]
    statuses = connection.execute(
        sa.text("SELECT status, vehicle_number FROM bookings WHERE user_id = :u"), {"u": user_id}
    ).all()
    assert statuses == [("completed", "")]  # the cancelled booking went; the paid one stays

    # Photos are gone from storage (local files or S3).
    assert [get_storage().head(key) for key in keys] == [None, None]

    # The caregiver and the person she cared for are told, in-app and by e-mail.
    # Each in their own language: her caregiver reads German.
    for other, title in (
        (person.caregiver, "Ada Lovelace hat ParkMind verlassen"),
        (person.cared_for, "Ada Lovelace left ParkMind"),
    ):
        notices = client.get(f"{API}/notifications", headers=auth(other)).get_json()["items"]
        closed = [n for n in notices if n["kind"] == "circle_account_closed"]
        assert len(closed) == 1 and closed[0]["title"] == title
        # What they were told about her before (her call for help) is gone.
        assert not [n for n in notices if "asked for help" in n["title"]]
    mails = smtp.wait_for(2, timeout=5)
    assert sorted(m["To"] for m in mails) == sorted(
        [person.caregiver.email, person.cared_for.email]
    )
    # Her place in Grace's circle ended; Grace keeps the record that it existed.
    circle = client.get(f"{API}/circle", headers=auth(person.cared_for)).get_json()
    assert circle["members"] == []
    assert (
        client.get(f"{API}/circle", headers=auth(person.caregiver)).get_json()["caring_for"] == []
    )

    # Username and e-mail are free again.
    again = client.post(
        f"{API}/auth/register",
        json={
            "username": "ada.lovelace",
            "email": "ada.lovelace@example.com",
            "password": "another-secret-1",
        },
    )
    assert again.status_code == 201, again.get_json()


def test_an_active_booking_must_be_released_first(client, person, db):
    lot = factories.LotFactory(spots=0)
    spot = factories.SpotFactory(lot=lot, number=1, is_occupied=True)
    factories.BookingFactory(
        user=person.user,
        lot=lot,
        spot=spot,
        status="active",
        ended_at=None,
        cost_cents=None,
        duration_minutes=None,
        active_spot_id=spot.id,
        active_user_id=person.user.id,
    )
    response = erase(client, person)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "account_in_use"
    assert client.get(f"{API}/me", headers=person.headers).status_code == 200


@pytest.mark.parametrize("storage_backend", ["local"], indirect=True)
def test_admin_erases_on_request_and_it_is_audited(client, auth, person, admin, db):
    headers = auth(admin)
    assert client.delete(f"{API}/admin/users/{admin.id}", headers=headers).status_code == 409
    response = client.delete(f"{API}/admin/users/{person.user.id}", headers=headers)
    assert response.status_code == 204
    assert client.get(f"{API}/me", headers=person.headers).status_code == 401
    entry = client.get(f"{API}/admin/audit?action=user.erase", headers=headers).get_json()
    [row] = entry["items"]
    assert row["target_id"] == person.user.id and row["actor"]["id"] == admin.id
    assert row["detail"]["parking_events"] == 1 and row["detail"]["uploads"] == 2
    again = client.delete(f"{API}/admin/users/{person.user.id}", headers=headers)
    assert again.status_code == 404

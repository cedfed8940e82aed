"""Check-then-write rules under real concurrency (gunicorn, one SQLite server or two MariaDB or
PostgreSQL servers on one database): every check that guards a write reads current data under
its lock."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import make_app
from tests.system.test_booking_races import bearer, burst, cluster, codes, sql  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _people(url: str, count: int, *, landmarks: int = 0, role: str = "user") -> list[dict]:
    """``count`` users, each with a session's tokens and a parking event with ``landmarks``."""
    from app.accounts.models import User
    from app.accounts.service import start_session
    from app.parking.models import Landmark, ParkingEvent
    from app.platform.extensions import db
    from app.platform.models import utcnow
    from tests.factories import _password_hash

    app = make_app(url)
    tag = uuid.uuid4().hex[:8]
    found = []
    with app.test_request_context():
        for index in range(count):
            person = User(
                username=f"w{tag}_{index}",
                email=f"w{tag}_{index}@example.com",
                password_hash=_password_hash(),
                role=role,
                preferences={},
            )
            db.session.add(person)
            db.session.flush()
            event = ParkingEvent(
                user_id=person.id, latitude=48.85, longitude=2.29, parked_at=utcnow()
            )
            event.landmarks = [Landmark(name=f"mark {n}") for n in range(landmarks)]
            db.session.add(event)
            db.session.flush()
            tokens = start_session(person)
            found.append({"id": person.id, "event_id": event.id, **tokens})
        db.session.commit()
        db.engine.dispose()
    return found


def test_the_landmark_cap_holds_under_concurrent_adds(cluster):  # noqa: F811
    url, bases = cluster["url"], cluster["bases"]
    [person] = _people(url, 1, landmarks=8)
    calls = [
        (
            "POST",
            f"{bases[i % len(bases)]}/api/v1/parking-events/{person['event_id']}/landmarks",
            bearer(person["access_token"]),
            {"name": f"corner {i}"},
        )
        for i in range(12)
    ]
    results = burst(calls)
    assert codes(results) == {(201, None): 2, (409, "too_many_landmarks"): 10}
    [(count,)] = sql(
        url, "SELECT count(*) FROM landmarks WHERE event_id = :e", e=person["event_id"]
    )
    assert count == 10


def test_one_refresh_token_redeemed_twice_at_once_has_one_winner(cluster):  # noqa: F811
    url, bases = cluster["url"], cluster["bases"]
    [person] = _people(url, 1)
    refresh = bearer(person["refresh_token"])
    calls = [
        ("POST", f"{bases[i % len(bases)]}/api/v1/auth/refresh", refresh, None) for i in (0, 1)
    ]
    results = burst(calls)
    assert codes(results) == {(200, None): 1, (401, "token_reused"): 1}
    # The reuse revoked the session: the winner's new tokens do not work either.
    winner = next(json.loads(body) for status, body in results if status == 200)
    again = burst(
        [("POST", f"{bases[0]}/api/v1/auth/refresh", bearer(winner["refresh_token"]), None)]
    )
    assert again[0][0] == 401
    [(revoked,)] = sql(
        url,
        "SELECT count(*) FROM auth_sessions WHERE user_id = :u AND revoked_at IS NOT NULL",
        u=person["id"],
    )
    assert revoked == 1


def test_six_users_taking_one_email_at_once_get_one_200_and_409s(cluster):  # noqa: F811
    url, bases = cluster["url"], cluster["bases"]
    people = _people(url, 6)
    wanted = f"same-{uuid.uuid4().hex[:8]}@example.com"
    calls = [
        (
            "PATCH",
            f"{bases[i % len(bases)]}/api/v1/me",
            bearer(p["access_token"]),
            {"email": wanted},
        )
        for i, p in enumerate(people)
    ]
    results = burst(calls)
    assert all(status < 500 for status, _ in results), results
    assert codes(results) == {(200, None): 1, (409, "email_taken"): 5}
    [(holders,)] = sql(url, "SELECT count(*) FROM users WHERE email = :e", e=wanted)
    assert holders == 1


def test_deleting_a_lot_while_drivers_book_leaves_no_booking_in_a_deleted_lot(cluster):  # noqa: F811
    from tests.system.test_booking_races import seed

    url, bases = cluster["url"], cluster["bases"]
    lot_id, people = seed(url, spots=20, users=12)
    admin = _people(url, 1, role="admin")[0]
    calls = [
        (
            "POST",
            f"{bases[i % len(bases)]}/api/v1/bookings",
            bearer(token),
            {"lot_id": lot_id, "vehicle_number": f"DL{i:04d}"},
        )
        for i, (_, token) in enumerate(people)
    ]
    calls.insert(
        6, ("DELETE", f"{bases[0]}/api/v1/admin/lots/{lot_id}", bearer(admin["access_token"]), None)
    )
    results = burst(calls)
    assert all(status < 500 for status, _ in results), results
    deleted = results[6][0] == 204
    rows = sql(
        url,
        "SELECT count(*) FROM bookings b JOIN lots l ON l.id = b.lot_id "
        "WHERE b.lot_id = :l AND b.status = 'active' AND l.deleted_at IS NOT NULL",
        l=lot_id,
    )
    assert rows == [(0,)]
    booked = sum(1 for status, _ in results if status == 201)
    # Deleted only if no booking got in first; a booking after the delete finds no lot.
    assert deleted == (booked == 0)
    assert results[6][0] in (204, 409)


def test_two_retrieval_starts_and_two_completes_at_once_have_one_winner_each(cluster):  # noqa: F811
    """The phone retries a start or a finish (or two devices send it): one moves the event, the
    other gets 409, and exactly one score is stored."""
    url, bases = cluster["url"], cluster["bases"]
    people = _people(url, 4)
    event_url = "{base}/api/v1/parking-events/{event}/retrieval/{step}"

    def pairs(step: str, body: dict | None) -> list:
        return [
            (
                "POST",
                event_url.format(base=bases[i % len(bases)], event=p["event_id"], step=step),
                bearer(p["access_token"]),
                body,
            )
            for p in people
            for i in (0, 1)
        ]

    started = burst(pairs("start", {}))
    assert codes(started) == {(200, None): 4, (409, "invalid_transition"): 4}
    completed = burst(pairs("complete", {"found": True}))
    assert codes(completed) == {(200, None): 4, (409, "invalid_transition"): 4}
    for person in people:
        [(scores,)] = sql(
            url,
            "SELECT count(*) FROM retrieval_scores WHERE event_id = :e",
            e=person["event_id"],
        )
        [(status,)] = sql(
            url, "SELECT status FROM parking_events WHERE id = :e", e=person["event_id"]
        )
        assert (scores, status) == (1, "retrieved")


def test_accepting_an_invitation_while_the_person_withdraws_it_ends_withdrawn(cluster):  # noqa: F811
    """Accept and withdraw at the same moment, for several pairs: the withdrawal always wins in
    the end (204; the membership ends ``revoked``), the accept either came first (200, then
    revoked) or finds nothing to accept (409), and the caregiver can read nothing afterwards."""
    url, bases = cluster["url"], cluster["bases"]
    people = _people(url, 8)
    pairs = list(zip(people[0::2], people[1::2], strict=True))
    invitations = []
    for person, carer in pairs:
        [(status, body)] = burst(
            [
                (
                    "POST",
                    f"{bases[0]}/api/v1/circle/invitations",
                    bearer(person["access_token"]),
                    {"login": _username(url, carer["id"]), "role": "caregiver"},
                )
            ]
        )
        assert status == 201, body
        invitations.append(json.loads(body)["id"])
    calls = []
    for index, ((person, carer), invitation) in enumerate(zip(pairs, invitations, strict=True)):
        calls.append(
            (
                "POST",
                f"{bases[index % len(bases)]}/api/v1/invitations/{invitation}/accept",
                bearer(carer["access_token"]),
                None,
            )
        )
        calls.append(
            (
                "DELETE",
                f"{bases[(index + 1) % len(bases)]}/api/v1/circle/members/{carer['id']}",
                bearer(person["access_token"]),
                None,
            )
        )
    results = burst(calls)
    assert all(status < 500 for status, _ in results), results
    for index, ((person, carer), invitation) in enumerate(zip(pairs, invitations, strict=True)):
        accepted, withdrawn = results[2 * index][0], results[2 * index + 1][0]
        assert withdrawn == 204, results[2 * index + 1]
        assert accepted in (200, 409), results[2 * index]
        [(status,)] = sql(url, "SELECT status FROM circle_memberships WHERE id = :m", m=invitation)
        actions = [
            action
            for (action,) in sql(
                url,
                "SELECT action FROM circle_audit WHERE membership_id = :m ORDER BY id",
                m=invitation,
            )
        ]
        assert status == "revoked"
        expected = ["invited", "accepted", "revoked"] if accepted == 200 else ["invited", "revoked"]
        assert actions == expected
        [(read, _)] = burst(
            [
                (
                    "GET",
                    f"{bases[0]}/api/v1/people/{person['id']}/parking-events/latest-active",
                    bearer(carer["access_token"]),
                    None,
                )
            ]
        )
        assert read in (403, 404)


def _username(url: str, user_id: int) -> str:
    [(username,)] = sql(url, "SELECT username FROM users WHERE id = :u", u=user_id)
    return username


def test_an_admin_closing_spots_while_drivers_book_never_hands_out_a_closed_spot(cluster):  # noqa: F811
    """Every spot of a lot is taken out of service while drivers book it: a booking either got
    its spot before the spot closed (the car stays until release, the admin's answer shows it)
    or was refused; no two bookings share a spot, and afterwards the lot takes nobody."""
    from tests.system.test_booking_races import seed

    url, bases = cluster["url"], cluster["bases"]
    lot_id, drivers = seed(url, spots=8, users=10)
    admin = _people(url, 1, role="admin")[0]
    spot_ids = [
        spot_id for (spot_id,) in sql(url, "SELECT id FROM spots WHERE lot_id = :l", l=lot_id)
    ]
    calls = [
        (
            "POST",
            f"{bases[i % len(bases)]}/api/v1/bookings",
            bearer(token),
            {"lot_id": lot_id, "vehicle_number": f"SC{i:04d}"},
        )
        for i, (_, token) in enumerate(drivers)
    ]
    for n, spot_id in enumerate(spot_ids):
        calls.insert(
            1 + 2 * n,
            (
                "PATCH",
                f"{bases[n % len(bases)]}/api/v1/admin/spots/{spot_id}",
                bearer(admin["access_token"]),
                {"status": "out_of_service"},
            ),
        )
    results = burst(calls)
    assert all(status < 500 for status, _ in results), results
    admin_answers = [
        json.loads(body)
        for (status, body), call in zip(results, calls, strict=True)
        if call[0] == "PATCH"
    ]
    assert all(answer["status"] in ("out_of_service", "occupied") for answer in admin_answers)
    booked = [
        json.loads(body)
        for (status, body), call in zip(results, calls, strict=True)
        if call[0] == "POST" and status == 201
    ]
    refused = codes(
        [
            (status, body)
            for (status, body), call in zip(results, calls, strict=True)
            if call[0] == "POST" and status != 201
        ]
    )
    assert set(refused) <= {(409, "lot_full")}, refused
    active = sql(
        url,
        "SELECT spot_id, count(*) FROM bookings WHERE lot_id = :l AND status = 'active' "
        "GROUP BY spot_id",
        l=lot_id,
    )
    assert all(count == 1 for _, count in active)
    assert len(active) == len(booked)
    assert {spot for spot, _ in active} == {b["spot"]["id"] for b in booked}
    closed = sql(
        url, "SELECT count(*) FROM spots WHERE lot_id = :l AND status = 'out_of_service'", l=lot_id
    )
    assert closed == [(len(spot_ids),)]
    late = burst(
        [
            (
                "POST",
                f"{bases[0]}/api/v1/bookings",
                bearer(_people(url, 1)[0]["access_token"]),
                {"lot_id": lot_id, "vehicle_number": "LATE0001"},
            )
        ]
    )
    assert codes(late) == {(409, "lot_full"): 1}


def test_shrinking_a_lot_while_drivers_book_never_strands_a_car_on_a_removed_spot(cluster):  # noqa: F811
    """Drivers fill a lot from spot 1 up while an admin shrinks it to 4 spots: the shrink either
    finds the top spots free and removes them (no booking gets one afterwards) or is refused
    because one is taken; never an active booking on a removed spot."""
    from tests.system.test_booking_races import seed

    url, bases = cluster["url"], cluster["bases"]
    lot_id, drivers = seed(url, spots=12, users=10)
    admin = _people(url, 1, role="admin")[0]
    calls = [
        (
            "POST",
            f"{bases[i % len(bases)]}/api/v1/bookings",
            bearer(token),
            {"lot_id": lot_id, "vehicle_number": f"SH{i:04d}"},
        )
        for i, (_, token) in enumerate(drivers)
    ]
    calls.insert(
        3,
        (
            "PATCH",
            f"{bases[0]}/api/v1/admin/lots/{lot_id}",
            bearer(admin["access_token"]),
            {"total_spots": 4},
        ),
    )
    results = burst(calls)
    assert all(status < 500 for status, _ in results), results
    shrink = results[3]
    assert shrink[0] in (200, 409), shrink
    stranded = sql(
        url,
        "SELECT count(*) FROM bookings b JOIN spots s ON s.id = b.spot_id "
        "WHERE b.lot_id = :l AND b.status = 'active' AND s.status = 'removed'",
        l=lot_id,
    )
    assert stranded == [(0,)]
    booked = sum(
        1
        for (status, _), call in zip(results, calls, strict=True)
        if call[0] == "POST" and status == 201
    )
    [(active,)] = sql(
        url, "SELECT count(*) FROM bookings WHERE lot_id = :l AND status = 'active'", l=lot_id
    )
    assert active == booked
    if shrink[0] == 200:
        assert booked <= 4
        [(live,)] = sql(
            url, "SELECT count(*) FROM spots WHERE lot_id = :l AND status != 'removed'", l=lot_id
        )
        assert live == 4
    else:
        assert json.loads(shrink[1])["error"]["code"] == "lot_in_use"

"""Circle notices are written in the recipient's language: a German-speaking person and an
English-speaking caregiver each read their own, through the API end to end."""

from __future__ import annotations

from tests.factories import CircleMembershipFactory, ParkingEventFactory, UserFactory

API = "/api/v1"


def inbox(client, headers) -> list[dict]:
    response = client.get(f"{API}/notifications", headers=headers)
    assert response.status_code == 200
    return response.get_json()["items"]


def test_each_side_of_an_invitation_is_told_in_their_own_language(client, auth, db):
    person = UserFactory(full_name="Ada Person", preferences={"language": "de"})
    carer = UserFactory(full_name="Sam Carer")  # the default: English
    person_h, carer_h = auth(person), auth(carer)

    invited = client.post(
        f"{API}/circle/invitations",
        json={"login": carer.username, "role": "caregiver"},
        headers=person_h,
    )
    assert invited.status_code == 201, invited.get_json()
    [told] = inbox(client, carer_h)
    assert told["title"] == "Ada Person invited you to their care circle"
    assert told["body"].startswith("Ada Person would like you to be their caregiver.")

    accepted = client.post(f"{API}/invitations/{invited.get_json()['id']}/accept", headers=carer_h)
    assert accepted.status_code == 200, accepted.get_json()
    [told] = inbox(client, person_h)
    assert told["kind"] == "circle_accepted"
    assert told["title"] == "Sam Carer ist Ihrem Betreuungskreis beigetreten"
    assert told["body"] == (
        "Sam Carer hat Ihre Einladung angenommen und ist jetzt in der Rolle "
        "„Betreuungsperson“ in Ihrem Betreuungskreis. Sie können die Person jederzeit entfernen."
    )


def test_a_german_invitee_reads_the_invitation_in_german(client, auth, db):
    person = UserFactory(full_name="Ada Person")
    viewer = UserFactory(preferences={"language": "de"})
    invited = client.post(
        f"{API}/circle/invitations",
        json={"login": viewer.username, "role": "viewer"},
        headers=auth(person),
    )
    assert invited.status_code == 201, invited.get_json()
    [told] = inbox(client, auth(viewer))
    assert told["title"] == "Ada Person hat Sie in den eigenen Betreuungskreis eingeladen"
    assert "„Beobachtende Person“" in told["body"] and "7 Tagen" in told["body"]
    assert "invited" not in told["title"] and "viewer" not in told["body"]


def test_an_sos_reaches_each_caregiver_in_the_caregivers_language(
    client, auth, db, app, mail_config, monkeypatch, smtp
):
    for key, value in mail_config.items():
        monkeypatch.setitem(app.config, key, value)
    person = UserFactory(full_name="Ada Person")  # English
    german = UserFactory(preferences={"language": "de"})
    english = UserFactory()
    for carer in (german, english):
        CircleMembershipFactory(person=person, member=carer)
    event = ParkingEventFactory(user=person, latitude=48.8584, longitude=2.2945)

    response = client.post(
        f"{API}/parking-events/{event.id}/assist",
        json={"level": 5, "latitude": 48.86, "longitude": 2.29},
        headers=auth(person),
    )
    assert response.status_code == 200, response.get_json()

    [told] = inbox(client, auth(german))
    assert told["title"] == "SOS: Ada Person braucht Sie vor Ort"
    assert told["body"].startswith("Ada Person findet das Auto nicht")
    [told] = inbox(client, auth(english))
    assert told["title"] == "SOS: Ada Person needs you to come"
    mails = {message["To"]: message for message in smtp.wait_for(2)}
    assert mails[german.email]["Subject"] == "ParkMind: SOS: Ada Person braucht Sie vor Ort"
    assert (
        "Die Einzelheiten finden Sie in ParkMind."
        in mails[german.email].get_body(("plain",)).get_content()
    )
    assert mails[english.email]["Subject"] == "ParkMind: SOS: Ada Person needs you to come"
    assert (
        "Open ParkMind to see the details."
        in mails[english.email].get_body(("plain",)).get_content()
    )

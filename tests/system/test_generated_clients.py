"""The clients a mobile developer generates from /api/openapi.json drive ParkMind end to end.

openapi-python-client generates a Python package from the live document of a real gunicorn
server; a whole driver journey and a whole caregiver journey run through it (no hand-written
HTTP), every answer parsed into the generated, typed models. openapi-typescript generates the
TypeScript types; a small program using them compiles under ``tsc --strict`` and the types hold
no ``unknown``. Starts real processes: marked ``system``.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from tests.support.live_server import live_server, migrated_database, server_env
from tests.support.spec_tools import TOOLS, spec_tool

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / ".venv" / "bin" / "openapi-python-client"
ADMIN_PASSWORD = "client-admin-password-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("clients")
    with migrated_database("sqlite", tmp_path) as url:
        from app.accounts.service import create_admin
        from app.platform.extensions import db
        from tests.conftest import make_app

        app = make_app(url)
        with app.app_context():
            create_admin(email="admin@clients.test", password=ADMIN_PASSWORD)
            db.session.commit()
            db.engine.dispose()
        env = server_env(url, tmp_path)
        with live_server(env, workers=2, threads=4, log_path=tmp_path / "gunicorn.log") as base:
            spec = tmp_path / "openapi.json"
            spec.write_bytes(requests.get(f"{base}/api/openapi.json", timeout=10).content)
            yield base, spec, tmp_path


@pytest.fixture(scope="module")
def sdk(server):
    """The generated package, imported."""
    _, spec, tmp_path = server
    out = tmp_path / "parkmind_client"
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(out),
            "--meta",
            "none",
            "--config",
            str(TOOLS / "python-client.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("parkmind_client")
    finally:
        sys.path.remove(str(tmp_path))


def op(sdk, name: str):
    """``op(sdk, "bookings.create_booking")``: a generated operation module."""
    return importlib.import_module(f"parkmind_client.api.{name}")


def call(module, status: int, **kwargs):
    """Run one operation; assert its status and return the parsed, typed body."""
    response = module.sync_detailed(**kwargs)
    assert response.status_code == status, (module.__name__, response.status_code, response.content)
    return response.parsed


def signed_in(sdk, base: str, login: str, password: str):
    from parkmind_client import AuthenticatedClient, Client
    from parkmind_client.models import Login

    tokens = call(
        op(sdk, "auth.log_in"),
        200,
        client=Client(base_url=base),
        body=Login(login=login, password=password),
    )
    return AuthenticatedClient(base_url=base, token=tokens.access_token)


def register(sdk, base: str, name: str):
    from parkmind_client import Client
    from parkmind_client.models import Register

    username = f"{name}{uuid.uuid4().hex[:6]}"
    user = call(
        op(sdk, "auth.register_user"),
        201,
        client=Client(base_url=base),
        body=Register(
            username=username,
            email=f"{username}@clients.test",
            password="client-secret-1",
            full_name=name.title(),
        ),
    )
    return user, signed_in(sdk, base, username, "client-secret-1")


def test_a_driver_journey_through_the_generated_python_client(server, sdk):
    from parkmind_client import models

    base = server[0]
    admin = signed_in(sdk, base, "admin@clients.test", ADMIN_PASSWORD)
    lot = call(
        op(sdk, "admin.admin_create_lot"),
        201,
        client=admin,
        body=models.LotCreate(
            name="Harbour",
            address="1 Quay",
            pin_code="560001",
            hourly_rate_cents=300,
            total_spots=4,
        ),
    )
    assert isinstance(lot, models.AdminLot) and lot.total_spots == 4

    user, driver = register(sdk, base, "driver")
    me = call(op(sdk, "me.get_me"), 200, client=driver)
    assert isinstance(me, models.User) and me.id == user.id
    lots = call(op(sdk, "lots.list_lots"), 200, client=driver)
    assert [item.id for item in lots.items] == [lot.id]

    booking = call(
        op(sdk, "bookings.create_booking"),
        201,
        client=driver,
        body=models.BookingCreate(lot_id=lot.id, vehicle_number="KA01AB1234"),
        idempotency_key=uuid.uuid4().hex,
    )
    assert isinstance(booking, models.Booking)
    assert booking.status == models.BookingStatus.ACTIVE
    active = call(op(sdk, "bookings.get_active_booking"), 200, client=driver)
    assert active.id == booking.id
    again = call(
        op(sdk, "bookings.create_booking"),
        409,
        client=driver,
        body=models.BookingCreate(lot_id=lot.id, vehicle_number="KA01AB1234"),
    )
    assert isinstance(again, models.Error409) and again.error.code == "already_parked"

    released = call(op(sdk, "bookings.release_booking"), 200, client=driver, booking_id=booking.id)
    assert released.status == models.BookingStatus.COMPLETED and released.cost_cents >= 0
    payments = call(op(sdk, "payments.list_payments"), 200, client=driver)
    [payment] = payments.items
    assert isinstance(payment, models.Payment) and payment.booking_id == booking.id
    receipt = op(sdk, "payments.get_payment_receipt").sync_detailed(
        client=driver, payment_id=payment.id
    )
    assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF")
    history = call(op(sdk, "bookings.list_bookings"), 200, client=driver)
    assert [item.id for item in history.items] == [booking.id]

    profile = call(
        op(sdk, "me.update_me"),
        200,
        client=driver,
        body=models.ProfileUpdate(
            preferences=models.Preferences(language=models.PreferencesLanguage.DE)
        ),
    )
    assert profile.preferences.language == "de"
    export = call(
        op(sdk, "privacy.export_my_data"), 202, client=driver, body=models.DataExport(email=False)
    )
    assert export.kind == models.ExportKind.PERSONAL_DATA
    missing = call(op(sdk, "bookings.get_booking"), 404, client=driver, booking_id=999999)
    assert missing.error.code == "booking_not_found"


def test_a_caregiver_journey_through_the_generated_python_client(server, sdk):
    from parkmind_client import models

    base = server[0]
    person, as_person = register(sdk, base, "person")
    carer, as_carer = register(sdk, base, "carer")
    invitation = call(
        op(sdk, "circle.create_invitation"),
        201,
        client=as_person,
        body=models.InvitationCreate(
            login=carer.username, role=models.InvitationCreateRole.CAREGIVER
        ),
    )
    accepted = call(
        op(sdk, "circle.accept_invitation"), 200, client=as_carer, invitation_id=invitation.id
    )
    assert accepted.status == models.MembershipStatus.ACCEPTED

    event = call(
        op(sdk, "parking.create_parking_event"),
        201,
        client=as_person,
        body=models.ParkingEventCreate(
            latitude=48.8584, longitude=2.2945, notes="Level 2, by the lift"
        ),
    )
    call(
        op(sdk, "parking.create_landmark"),
        201,
        client=as_person,
        event_id=event.id,
        body=models.LandmarkCreate(name="Blue door"),
    )
    seen = call(
        op(sdk, "circle.get_person_latest_parking_event"), 200, client=as_carer, user_id=person.id
    )
    assert isinstance(seen, models.ParkingEvent) and seen.notes == "Level 2, by the lift"
    assert [landmark.name for landmark in seen.landmarks] == ["Blue door"]
    log = call(op(sdk, "privacy.list_my_access_log"), 200, client=as_person)
    assert [(e.actor.id, e.resource) for e in log.items] == [
        (carer.id, models.AccessLogEntryResource.LATEST_PARKING_EVENT)
    ]

    call(
        op(sdk, "parking.start_retrieval"),
        200,
        client=as_person,
        event_id=event.id,
        body=models.Position(latitude=48.8590, longitude=2.2950),
    )
    help_ = call(
        op(sdk, "parking.request_assistance"),
        200,
        client=as_person,
        event_id=event.id,
        body=models.AssistRequest(level=5),
    )
    assert help_.level == 5
    alerts = call(op(sdk, "circle.list_alerts"), 200, client=as_carer)
    [alert] = alerts.items
    handled = call(
        op(sdk, "circle.acknowledge_alert"),
        200,
        client=as_carer,
        alert_id=alert.id,
        body=models.Acknowledge(eta_minutes=10),
    )
    assert handled.state == models.AlertState.ACKNOWLEDGED
    done = call(
        op(sdk, "parking.complete_retrieval"),
        200,
        client=as_person,
        event_id=event.id,
        body=models.RetrievalComplete(found=True),
    )
    assert done.status == models.ParkingEventStatus.RETRIEVED
    score = call(op(sdk, "parking.get_retrieval_score"), 200, client=as_person, event_id=event.id)
    assert isinstance(score, models.Score) and score.highest_assist_level == 5
    trend = call(
        op(sdk, "circle.get_person_score_trend"),
        200,
        client=as_carer,
        user_id=person.id,
        period=models.GetPersonScoreTrendPeriod.WEEK,
    )
    assert sum(point.count for point in trend) == 1


TYPESCRIPT_USE = """\
import type { paths, components } from "./schema";

type Booking = components["schemas"]["Booking"];
type CreateBody = paths["/api/v1/bookings"]["post"]["requestBody"]["content"]["application/json"];
type Created = paths["/api/v1/bookings"]["post"]["responses"]["201"]["content"]["application/json"];
type Problem = paths["/api/v1/bookings"]["post"]["responses"]["409"]["content"]["application/json"];

const body: CreateBody = { lot_id: 1, vehicle_number: "KA01AB1234" };
const status: Booking["status"] = "active";
function describe(booking: Created): string {
  const score: components["schemas"]["ParkingEvent"]["score"] = null;
  return `${booking.id} ${booking.lot.name} ${booking.status} ${String(score)}`;
}
function explain(problem: Problem): string {
  return `${problem.error.code}: ${problem.error.message}`;
}
export { body, status, describe, explain };
"""


def test_typescript_types_compile_strict_and_hold_no_unknown(server):
    openapi_typescript, tsc = spec_tool("openapi-typescript"), spec_tool("tsc")
    _, spec, tmp_path = server
    out = tmp_path / "ts"
    out.mkdir()
    generated = subprocess.run(
        [str(openapi_typescript), str(spec), "-o", str(out / "schema.d.ts")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert generated.returncode == 0, generated.stderr
    types = (out / "schema.d.ts").read_text()
    # Every schema is a real type. (Response headers keep openapi-typescript's own
    # ``[name: string]: unknown`` index signature, which no document can remove.)
    schemas = types[types.index("    schemas: {") : types.index("    responses: {")]
    assert [line for line in schemas.splitlines() if "unknown" in line] == []
    assert "JsonValue" in schemas
    (out / "use.ts").write_text(TYPESCRIPT_USE)
    compiled = subprocess.run(
        [
            str(tsc),
            "--strict",
            "--noEmit",
            "--target",
            "es2020",
            "--module",
            "es2020",
            str(out / "use.ts"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr

"""Build docs/postman/ParkMind.postman_collection.json from the OpenAPI document.

openapi-to-postmanv2 turns /api/openapi.json into requests (URLs, headers, example bodies);
this script orders them into a run that works against `make run`'s demo data, from signing in
to signing out: every request stores the ids the next ones need in collection variables, says
which account it runs as, and checks its status and that its JSON body matches the response
schema of the document. `make postman` rebuilds it; tests/system/test_postman.py runs it with
newman against a live server.

    python tools/spec/build_postman.py SPEC.json OUT_DIR
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONVERTER = HERE / "node_modules" / ".bin" / "openapi2postmanv2"
PHOTO = "photo.png"

# Who a request runs as: the Bearer token variable.
TOKENS = {
    "driver": "accessToken",
    "carer": "carerToken",
    "admin": "adminToken",
    "spare": "spareToken",
    "leaver": "leaverToken",
    "spareRefresh": "spareRefreshToken",
}

# The run, in order: (name, operationId, as, expected status, {variable: response JSON path},
# body override or None, {path variable: collection variable}, query string).
STEPS: list[tuple] = [
    ("Health", "getHealth", None, 200, {}, None, {}, ""),
    ("Readiness", "getReadiness", None, 200, {}, None, {}, ""),
    ("Web Push key", "getVapidPublicKey", None, 200, {}, None, {}, ""),
    (
        "Log in (driver)",
        "logIn",
        None,
        200,
        {"accessToken": "access_token", "refreshToken": "refresh_token", "driverId": "user.id"},
        {"login": "{{login}}", "password": "{{password}}"},
        {},
        "",
    ),
    (
        "Log in (caregiver)",
        "logIn",
        None,
        200,
        {"carerToken": "access_token", "carerId": "user.id", "carerLogin": "user.username"},
        {"login": "{{carerLogin}}", "password": "{{carerPassword}}"},
        {},
        "",
    ),
    (
        "Log in (admin)",
        "logIn",
        None,
        200,
        {"adminToken": "access_token"},
        {"login": "{{adminLogin}}", "password": "{{adminPassword}}"},
        {},
        "",
    ),
    (
        "Register a spare account",
        "registerUser",
        None,
        201,
        {"spareId": "id"},
        {
            "username": "{{spareUsername}}",
            "email": "{{spareUsername}}@example.com",
            "password": "{{sparePassword}}",
            "full_name": "Spare Account",
        },
        {},
        "",
    ),
    (
        "Log in (spare)",
        "logIn",
        None,
        200,
        {"spareToken": "access_token", "spareRefreshToken": "refresh_token"},
        {"login": "{{spareUsername}}", "password": "{{sparePassword}}"},
        {},
        "",
    ),
    (
        "Register an account to close",
        "registerUser",
        None,
        201,
        {"leaverId": "id"},
        {
            "username": "{{leaverUsername}}",
            "email": "{{leaverUsername}}@example.com",
            "password": "{{sparePassword}}",
        },
        {},
        "",
    ),
    (
        "Log in (closing account)",
        "logIn",
        None,
        200,
        {"leaverToken": "access_token"},
        {"login": "{{leaverUsername}}", "password": "{{sparePassword}}"},
        {},
        "",
    ),
    (
        "Refresh the spare's tokens",
        "refreshTokens",
        "spareRefresh",
        200,
        {"spareToken": "access_token", "spareRefreshToken": "refresh_token"},
        None,
        {},
        "",
    ),
    ("Me", "getMe", "driver", 200, {}, None, {}, ""),
    ("Update me", "updateMe", "driver", 200, {}, {"vehicle_number": "KA01AB1234"}, {}, ""),
    ("My dashboard", "getMyStats", "driver", 200, {}, None, {}, ""),
    (
        "Change the spare's password",
        "changePassword",
        "spare",
        204,
        {},
        {"current_password": "{{sparePassword}}", "new_password": "{{sparePassword}}-2"},
        {},
        "",
    ),
    ("Lots", "listLots", "driver", 200, {"lotId": "items.0.id"}, None, {}, ""),
    ("One lot", "getLot", "driver", 200, {}, None, {"lot_id": "lotId"}, ""),
    (
        "Book",
        "createBooking",
        "driver",
        201,
        {"bookingId": "id"},
        {"lot_id": "{{lotId}}", "vehicle_number": "KA01AB1234"},
        {},
        "",
    ),
    ("My active booking", "getActiveBooking", "driver", 200, {}, None, {}, ""),
    ("One booking", "getBooking", "driver", 200, {}, None, {"booking_id": "bookingId"}, ""),
    ("My bookings", "listBookings", "driver", 200, {}, None, {}, ""),
    ("Release", "releaseBooking", "driver", 200, {}, None, {"booking_id": "bookingId"}, ""),
    ("My payments", "listPayments", "driver", 200, {"paymentId": "items.0.id"}, None, {}, ""),
    ("One payment", "getPayment", "driver", 200, {}, None, {"payment_id": "paymentId"}, ""),
    (
        "Receipt (PDF)",
        "getPaymentReceipt",
        "driver",
        200,
        {},
        None,
        {"payment_id": "paymentId"},
        "",
    ),
    (
        "Start a photo upload",
        "createUpload",
        "driver",
        201,
        {
            "uploadId": "id",
            "uploadKey": "fields.key",
            "uploadPolicy": "fields.policy",
            "uploadUrl": "url",
        },
        {
            "purpose": "parking_event_photo",
            "content_type": "image/png",
            "size_bytes": "{{photoSize}}",
        },
        {},
        "",
    ),
    ("Send the photo (local storage)", "receiveLocalUpload", None, 204, {}, "photo", {}, ""),
    (
        "Complete the upload",
        "completeUpload",
        "driver",
        200,
        {"photoToken": "photo_url"},
        None,
        {"upload_id": "uploadId"},
        "",
    ),
    ("One upload", "getUpload", "driver", 200, {}, None, {"upload_id": "uploadId"}, ""),
    (
        "The photo behind its signed link",
        "downloadLocalFile",
        None,
        200,
        {},
        None,
        {"token": "photoToken"},
        "",
    ),
    (
        "Save where I parked",
        "createParkingEvent",
        "driver",
        201,
        {"eventId": "id"},
        {
            "latitude": 40.4168,
            "longitude": -3.7038,
            "location_type": "indoor",
            "level": "-2",
            "spot_label": "B17",
            "notes": "Next to the lift, blue pillar",
            "photo_upload_id": "{{uploadId}}",
        },
        {},
        "",
    ),
    ("One parking event", "getParkingEvent", "driver", 200, {}, None, {"event_id": "eventId"}, ""),
    ("My parking events", "listParkingEvents", "driver", 200, {}, None, {}, ""),
    ("Where is my car", "getLatestActiveParkingEvent", "driver", 200, {}, None, {}, ""),
    (
        "Correct the notes",
        "updateParkingEvent",
        "driver",
        200,
        {},
        None,
        {"event_id": "eventId"},
        "",
    ),
    (
        "Add a landmark",
        "createLandmark",
        "driver",
        201,
        {"landmarkId": "id"},
        None,
        {"event_id": "eventId"},
        "",
    ),
    ("Landmarks", "listLandmarks", "driver", 200, {}, None, {"event_id": "eventId"}, ""),
    (
        "Correct a landmark",
        "updateLandmark",
        "driver",
        200,
        {},
        None,
        {"landmark_id": "landmarkId"},
        "",
    ),
    (
        "Directions",
        "getDirections",
        "driver",
        200,
        {},
        None,
        {"event_id": "eventId"},
        "from=40.4172,-3.7045",
    ),
    (
        "Invite a caregiver",
        "createInvitation",
        "driver",
        201,
        {"invitationId": "id"},
        {"login": "{{carerLogin}}", "role": "caregiver"},
        {},
        "",
    ),
    (
        "The invitation",
        "getInvitation",
        "driver",
        200,
        {},
        None,
        {"invitation_id": "invitationId"},
        "",
    ),
    (
        "Accept it (caregiver)",
        "acceptInvitation",
        "carer",
        200,
        {},
        None,
        {"invitation_id": "invitationId"},
        "",
    ),
    ("My circle", "getCircle", "driver", 200, {}, None, {}, ""),
    (
        "Invite the spare as viewer",
        "createInvitation",
        "driver",
        201,
        {"spareInvitationId": "id"},
        {"login": "{{spareUsername}}", "role": "viewer"},
        {},
        "",
    ),
    (
        "Decline it (spare)",
        "declineInvitation",
        "spare",
        200,
        {},
        None,
        {"invitation_id": "spareInvitationId"},
        "",
    ),
    (
        "The person's car (caregiver)",
        "getPersonLatestParkingEvent",
        "carer",
        200,
        {},
        None,
        {"user_id": "driverId"},
        "",
    ),
    (
        "The person's trend (caregiver)",
        "getPersonScoreTrend",
        "carer",
        200,
        {},
        None,
        {"user_id": "driverId"},
        "period=week",
    ),
    ("Start walking back", "startRetrieval", "driver", 200, {}, None, {"event_id": "eventId"}, ""),
    ("My walk back", "getMyLiveRetrieval", "driver", 200, {}, None, {"event_id": "eventId"}, ""),
    (
        "The walk back (caregiver)",
        "getPersonLiveRetrieval",
        "carer",
        200,
        {},
        None,
        {"user_id": "driverId"},
        "",
    ),
    (
        "Positions",
        "recordRetrievalPositions",
        "driver",
        202,
        {},
        {
            "positions": [
                {
                    "latitude": 40.41702,
                    "longitude": -3.70421,
                    "accuracy_m": 6,
                    "recorded_at": "{{now}}",
                }
            ]
        },
        {"event_id": "eventId"},
        "",
    ),
    ("Pause", "pauseRetrieval", "driver", 200, {}, None, {"event_id": "eventId"}, ""),
    ("Resume", "resumeRetrieval", "driver", 200, {}, None, {"event_id": "eventId"}, ""),
    (
        "Ask to be called",
        "requestAssistance",
        "driver",
        200,
        {},
        {"level": 4},
        {"event_id": "eventId"},
        "",
    ),
    ("Alerts (caregiver)", "listAlerts", "carer", 200, {"alertId": "items.0.id"}, None, {}, ""),
    ("One alert (caregiver)", "getAlert", "carer", 200, {}, None, {"alert_id": "alertId"}, ""),
    (
        "I am coming (caregiver)",
        "acknowledgeAlert",
        "carer",
        200,
        {},
        None,
        {"alert_id": "alertId"},
        "",
    ),
    ("Close the alert", "resolveAlert", "driver", 200, {}, None, {"alert_id": "alertId"}, ""),
    ("Found the car", "completeRetrieval", "driver", 200, {}, None, {"event_id": "eventId"}, ""),
    ("Its score", "getRetrievalScore", "driver", 200, {}, None, {"event_id": "eventId"}, ""),
    ("My scores", "listScores", "driver", 200, {}, None, {}, ""),
    ("My trend", "getScoreTrend", "driver", 200, {}, None, {}, "period=week"),
    (
        "Notifications (caregiver)",
        "listNotifications",
        "carer",
        200,
        {"notificationId": "items.0.id"},
        None,
        {},
        "",
    ),
    (
        "Read one",
        "markNotificationRead",
        "carer",
        200,
        {},
        None,
        {"notification_id": "notificationId"},
        "",
    ),
    ("Read all", "markAllNotificationsRead", "carer", 204, {}, None, {}, ""),
    (
        "Register this phone",
        "registerDevice",
        "driver",
        201,
        {"deviceId": "id"},
        {"kind": "fcm", "token": "fcm-token-{{runId}}", "name": "Pixel 9"},
        {},
        "",
    ),
    ("My devices", "listDevices", "driver", 200, {}, None, {}, ""),
    ("Forget this phone", "deleteDevice", "driver", 204, {}, None, {"device_id": "deviceId"}, ""),
    (
        "Quote",
        "quoteReservation",
        "driver",
        200,
        {},
        {"lot_id": "{{lotId}}", "start_at": "{{startAt}}", "end_at": "{{endAt}}"},
        {},
        "",
    ),
    (
        "Reserve",
        "createReservation",
        "driver",
        201,
        {"reservationId": "id"},
        {
            "lot_id": "{{lotId}}",
            "start_at": "{{startAt}}",
            "end_at": "{{endAt}}",
            "vehicle_number": "KA01AB1234",
        },
        {},
        "",
    ),
    (
        "One reservation",
        "getReservation",
        "driver",
        200,
        {},
        None,
        {"reservation_id": "reservationId"},
        "",
    ),
    ("My reservations", "listReservations", "driver", 200, {}, None, {}, ""),
    (
        "Extend",
        "extendReservation",
        "driver",
        200,
        {},
        {"end_at": "{{extendTo}}"},
        {"reservation_id": "reservationId"},
        "",
    ),
    (
        "Check in",
        "checkInReservation",
        "driver",
        200,
        {},
        None,
        {"reservation_id": "reservationId"},
        "",
    ),
    (
        "Leave",
        "releaseReservation",
        "driver",
        200,
        {},
        None,
        {"reservation_id": "reservationId"},
        "",
    ),
    (
        "Reserve again",
        "createReservation",
        "driver",
        201,
        {"otherReservationId": "id"},
        {
            "lot_id": "{{lotId}}",
            "start_at": "{{laterStartAt}}",
            "end_at": "{{laterEndAt}}",
            "vehicle_number": "KA01AB1234",
        },
        {},
        "",
    ),
    (
        "Cancel",
        "cancelReservation",
        "driver",
        200,
        {},
        None,
        {"reservation_id": "otherReservationId"},
        "",
    ),
    ("Export my bookings", "createExport", "driver", 202, {"exportId": "id"}, None, {}, ""),
    ("The export", "getExport", "driver", 200, {}, None, {"export_id": "exportId"}, ""),
    ("My exports", "listExports", "driver", 200, {}, None, {}, ""),
    ("Download it", "downloadExport", "driver", 200, {}, None, {"export_id": "exportId"}, ""),
    ("Export all my data", "exportMyData", "driver", 202, {}, {"email": False}, {}, ""),
    ("Who read my data", "listMyAccessLog", "driver", 200, {}, None, {}, ""),
    ("Lots (admin)", "adminListLots", "admin", 200, {}, None, {}, ""),
    (
        "Create a lot",
        "adminCreateLot",
        "admin",
        201,
        {"newLotId": "id"},
        {
            "name": "Postman Lot {{runId}}",
            "address": "1 Quay Street",
            "pin_code": "560001",
            "hourly_rate_cents": 300,
            "total_spots": 3,
        },
        {},
        "",
    ),
    ("One lot (admin)", "adminGetLot", "admin", 200, {}, None, {"lot_id": "newLotId"}, ""),
    ("Update the lot", "adminUpdateLot", "admin", 200, {}, None, {"lot_id": "newLotId"}, ""),
    (
        "Its spots",
        "adminListSpots",
        "admin",
        200,
        {"spotId": "items.0.id"},
        None,
        {"lot_id": "newLotId"},
        "",
    ),
    (
        "Take a spot out of service",
        "adminUpdateSpot",
        "admin",
        200,
        {},
        None,
        {"spot_id": "spotId"},
        "",
    ),
    ("Delete the lot", "adminDeleteLot", "admin", 204, {}, None, {"lot_id": "newLotId"}, ""),
    ("Users", "adminListUsers", "admin", 200, {}, None, {}, ""),
    ("One user", "adminGetUser", "admin", 200, {}, None, {"user_id": "driverId"}, ""),
    ("Update a user", "adminUpdateUser", "admin", 200, {}, None, {"user_id": "spareId"}, ""),
    ("Bookings (admin)", "adminListBookings", "admin", 200, {}, None, {}, ""),
    ("Reservations (admin)", "adminListReservations", "admin", 200, {}, None, {}, ""),
    ("Statistics", "adminGetStats", "admin", 200, {}, None, {}, ""),
    ("Activity", "adminListActivity", "admin", 200, {}, None, {}, ""),
    ("Payments (admin)", "adminListPayments", "admin", 200, {}, None, {}, ""),
    ("Mark paid", "adminMarkPaymentPaid", "admin", 200, {}, None, {"payment_id": "paymentId"}, ""),
    ("Refund", "adminRefundPayment", "admin", 200, {}, None, {"payment_id": "paymentId"}, ""),
    ("Audit log", "adminListAudit", "admin", 200, {}, None, {}, ""),
    (
        "Remove the caregiver",
        "removeCircleMember",
        "driver",
        204,
        {},
        None,
        {"user_id": "carerId"},
        "",
    ),
    (
        "Delete a landmark",
        "deleteLandmark",
        "driver",
        204,
        {},
        None,
        {"landmark_id": "landmarkId"},
        "",
    ),
    (
        "Delete the parking event",
        "deleteParkingEvent",
        "driver",
        204,
        {},
        None,
        {"event_id": "eventId"},
        "",
    ),
    (
        "Erase an account on request (admin)",
        "adminEraseUser",
        "admin",
        204,
        {},
        None,
        {"user_id": "spareId"},
        "",
    ),
    (
        "Close my account",
        "eraseMyAccount",
        "leaver",
        204,
        {},
        {"password": "{{sparePassword}}", "confirm": "DELETE MY ACCOUNT"},
        {},
        "",
    ),
    ("Log out", "logOut", "driver", 204, {}, {"refresh_token": "{{refreshToken}}"}, {}, ""),
]
# Operations that need what only an e-mail carries (a signed unsubscribe link): their own folder,
# run by tests/system/test_postman.py with a token it signs (in Postman: paste it from an e-mail).
FROM_EMAILS = ("getEmailSubscription", "unsubscribeEmail")

PREREQUEST = """\
const now = Date.now();
const iso = (ms) => new Date(ms).toISOString().replace(/\\.\\d{3}Z$/, "Z");
if (!pm.collectionVariables.get("runId")) {
  const run = String(now).slice(-9);
  pm.collectionVariables.set("runId", run);
  pm.collectionVariables.set("spareUsername", "postman_spare_" + run);
  pm.collectionVariables.set("leaverUsername", "postman_leaver_" + run);
  pm.collectionVariables.set("sparePassword", "postman-secret-" + run);
  pm.collectionVariables.set("startAt", iso(now + 10 * 60000));
  pm.collectionVariables.set("endAt", iso(now + 70 * 60000));
  pm.collectionVariables.set("extendTo", iso(now + 100 * 60000));
  pm.collectionVariables.set("laterStartAt", iso(now + 26 * 3600000));
  pm.collectionVariables.set("laterEndAt", iso(now + 28 * 3600000));
}
pm.collectionVariables.set("now", new Date(now + 1000).toISOString());
"""


def convert(spec_path: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "collection.json"
        subprocess.run(
            [
                str(CONVERTER),
                "-s",
                str(spec_path),
                "-o",
                str(out),
                "-p",
                "-O",
                "folderStrategy=Paths,requestParametersResolution=Example,"
                "exampleParametersResolution=Example",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(out.read_text())


def requests_by_operation(collection: dict, spec: dict) -> dict[str, dict]:
    """The converter's request items, keyed by the operationId of their method and path."""
    ids = {}
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if method != "parameters":
                key = (method.upper(), re.sub(r"\{([a-z_]+)\}", r":\1", path))
                ids[key] = operation["operationId"]
    found = {}

    def walk(items):
        for item in items:
            if "item" in item:
                walk(item["item"])
                continue
            request = item["request"]
            path = "/" + "/".join(request["url"]["path"])
            found[ids[(request["method"], path)]] = item

    walk(collection["item"])
    return found


def resolve(schema, components, depth=0):
    """A schema with every $ref replaced by its target (Postman's validator needs them inline)."""
    if depth > 40:
        raise ValueError("schema too deep")
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return resolve(components[name], components, depth + 1)
        return {key: resolve(value, components, depth + 1) for key, value in schema.items()}
    if isinstance(schema, list):
        return [resolve(value, components, depth + 1) for value in schema]
    return schema


def step_item(item: dict, step: tuple, spec_operation: dict, components: dict) -> dict:
    name, _, who, status, store, body, variables, query = step
    item = copy.deepcopy(item)
    item.pop("id", None)
    item["name"] = name
    item["response"] = []
    request = item["request"]
    request["name"] = name
    request["auth"] = (
        {"type": "bearer", "bearer": [{"key": "token", "value": "{{" + TOKENS[who] + "}}"}]}
        if who
        else {"type": "noauth"}
    )
    for variable in request["url"].get("variable", []):
        variable["value"] = "{{" + variables[variable["key"]] + "}}"
    request["url"]["query"] = [
        {"key": key, "value": value}
        for key, value in (pair.split("=", 1) for pair in query.split("&") if pair)
    ]
    for header in request.get("header", []):
        if header["key"] == "Idempotency-Key":
            header["value"] = "{{$guid}}"  # a new key per send: a retry would reuse it
    if body is None:
        content = spec_operation.get("requestBody", {}).get("content", {})
        body = content.get("application/json", {}).get("example")
    if body == "photo":
        request["body"] = {
            "mode": "formdata",
            "formdata": [
                {"key": "key", "value": "{{uploadKey}}", "type": "text"},
                {"key": "Content-Type", "value": "image/png", "type": "text"},
                {"key": "policy", "value": "{{uploadPolicy}}", "type": "text"},
                {"key": "file", "type": "file", "src": PHOTO},
            ],
        }
        request["url"] = "{{uploadUrl}}"
        request["header"] = []
    elif body is not None:
        raw = json.dumps(body, indent=2)
        # Numbers held in variables go in unquoted.
        raw = re.sub(r'"(\{\{(?:lotId|uploadId|photoSize)\}\})"', r"\1", raw)
        request["body"] = {"mode": "raw", "raw": raw, "options": {"raw": {"language": "json"}}}
    item["event"] = [
        {
            "listen": "test",
            "script": {
                "type": "text/javascript",
                "exec": tests(status, store, spec_operation, components).splitlines(),
            },
        }
    ]
    return item


def tests(status: int, store: dict, operation: dict, components: dict) -> str:
    lines = [f'pm.test("answers {status}", () => pm.response.to.have.status({status}));']
    content = operation["responses"].get(str(status), {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is not None:
        resolved = json.dumps(resolve(schema, components))
        lines.append(f"const schema = {resolved};")
        lines.append('pm.test("matches its schema", () => pm.response.to.have.jsonSchema(schema));')
    if store:
        lines.append("const body = pm.response.json();")
        lines.append(
            "const at = (path) => path.split('.').reduce((v, k) => (v == null ? v : v[k]), body);"
        )
        for variable, path in store.items():
            value = f"at({json.dumps(path)})"
            if variable == "photoToken":
                value = f"String({value}).split('/storage/files/')[1]"
            lines.append(f"pm.collectionVariables.set({json.dumps(variable)}, {value});")
    return "\n".join(lines)


def build(spec_path: Path, out_dir: Path) -> dict:
    spec = json.loads(spec_path.read_text())
    components = spec["components"]["schemas"]
    operations = {
        operation["operationId"]: operation
        for methods in spec["paths"].values()
        for method, operation in methods.items()
        if method != "parameters"
    }
    items = requests_by_operation(convert(spec_path), spec)
    missing = sorted(set(operations) - {s[1] for s in STEPS} - set(FROM_EMAILS))
    if missing:
        raise SystemExit(f"operations missing from the Postman run: {missing}")
    run = [step_item(items[step[1]], step, operations[step[1]], components) for step in STEPS]
    later = [
        step_item(
            items[op],
            (operations[op]["summary"], op, None, 200, {}, None, {"token": "unsubscribeToken"}, ""),
            operations[op],
            components,
        )
        for op in FROM_EMAILS
    ]
    photo_size = (out_dir / PHOTO).stat().st_size
    collection = {
        "info": {
            "name": "ParkMind API",
            "description": spec["info"]["description"],
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
        },
        "event": [
            {
                "listen": "prerequest",
                "script": {"type": "text/javascript", "exec": PREREQUEST.splitlines()},
            }
        ],
        "variable": [
            {"key": "baseUrl", "value": "http://127.0.0.1:5000"},
            {"key": "photoSize", "value": str(photo_size)},
        ],
        "item": [
            {"name": "A whole day, in order", "item": run},
            {
                "name": "Links from e-mails (paste the token from a List-Unsubscribe header)",
                "item": later,
            },
        ],
    }
    environment = {
        "name": "ParkMind (make run)",
        "values": [
            {"key": "baseUrl", "value": "http://127.0.0.1:5000", "enabled": True},
            {"key": "login", "value": "demo_driver", "enabled": True},
            {"key": "password", "value": "", "enabled": True, "type": "secret"},
            {"key": "carerLogin", "value": "demo_carer", "enabled": True},
            {"key": "carerPassword", "value": "", "enabled": True, "type": "secret"},
            {"key": "adminLogin", "value": "", "enabled": True},
            {"key": "adminPassword", "value": "", "enabled": True, "type": "secret"},
        ],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ParkMind.postman_collection.json").write_text(
        json.dumps(collection, indent=2, ensure_ascii=False) + "\n"
    )
    (out_dir / "ParkMind.postman_environment.json").write_text(
        json.dumps(environment, indent=2) + "\n"
    )
    return collection


if __name__ == "__main__":
    build(Path(sys.argv[1]), Path(sys.argv[2]))

"""What the generated OpenAPI document says beyond what the views declare: an ``operationId`` in
verb-noun form for every operation (the names generated clients get), a description with the
operation's access rule and statuses, the server, the overview text and the contact.

Applied by an apispec plugin while smorest registers each view, so the document served at
``/api/openapi.json`` is the linted one (``tests/platform/test_openapi.py`` runs Spectral on it
with zero warnings allowed, and fails for an operation missing from ``OPERATION_IDS``).
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from apispec import BasePlugin

from app.platform.error_codes import ERROR_CODES
from app.platform.openapi_examples import REQUEST_EXAMPLES, RESPONSE_EXAMPLES
from app.platform.schemas import JSON_SCHEMAS

API = "/api/v1"

# (method, path) -> operationId. Verbs: list, get, create, update, delete, and the domain's own
# (book, release, cancel...) where the operation is an action, not a plain update.
OPERATION_IDS: dict[tuple[str, str], str] = {
    ("GET", "/health"): "getHealth",
    ("GET", "/ready"): "getReadiness",
    ("POST", "/auth/register"): "registerUser",
    ("POST", "/auth/login"): "logIn",
    ("POST", "/auth/refresh"): "refreshTokens",
    ("POST", "/auth/logout"): "logOut",
    ("GET", "/me"): "getMe",
    ("PATCH", "/me"): "updateMe",
    ("DELETE", "/me"): "eraseMyAccount",
    ("POST", "/me/password"): "changePassword",
    ("POST", "/me/data-export"): "exportMyData",
    ("GET", "/me/access-log"): "listMyAccessLog",
    ("GET", "/me/stats"): "getMyStats",
    ("GET", "/lots"): "listLots",
    ("GET", "/lots/{lot_id}"): "getLot",
    ("GET", "/bookings"): "listBookings",
    ("POST", "/bookings"): "createBooking",
    ("GET", "/bookings/active"): "getActiveBooking",
    ("GET", "/bookings/{booking_id}"): "getBooking",
    ("POST", "/bookings/{booking_id}/release"): "releaseBooking",
    ("POST", "/reservations/quote"): "quoteReservation",
    ("GET", "/reservations"): "listReservations",
    ("POST", "/reservations"): "createReservation",
    ("GET", "/reservations/{reservation_id}"): "getReservation",
    ("POST", "/reservations/{reservation_id}/check-in"): "checkInReservation",
    ("POST", "/reservations/{reservation_id}/extend"): "extendReservation",
    ("POST", "/reservations/{reservation_id}/cancel"): "cancelReservation",
    ("POST", "/reservations/{reservation_id}/release"): "releaseReservation",
    ("GET", "/admin/reservations"): "adminListReservations",
    ("GET", "/payments"): "listPayments",
    ("GET", "/payments/{payment_id}"): "getPayment",
    ("GET", "/payments/{payment_id}/receipt"): "getPaymentReceipt",
    ("GET", "/admin/lots"): "adminListLots",
    ("POST", "/admin/lots"): "adminCreateLot",
    ("GET", "/admin/lots/{lot_id}"): "adminGetLot",
    ("PATCH", "/admin/lots/{lot_id}"): "adminUpdateLot",
    ("DELETE", "/admin/lots/{lot_id}"): "adminDeleteLot",
    ("GET", "/admin/lots/{lot_id}/spots"): "adminListSpots",
    ("PATCH", "/admin/spots/{spot_id}"): "adminUpdateSpot",
    ("GET", "/admin/users"): "adminListUsers",
    ("GET", "/admin/users/{user_id}"): "adminGetUser",
    ("PATCH", "/admin/users/{user_id}"): "adminUpdateUser",
    ("DELETE", "/admin/users/{user_id}"): "adminEraseUser",
    ("GET", "/admin/bookings"): "adminListBookings",
    ("GET", "/admin/stats"): "adminGetStats",
    ("GET", "/admin/activity"): "adminListActivity",
    ("GET", "/admin/audit"): "adminListAudit",
    ("GET", "/admin/payments"): "adminListPayments",
    ("POST", "/admin/payments/{payment_id}/mark-paid"): "adminMarkPaymentPaid",
    ("POST", "/admin/payments/{payment_id}/refund"): "adminRefundPayment",
    ("GET", "/parking-events"): "listParkingEvents",
    ("POST", "/parking-events"): "createParkingEvent",
    ("GET", "/parking-events/latest-active"): "getLatestActiveParkingEvent",
    ("GET", "/parking-events/{event_id}"): "getParkingEvent",
    ("PATCH", "/parking-events/{event_id}"): "updateParkingEvent",
    ("DELETE", "/parking-events/{event_id}"): "deleteParkingEvent",
    ("GET", "/parking-events/{event_id}/landmarks"): "listLandmarks",
    ("POST", "/parking-events/{event_id}/landmarks"): "createLandmark",
    ("PATCH", "/landmarks/{landmark_id}"): "updateLandmark",
    ("DELETE", "/landmarks/{landmark_id}"): "deleteLandmark",
    ("GET", "/parking-events/{event_id}/directions"): "getDirections",
    ("POST", "/parking-events/{event_id}/retrieval/start"): "startRetrieval",
    ("POST", "/parking-events/{event_id}/retrieval/pause"): "pauseRetrieval",
    ("POST", "/parking-events/{event_id}/retrieval/resume"): "resumeRetrieval",
    ("POST", "/parking-events/{event_id}/retrieval/complete"): "completeRetrieval",
    ("POST", "/parking-events/{event_id}/retrieval/positions"): "recordRetrievalPositions",
    ("POST", "/parking-events/{event_id}/assist"): "requestAssistance",
    ("GET", "/parking-events/{event_id}/score"): "getRetrievalScore",
    ("GET", "/parking-events/{event_id}/retrieval"): "getMyLiveRetrieval",
    ("GET", "/scores"): "listScores",
    ("GET", "/scores/trend"): "getScoreTrend",
    ("POST", "/uploads"): "createUpload",
    ("GET", "/uploads/{upload_id}"): "getUpload",
    ("POST", "/uploads/{upload_id}/complete"): "completeUpload",
    ("POST", "/storage/uploads"): "receiveLocalUpload",
    ("GET", "/storage/files/{token}"): "downloadLocalFile",
    ("GET", "/exports"): "listExports",
    ("POST", "/exports"): "createExport",
    ("GET", "/exports/{export_id}"): "getExport",
    ("GET", "/exports/{export_id}/download"): "downloadExport",
    ("GET", "/circle"): "getCircle",
    ("POST", "/circle/invitations"): "createInvitation",
    ("GET", "/invitations/{invitation_id}"): "getInvitation",
    ("POST", "/invitations/{invitation_id}/accept"): "acceptInvitation",
    ("POST", "/invitations/{invitation_id}/decline"): "declineInvitation",
    ("DELETE", "/circle/members/{user_id}"): "removeCircleMember",
    ("GET", "/people/{user_id}/parking-events/latest-active"): "getPersonLatestParkingEvent",
    ("GET", "/people/{user_id}/scores/trend"): "getPersonScoreTrend",
    ("GET", "/people/{user_id}/retrieval"): "getPersonLiveRetrieval",
    ("GET", "/alerts"): "listAlerts",
    ("GET", "/alerts/{alert_id}"): "getAlert",
    ("POST", "/alerts/{alert_id}/acknowledge"): "acknowledgeAlert",
    ("POST", "/alerts/{alert_id}/resolve"): "resolveAlert",
    ("GET", "/notifications"): "listNotifications",
    ("POST", "/notifications/{notification_id}/read"): "markNotificationRead",
    ("POST", "/notifications/read-all"): "markAllNotificationsRead",
    ("GET", "/me/devices"): "listDevices",
    ("POST", "/me/devices"): "registerDevice",
    ("DELETE", "/me/devices/{device_id}"): "deleteDevice",
    ("GET", "/push/vapid-public-key"): "getVapidPublicKey",
    ("GET", "/unsubscribe/{token}"): "getEmailSubscription",
    ("POST", "/unsubscribe/{token}"): "unsubscribeEmail",
}

OVERVIEW = """\
ParkMind serves drivers and parking operators (lots, bookings, reservations, payments) and people
whose memory is failing them, with the caregivers they choose (where the car is, the walk back to
it, alerts, a private score trend).

**Authentication.** `POST /auth/login` with `{login, password}` answers an `access_token` (short
lived) and a `refresh_token`. Send `Authorization: Bearer <access_token>` on every other call;
when it expires (401 `token_expired`), `POST /auth/refresh` with the refresh token as the Bearer
token: it answers a new pair and revokes the old refresh token (reusing it ends the session).
`POST /auth/logout` ends the session. Admin operations need the role `admin` (403 otherwise).

**Errors.** Every error, whatever its status, has one shape:
`{"error": {"status", "code", "message", "fields"?, "request_id"}}`. Switch on `code`, a stable
snake_case string (`lot_full`, `validation_error`, `token_expired`...); `fields` comes with 422
`validation_error` and names each invalid field. Another user's object answers 404, never 403.

**Conventions.** Times are ISO 8601 in UTC with `Z`; money is integer minor units (`*_cents`)
with `currency`; lists are paginated (`page`, `per_page` ≤ 100). Writes a phone may retry
take an `Idempotency-Key` header or a `client_uuid`. Every
response carries `X-Request-ID`."""

SPEC_OPTIONS: dict[str, Any] = {
    "info": {
        "description": OVERVIEW,
        "contact": {"name": "ParkMind API team", "email": "api@parkmind.example"},
        "license": {"name": "Proprietary"},
    },
    "servers": [{"url": "/", "description": "This ParkMind server"}],
}


def operation_id(method: str, path: str) -> str:
    """The operationId of one operation (KeyError for an operation nobody named)."""
    return OPERATION_IDS[(method.upper(), path.removeprefix(API))]


# Response headers, declared once and referenced by every response that carries them.
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "This request's id (the client's own when it sent one); in every log line.",
        "schema": {"type": "string", "maxLength": 128},
    },
    "Location": {
        "description": "Where the created (201) or accepted (202) resource can be read.",
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Content-Disposition": {
        "description": "`attachment` with the file name to save the download under.",
        "schema": {"type": "string"},
    },
}
# Which responses carry which headers, besides X-Request-ID on every one.
STATUS_HEADERS = {
    "201": ("Location",),
    "202": ("Location",),
    "429": ("Retry-After",),
    "503": ("Retry-After",),
}
DOWNLOAD_TYPES = ("text/csv", "application/pdf", "application/zip", "application/octet-stream")


class ContractPlugin(BasePlugin):
    """Names every operation, gives it a description and declares its response headers while
    the spec is being built."""

    def init_spec(self, spec) -> None:
        super().init_spec(spec)
        for name, header in HEADERS.items():
            spec.components.header(name, header)
        for name, schema in JSON_SCHEMAS.items():
            spec.components.schema(name, schema)
        for status, codes in ERROR_CODES.items():
            if status in DECLARED_ERROR_STATUSES:
                spec.components.schema(f"Error{status}", _error_schema(status, codes))

    def response_helper(self, response: dict, **kwargs) -> dict:
        """Shared responses (smorest's 422 for an invalid body) carry X-Request-ID too, and
        their status's typed error."""
        response.setdefault("headers", {}).setdefault(
            "X-Request-ID", {"$ref": "#/components/headers/X-Request-ID"}
        )
        # smorest describes each shared response by its status phrase ("Unprocessable Entity").
        status = HTTP_STATUS_BY_PHRASE.get(response.get("description", ""))
        if status is not None:
            _typed_error(str(status), response)
        return response

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs):
        for method, operation in (operations or {}).items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            operation["operationId"] = operation_id(method, path or "")
            responses = operation.setdefault("responses", {})
            statuses = {str(status) for status in responses}
            for status in _edge_statuses(operation) - statuses:
                responses[status] = {
                    "description": EDGE_ERRORS[status],
                    "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
                }
            for status, response in responses.items():
                if isinstance(response, dict) and "$ref" not in response:
                    _declare_headers(str(status), response)
                    _typed_error(str(status), response)
            for status, answer in RESPONSE_EXAMPLES.get(operation["operationId"], {}).items():
                content = responses.get(status, responses.get(int(status), {})).get("content", {})
                if "application/json" in content:
                    content["application/json"].setdefault("example", answer)
            example = REQUEST_EXAMPLES.get(operation["operationId"])
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None and example is not None:
                body.setdefault("example", example)
            summary = _plain(operation.get("summary") or "")
            operation["summary"] = summary
            operation["description"] = _plain(operation.get("description") or "") or _describe(
                summary, operation
            )


ERROR_REF = "#/components/schemas/Error"
HTTP_STATUS_BY_PHRASE = {status.phrase: int(status) for status in HTTPStatus}
# Error statuses operations declare (405 answers a method no operation has: it has no schema).
DECLARED_ERROR_STATUSES = {400, 401, 403, 404, 409, 410, 413, 415, 422, 429, 500, 503}
# What the request edge itself may answer, before any view code runs.
EDGE_ERRORS = {
    "400": "Malformed JSON, or a NUL character in a parameter (`bad_request`).",
    "413": "The body is too large (`payload_too_large`).",
    "415": "The body is not JSON (`unsupported_media_type`).",
    "500": "An unexpected error (`internal_error`); the request id is in the server's logs.",
}


def _edge_statuses(operation: dict) -> set[str]:
    """Statuses any operation can answer: 400 (a NUL in a query parameter, malformed JSON) and
    500; with a JSON body also 413 and 415."""
    statuses = {"400", "500"}
    if "application/json" in operation.get("requestBody", {}).get("content", {}):
        statuses |= {"413", "415"}
    return statuses


def _error_schema(status: int, codes: tuple[str, ...]) -> dict:
    """The contract's error object as answered with one status: ``code`` is one of its codes."""
    return {
        "description": f"The error answered with status {status}.",
        "allOf": [
            {"$ref": ERROR_REF},
            {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {
                            "status": {"type": "integer", "enum": [status]},
                            "code": {"type": "string", "enum": list(codes)},
                        },
                    }
                },
            },
        ],
    }


def _typed_error(status: str, response: dict) -> None:
    """An error response refers to its status's error schema (codes as an enum)."""
    body = response.get("content", {}).get("application/json")
    typed = status.isdigit() and int(status) in ERROR_CODES
    if typed and body is not None and body.get("schema") == {"$ref": ERROR_REF}:
        body["schema"] = {"$ref": f"#/components/schemas/Error{status}"}


def _declare_headers(status: str, response: dict) -> None:
    names = ["X-Request-ID", *STATUS_HEADERS.get(status, ())]
    if status == "200" and any(kind in DOWNLOAD_TYPES for kind in response.get("content", {})):
        names.append("Content-Disposition")
    headers = response.setdefault("headers", {})
    for name in names:
        headers.setdefault(name, {"$ref": f"#/components/headers/{name}"})


def _plain(text: str) -> str:
    """Markdown as clients render it: reStructuredText's double backticks become single ones."""
    return re.sub(r"``([^`]+)``", r"`\1`", text).strip()


def _describe(summary: str, operation: dict) -> str:
    """A description from what the operation declares: who may call it and what it answers."""
    access = "Public: no token needed."
    if operation.get("security"):
        access = "Needs a Bearer access token."
    statuses = sorted(
        str(code) for code in operation.get("responses", {}) if str(code)[0] in "2345"
    )
    return f"{summary}\n\n{access} Answers: {', '.join(statuses)}."

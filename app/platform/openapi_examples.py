"""Realistic request bodies for the OpenAPI document, one per operation that takes a body (the
Postman collection in docs/postman is generated from them; tools/spec/build_postman.py swaps
ids and times for collection variables)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Real answers of a live server to the Postman run (``make response-examples``), by operationId
# and status; secrets replaced by placeholders (tools/spec/record_examples.py).
RESPONSE_EXAMPLES: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).with_name("openapi_response_examples.json")).read_text()
)
# Answers the recorded run does not reach: a repeated create, and links only e-mails carry.
for _operation in ("createParkingEvent", "registerDevice"):
    _created = RESPONSE_EXAMPLES.get(_operation, {}).get("201")
    if _created is not None:
        RESPONSE_EXAMPLES[_operation].setdefault("200", _created)
RESPONSE_EXAMPLES.setdefault(
    "getEmailSubscription", {"200": {"preference": "email_reminders", "subscribed": True}}
)
RESPONSE_EXAMPLES.setdefault(
    "unsubscribeEmail", {"200": {"preference": "email_reminders", "subscribed": False}}
)

REQUEST_EXAMPLES: dict[str, Any] = {
    "registerUser": {
        "username": "maria.lopez",
        "email": "maria.lopez@example.com",
        "password": "a-long-secret-1",
        "full_name": "María López",
        "phone": "+34 600 123 456",
    },
    "logIn": {"login": "demo_driver", "password": "the-demo-password"},
    "logOut": {},
    "updateMe": {
        "full_name": "María López",
        "vehicle_number": "KA01AB1234",
        "preferences": {"language": "de", "text_size": "large", "notify": {"push": True}},
    },
    "eraseMyAccount": {"password": "a-long-secret-1", "confirm": "DELETE MY ACCOUNT"},
    "changePassword": {"current_password": "a-long-secret-1", "new_password": "another-secret-2"},
    "exportMyData": {"email": True},
    "createBooking": {"lot_id": 1, "vehicle_number": "KA01AB1234", "features": ["covered"]},
    "quoteReservation": {
        "lot_id": 1,
        "start_at": "2026-12-24T09:00:00Z",
        "end_at": "2026-12-24T11:30:00Z",
    },
    "createReservation": {
        "lot_id": 1,
        "start_at": "2026-12-24T09:00:00Z",
        "end_at": "2026-12-24T11:30:00Z",
        "vehicle_number": "KA01AB1234",
    },
    "extendReservation": {"end_at": "2026-12-24T12:30:00Z"},
    "adminCreateLot": {
        "name": "Harbour Garage",
        "address": "1 Quay Street",
        "pin_code": "560001",
        "hourly_rate_cents": 300,
        "total_spots": 40,
        "levels": 2,
        "billing_increment_minutes": 30,
        "free_minutes": 10,
        "daily_max_cents": 2400,
        "cancellation_fee_cents": 500,
        "timezone": "Europe/Madrid",
    },
    "adminUpdateLot": {"hourly_rate_cents": 350, "daily_max_cents": 2800},
    "adminUpdateSpot": {"status": "out_of_service"},
    "adminUpdateUser": {"is_active": True, "role": "user"},
    "adminMarkPaymentPaid": {"reason": "Paid at the kiosk"},
    "adminRefundPayment": {"reason": "Barrier fault at the exit"},
    "createParkingEvent": {
        "latitude": 40.4168,
        "longitude": -3.7038,
        "accuracy_m": 8,
        "location_type": "indoor",
        "level": "-2",
        "spot_label": "B17",
        "notes": "Next to the lift, blue pillar",
    },
    "updateParkingEvent": {"notes": "Next to the lift, blue pillar, facing the wall"},
    "createLandmark": {
        "name": "Blue pillar",
        "description": "The one with the fire hose",
        "latitude": 40.41685,
        "longitude": -3.70372,
    },
    "updateLandmark": {"name": "Blue pillar by the lift"},
    "startRetrieval": {"latitude": 40.4172, "longitude": -3.7045},
    "completeRetrieval": {"found": True, "recall": []},
    "recordRetrievalPositions": {
        "positions": [
            {
                "latitude": 40.41702,
                "longitude": -3.70421,
                "accuracy_m": 6,
                "recorded_at": "2026-12-24T09:05:00Z",
            }
        ]
    },
    "requestAssistance": {"level": 2, "latitude": 40.4171, "longitude": -3.7043},
    "createUpload": {
        "purpose": "parking_event_photo",
        "content_type": "image/png",
        "size_bytes": 68,
    },
    "createExport": {"kind": "bookings", "email": False},
    "createInvitation": {"login": "demo_carer", "role": "caregiver"},
    "acknowledgeAlert": {"eta_minutes": 10, "message": "On my way"},
    "resolveAlert": {"note": "Found the car together"},
    "registerDevice": {
        "kind": "fcm",
        "token": "fcm-registration-token-of-this-phone",
        "name": "Pixel 9",
    },
}

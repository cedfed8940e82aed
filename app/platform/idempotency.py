"""``Idempotency-Key``: the response of a write, stored in the same transaction as the write.

A replay (same user, endpoint and key, same body) gets the stored status and the identical body
bytes; the same key with another body is refused with 422 ``idempotency_key_reused``. Only
successful responses are stored: a refusal (``lot_full``, ``already_parked``) creates nothing,
so the client may retry it with the same key and get a fresh answer. Keys are purged after 24 h
by the ``purge-idempotency-keys`` job.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.platform.errors import ValidationFailed
from app.platform.extensions import db
from app.platform.models import IdempotencyKey


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str


class IdempotencyKeyReused(ValidationFailed):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used with a different request body."


def request_hash(body: Any) -> str:
    """sha256 of the canonical JSON of the request body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def find_response(
    *, user_id: int, endpoint: str, key: str, body_hash: str
) -> StoredResponse | None:
    """The stored response for this key, None if there is none; 422 when the body differs."""
    row = db.session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.endpoint == endpoint,
            IdempotencyKey.key == key,
        )
    )
    if row is None:
        return None
    if row.request_hash != body_hash:
        raise IdempotencyKeyReused(fields={"Idempotency-Key": [IdempotencyKeyReused.message]})
    return StoredResponse(row.response_status, row.response_body)


def store_response(
    *, user_id: int, endpoint: str, key: str, body_hash: str, status: int, body: str
) -> None:
    """Keep the response for replays (flushes; the unique key is the guard against a twin)."""
    db.session.add(
        IdempotencyKey(
            user_id=user_id,
            endpoint=endpoint,
            key=key,
            request_hash=body_hash,
            response_status=status,
            response_body=body,
        )
    )
    db.session.flush()

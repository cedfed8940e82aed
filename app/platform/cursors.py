"""Keyset cursors: the (time, id) of the last row of a page, opaque to clients (base64url of a
small JSON array). Pure: no database, so schemas can decode them."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime


def encode_cursor(moment: datetime, row_id: int) -> str:
    """The opaque cursor after the row (``moment``, ``row_id``)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    raw = json.dumps([moment.astimezone(UTC).isoformat(), row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, int] | None:
    """(moment, id) from :func:`encode_cursor`'s text, or None when it is not one."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        moment, row_id = json.loads(raw)
        parsed = datetime.fromisoformat(moment)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        return None
    if parsed.tzinfo is None or type(row_id) is not int or not 0 < row_id < 2**63:
        return None
    return parsed.astimezone(UTC), row_id


def encode_id(row_id: int) -> str:
    """The opaque cursor after the row ``row_id`` of a list in id order."""
    return base64.urlsafe_b64encode(json.dumps([row_id]).encode()).decode().rstrip("=")


def decode_id(text: str) -> int | None:
    """The id from :func:`encode_id`'s text, or None when it is not one."""
    try:
        (row_id,) = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        return None
    if type(row_id) is not int or not 0 < row_id < 2**63:
        return None
    return row_id

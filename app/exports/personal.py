"""The personal-data export: one ZIP with a JSON file per domain part, a README explaining each
file, and the person's photos (see app.platform.personal_data)."""

from __future__ import annotations

import logging
import zipfile
from typing import Any

from app.platform.models import utcnow
from app.platform.personal_data import discover_parts, json_value, to_json
from app.platform.storage import get_storage
from app.uploads import service as uploads

log = logging.getLogger(__name__)

README = """ParkMind: everything we hold about you
=====================================

Account {user_id}, exported {exported_at} (times are UTC).

Each .json file holds one kind of record; a file with [] means we hold none of that kind.

{files}
photos/{photo_note}

Some records are kept after you close your account, without your name or contact details,
because the law requires it: payments and completed bookings (the price and the times).
"""


def write_personal_zip(path: str, *, user_id: int) -> int:
    """Write the ZIP of everything held about ``user_id`` to ``path``; returns the record count."""
    parts, _ = discover_parts()
    count = 0
    lines = []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, found in parts.items():
            data = found.export(user_id)
            count += _records(data)
            archive.writestr(f"{name}.json", to_json(data))
            lines.append(f"{name}.json\n    {found.about}")
        photos, missing = _write_photos(archive, user_id)
        count += photos
        note = f"\n    Your {photos} photos, named <upload id>-<purpose>.<type> (see uploads.json)."
        if missing:
            note += f"\n    {missing} photos could not be read from storage at export time."
        archive.writestr(
            "README.txt",
            README.format(
                user_id=user_id,
                exported_at=json_value(utcnow()),
                files="\n".join(lines),
                photo_note=note,
            ),
        )
    return count


def _records(data: Any) -> int:
    if isinstance(data, list):
        return len(data)
    if isinstance(data, dict):
        lists = [value for value in data.values() if isinstance(value, list)]
        return sum(len(value) for value in lists) if lists else int(bool(data))
    return 0


def _write_photos(archive: zipfile.ZipFile, user_id: int) -> tuple[int, int]:
    """Copy each stored photo into ``photos/``; (written, missing). Storage that is down raises
    StorageUnavailable, and the export is retried."""
    storage = get_storage()
    written = missing = 0
    for upload_id, purpose, ext, key in uploads.stored_photos(user_id=user_id):
        if storage.head(key) is None:
            missing += 1
            continue
        with archive.open(f"photos/{upload_id}-{purpose}.{ext}", "w") as target:
            for chunk in storage.open_stream(key):
                target.write(chunk)
        written += 1
    return written, missing

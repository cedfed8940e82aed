"""Chat-webhook posts to ``NOTIFY_WEBHOOK_URL``, sent at most once per ``dedupe_key``."""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from app.platform.mail import deliver_once

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 5


def post_webhook(*, dedupe_key: str, payload: dict[str, Any]) -> bool:
    """Post ``payload`` (chat JSON with a ``text``) once; False when unset or already posted."""
    url = current_app.config.get("NOTIFY_WEBHOOK_URL")
    if not url:
        log.debug("NOTIFY_WEBHOOK_URL unset; webhook %s not posted", dedupe_key)
        return False
    body = dict(payload)
    body.setdefault("text", json.dumps(payload, default=str, sort_keys=True))
    data = json.dumps(body, default=str).encode()
    # Chat webhook URLs carry their secret in the path: the ledger keeps only the origin.
    parts = urlsplit(url)
    return deliver_once(
        dedupe_key=dedupe_key,
        channel="webhook",
        recipient=f"{parts.scheme}://{parts.netloc}",
        subject=str(body["text"]).splitlines()[0] if body["text"] else None,
        send=lambda: _post(url, data),
    )


def _post(url: str, data: bytes) -> None:
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("NOTIFY_WEBHOOK_URL must be an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "ParkMind"},
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
        response.read(1024)

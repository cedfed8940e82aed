"""The floor: a bare WSGI callable answering every request with small JSON."""

from __future__ import annotations

BODY = b'{"status":"ok"}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def app(environ, start_response):
    """Answer 200 with a fixed small JSON body."""
    start_response("200 OK", HEADERS)
    return [BODY]

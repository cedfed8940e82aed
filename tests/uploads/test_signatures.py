"""Image signatures and keys (pure functions)."""

from __future__ import annotations

import pytest

from app.uploads.service import incoming_key, sniff_image_type


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\r", "image/png"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
        (b"\x89PNG\r\n\x1a", None),
        (b"GIF89a\x01\x00\x01\x00\x00\x00", None),
        (b"<!doctype html>", None),
        (b"", None),
    ],
)
def test_sniff_image_type(head, expected):
    assert sniff_image_type(head) == expected


def test_incoming_key_is_a_sibling_with_the_same_shape():
    key = "users/7/avatar/0123456789abcdef0123456789abcdef.png"

    incoming = incoming_key(key)

    assert incoming != key
    assert incoming.startswith("users/7/avatar/") and incoming.endswith(".png")
    assert len(incoming.rsplit("/", 1)[1]) == len("0123456789abcdef0123456789abcdef.png")
    assert incoming_key(key) == incoming

"""A moto S3 server on 127.0.0.1 for storage tests."""

from __future__ import annotations

"""The npm tools clients use on the OpenAPI document (tools/spec, installed by `make spec-tools`):
Spectral, openapi-typescript and tsc, openapi-to-postmanv2, newman."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.services_probe import IN_CI

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "spec"


def spec_tool(name: str) -> Path:
    """The tool's executable; skipped locally, a failure in CI, when it is not installed."""
    path = TOOLS / "node_modules" / ".bin" / name
    if path.exists():
        return path
    message = f"{name} is not installed: run `make spec-tools` (npm ci in tools/spec)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)

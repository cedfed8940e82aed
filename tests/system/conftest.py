"""Tests that start real processes (gunicorn, a Celery worker, nginx, the benchmark): every test
under ``tests/system/`` carries the ``system`` marker, and ``make test`` runs them as a stage of
their own after the in-process suite."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.system)

"""The app as gunicorn serves it in the benchmark: ``create_app()`` with the environment's settings.

Only the login measurement sets ``BENCH_LOGIN_RATE_LIMIT``: rate limiting stays on (its Redis
round trips are part of a login's cost) with a threshold the measured logins stay under.
"""

from __future__ import annotations

import os

from app import create_app

overrides = {}
if os.environ.get("BENCH_LOGIN_RATE_LIMIT"):
    overrides["LOGIN_RATE_LIMIT"] = os.environ["BENCH_LOGIN_RATE_LIMIT"]
    overrides["LOGIN_ACCOUNT_RATE_LIMIT"] = os.environ["BENCH_LOGIN_RATE_LIMIT"]
app = create_app(overrides=overrides or None)

"""The Postman collection in docs/postman, run by newman against a real gunicorn server seeded
with `make run`'s demo data: every request answers what its step expects and every JSON body
matches the schema of the OpenAPI document. Starts real processes: marked ``system``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.live_server import live_server, migrated_database, server_env
from tests.support.spec_tools import TOOLS, spec_tool

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
POSTMAN = ROOT / "docs" / "postman"
ADMIN = ("admin@postman.test", "postman-admin-password-1")


def seed(url: str) -> dict[str, str]:
    """The demo data as `make run` seeds it, plus an admin; the demo passwords by username, and
    the demo driver's id under ``"#demo_driver"``."""
    from app.accounts.models import User
    from app.accounts.service import create_admin
    from app.admin.seed import demo_steps
    from app.platform.extensions import db
    from tests.conftest import make_app

    app = make_app(url)
    with app.app_context():
        lines = [line for step in demo_steps() for line in step()]
        create_admin(email=ADMIN[0], password=ADMIN[1])
        db.session.commit()
        driver_id = db.session.query(User.id).filter_by(username="demo_driver").scalar()
        db.engine.dispose()
    passwords = {
        line.split()[2]: line.split(" / ")[1]
        for line in lines
        if line.startswith("demo user") and " / " in line
    }
    return {**passwords, "#demo_driver": str(driver_id)}


def unsubscribe_token(secret: str, user_id: int) -> str:
    """What the List-Unsubscribe header of a reminder e-mail to ``user_id`` carries."""
    from itsdangerous import URLSafeTimedSerializer

    from app.accounts.service import UNSUBSCRIBE_SALT

    serializer = URLSafeTimedSerializer(secret, salt=UNSUBSCRIBE_SALT)
    return serializer.dumps({"u": user_id, "p": "email_reminders"})


def test_the_committed_collection_is_the_one_the_spec_builds(tmp_path, client, db):
    spec_tool("openapi2postmanv2")
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(client.get("/api/openapi.json").get_json()))
    out = tmp_path / "postman"
    out.mkdir()
    (out / "photo.png").write_bytes((POSTMAN / "photo.png").read_bytes())
    built = subprocess.run(
        [sys.executable, str(TOOLS / "build_postman.py"), str(spec), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    for name in ("ParkMind.postman_collection.json", "ParkMind.postman_environment.json"):
        fresh, committed = (
            json.loads((out / name).read_text()),
            json.loads((POSTMAN / name).read_text()),
        )
        assert fresh == committed, f"docs/postman/{name} is stale: run `make postman`"


def test_newman_runs_the_whole_collection_against_the_demo_data(tmp_path):
    newman = spec_tool("newman")
    with migrated_database("sqlite", tmp_path) as url:
        passwords = seed(url)
        env = {**server_env(url, tmp_path), "SECRET_KEY": "postman-run-secret-key-0123456789"}
        token = unsubscribe_token(env["SECRET_KEY"], int(passwords["#demo_driver"]))
        with live_server(env, workers=2, threads=4, log_path=tmp_path / "gunicorn.log") as base:
            assert requests.get(f"{base}/api/v1/health", timeout=5).status_code == 200
            report = tmp_path / "newman.json"
            result = subprocess.run(
                [
                    str(newman),
                    "run",
                    str(POSTMAN / "ParkMind.postman_collection.json"),
                    "-e",
                    str(POSTMAN / "ParkMind.postman_environment.json"),
                    "--working-dir",
                    str(POSTMAN),
                    "--env-var",
                    f"baseUrl={base}",
                    "--env-var",
                    f"password={passwords['demo_driver']}",
                    "--env-var",
                    f"carerPassword={passwords['demo_carer']}",
                    "--env-var",
                    f"adminLogin={ADMIN[0]}",
                    "--env-var",
                    f"adminPassword={ADMIN[1]}",
                    # The e-mail's link: the run covers the folder of links from e-mails too.
                    "--env-var",
                    f"unsubscribeToken={token}",
                    "--reporters",
                    "cli,json",
                    "--reporter-json-export",
                    str(report),
                    "--disable-unicode",
                    "--color",
                    "off",
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
    assert report.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    run = json.loads(report.read_text())["run"]
    failures = [(f["source"]["name"], f["error"]["message"][:300]) for f in run["failures"]]
    assert failures == [], result.stdout[-4000:]
    stats = run["stats"]
    assert stats["requests"]["failed"] == 0
    assert stats["assertions"]["failed"] == 0
    collection = json.loads((POSTMAN / "ParkMind.postman_collection.json").read_text())
    assert stats["requests"]["total"] == sum(len(folder["item"]) for folder in collection["item"])
    assert result.returncode == 0
    if os.environ.get("PARKMIND_RECORD_EXAMPLES"):
        # `make response-examples`: the run's answers become the document's examples.
        sys.path.insert(0, str(TOOLS))
        from record_examples import record

        record(report, ROOT / "app" / "platform" / "openapi_response_examples.json")

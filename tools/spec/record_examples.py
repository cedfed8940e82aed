"""Record the response bodies of a newman run of docs/postman as the OpenAPI document's response
examples (app/platform/openapi_response_examples.json): real answers of a real server, one per
operation and status. Secrets are replaced by placeholders.

    python tools/spec/record_examples.py NEWMAN_REPORT.json SPEC.json OUT.json

`make response-examples` runs the Postman collection against a live server and records them.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from build_postman import STEPS  # noqa: E402

SECRETS = {
    "access_token": "eyJhbGciOiJIUzI1NiJ9.access-token-example.signature",
    "refresh_token": "eyJhbGciOiJIUzI1NiJ9.refresh-token-example.signature",
}
SIGNED = re.compile(r"(/storage/(?:files|uploads)/)[A-Za-z0-9._~-]{20,}")


def scrub(value):
    if isinstance(value, dict):
        return {k: SECRETS.get(k, scrub(v)) if k in SECRETS else scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return SIGNED.sub(r"\1eyJrIjoiZXhhbXBsZSJ9.signature", value)
    return value


def record(report_path: Path, out_path: Path) -> dict:
    run = json.loads(report_path.read_text())["run"]
    by_name = {step[0]: step for step in STEPS}
    examples: dict[str, dict[str, object]] = {}
    for execution in run["executions"]:
        step = by_name.get(execution["item"]["name"])
        response = execution.get("response")
        if step is None or response is None:
            continue
        headers = {h["key"].lower(): h["value"] for h in response.get("header", [])}
        if "application/json" not in headers.get("content-type", ""):
            continue
        body = json.loads(bytes(response["stream"]["data"]).decode())
        examples.setdefault(step[1], {}).setdefault(str(response["code"]), scrub(body))
    out_path.write_text(
        json.dumps(dict(sorted(examples.items())), indent=1, ensure_ascii=False) + "\n"
    )
    return examples


if __name__ == "__main__":
    record(Path(sys.argv[1]), Path(sys.argv[2]))

"""docs/API.md is the contract clients read: every operation it lists is in the generated
OpenAPI document (the document may hold more: the contract allows additions)."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "API.md"
ROW = re.compile(
    r"^\|\s*((?:GET|POST|PUT|PATCH|DELETE)(?:,\s*(?:GET|POST|PUT|PATCH|DELETE))*)\s*\|\s*(.+?)\s*\|"
)


def documented_operations() -> set[tuple[str, str]]:
    """(method, path pattern) of every table row of the contract; ``{x}`` matches any id."""
    found = set()
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if not match:
            continue
        methods = [m.strip() for m in match.group(1).split(",")]
        paths = re.findall(r"`([^`]+)`", match.group(2))
        first = paths[0]
        # "`/admin/payments/{id}/mark-paid`, `/refund`": a one-segment path replaces the last
        # segment of the first; "`/notifications/read-all`" is a path of its own.
        full = [first] + [p if p.count("/") > 1 else first.rsplit("/", 1)[0] + p for p in paths[1:]]
        for path in full:
            if not path.startswith(("/api/", "/metrics")):
                path = "/api/v1" + path
            pattern = re.sub(r"\\\{[a-z_]+\\\}", r"{[a-z_]+}", re.escape(path))
            for method in methods:
                found.add((method, pattern))
    return found


def test_every_operation_of_the_contract_is_in_the_spec(app, client, db):
    spec = client.get("/api/openapi.json").get_json()
    operations = {
        (method.upper(), path)
        for path, methods in spec["paths"].items()
        for method in methods
        if method != "parameters"
    }
    # Outside /api/v1 (the spec itself, the docs page, metrics): the app's own routes.
    operations |= {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if not rule.rule.startswith("/api/v1/")
        for method in rule.methods
    }
    documented = documented_operations()
    assert len(documented) > 90
    missing = sorted(
        (method, pattern)
        for method, pattern in documented
        if not any(m == method and re.fullmatch(pattern, p) for m, p in operations)
    )
    assert missing == []

"""Every error code the code can raise is in app/platform/error_codes.py under its status (the
OpenAPI document's per-status enums come from there), and every listed code is raised somewhere.

The source is read with ``ast``: a class deriving from an AppError with ``code = "..."``, or a
call to such a class with ``code="..."``, or the token loaders' ``_unauthorized("...")``."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from app.platform.error_codes import ERROR_CODES
from app.platform.errors import HTTP_CODES

APP = Path(__file__).resolve().parents[2] / "app"
BASES = {
    "AppError": 400,
    "BadRequest": 400,
    "ValidationFailed": 422,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "Conflict": 409,
    "InvalidTransition": 409,
    "ServiceUnavailable": 503,
}
# Codes the request edge answers by status (errors.HTTP_CODES), which no view raises by name.
EDGE = {405, 413, 415, 429, 500}


def _constant(node) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def raised_codes() -> dict[int, set[str]]:
    trees = [ast.parse(path.read_text()) for path in APP.rglob("*.py")]
    classes = dict(BASES)
    definitions = [n for tree in trees for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    found: dict[int, set[str]] = defaultdict(set)

    def assigned(node: ast.ClassDef) -> dict[str, object]:
        values = {}
        for statement in node.body:
            if not isinstance(statement, ast.Assign):
                continue
            target, value = statement.targets[0], statement.value
            if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
                values.update(
                    {t.id: _constant(v) for t, v in zip(target.elts, value.elts, strict=True)}
                )
            elif isinstance(target, ast.Name):
                values[target.id] = _constant(value)
        return values

    changed = True
    while changed:
        changed = False
        for node in definitions:
            base = next(
                (b.id for b in node.bases if isinstance(b, ast.Name) and b.id in classes), None
            )
            if node.name not in classes and base is not None:
                classes[node.name] = assigned(node).get("status") or classes[base]
                changed = True
    for node in definitions:
        if node.name in classes and assigned(node).get("code"):
            found[classes[node.name]].add(assigned(node)["code"])
    for tree in trees:
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            name = getattr(call.func, "id", getattr(call.func, "attr", None))
            keywords = {k.arg: _constant(k.value) for k in call.keywords}
            if name in classes and keywords.get("code"):
                found[keywords.get("status") or classes[name]].add(keywords["code"])
            if name == "_unauthorized" and call.args and _constant(call.args[0]):
                found[401].add(_constant(call.args[0]))
            if name == "error_response" and len(call.args) > 1 and _constant(call.args[1]):
                found[_constant(call.args[0])].add(_constant(call.args[1]))
    for status in EDGE:
        found[status].add(HTTP_CODES[status])
    return found


def test_every_raised_code_is_listed_under_its_status():
    listed = {status: set(codes) for status, codes in ERROR_CODES.items()}
    unlisted = sorted(
        (status, code)
        for status, codes in raised_codes().items()
        for code in codes
        if code not in listed.get(status, set())
    )
    assert unlisted == [], "add these to app/platform/error_codes.py"


def test_every_listed_code_is_raised_somewhere():
    raised = raised_codes()
    # Raised with a code chosen at run time (circle invitations: already member or pending).
    dynamic = {(409, "already_member")}
    stale = sorted(
        (status, code)
        for status, codes in ERROR_CODES.items()
        for code in codes
        if code not in raised.get(status, set()) and (status, code) not in dynamic
    )
    assert stale == []


def test_each_error_status_of_the_document_lists_its_codes(client, db):
    schemas = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    refined = schemas["Error409"]["allOf"][1]["properties"]["error"]["properties"]
    assert refined["code"]["enum"] == list(ERROR_CODES[409])
    assert "lot_full" in refined["code"]["enum"] and refined["status"]["enum"] == [409]

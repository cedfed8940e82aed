"""The shape of ``app/``: one package per domain, mechanisms in ``app/platform/``. These checks
read the source, so a change that breaks the layout fails here, not in review."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
MAX_LINES = 450
# Imports that may stay inside functions: heavy libraries loaded only where they are used.
LAZY_IMPORTS = ("weasyprint", "app.platform.storage.s3")
# marshmallow's documented extension points for custom fields.
ALLOWED_PRIVATE = {"_deserialize", "_serialize"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted([*APP.rglob("*.py"), *(ROOT / "tasks").rglob("*.py")]):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(path: Path):
    """(node, module names it imports, is it at module level) for every import in ``path``."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield node, [alias.name for alias in node.names], id(node) in top
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            yield node, names, id(node) in top


def test_the_import_graph_has_no_cycle():
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in MODULES.items():
        for _, targets, _ in _imports(path):
            for target in targets:
                owner = _owner(target)
                if owner and owner != name and not name.startswith(owner + "."):
                    graph[name].add(owner)
    assert len(graph) > 50
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_imports_inside_functions_are_only_lazy_heavy_libraries_with_a_reason():
    offenders = []
    for name, path in MODULES.items():
        lines = path.read_text().splitlines()
        for node, targets, at_top in _imports(path):
            if at_top or targets[0] == "__future__":
                continue
            lazy = targets[0].startswith(LAZY_IMPORTS)
            # The reason is the comment above the block of imports this one belongs to.
            line = node.lineno - 2
            while line >= 0 and re.match(r"\s*(from |import |$)", lines[line]):
                line -= 1
            reason = lines[line] if line >= 0 else ""
            if not (lazy and re.search(r"#.*\b(Lazy|Loaded only)", reason)):
                offenders.append(f"{name}:{node.lineno} {targets[0]}")
    assert offenders == []


def test_no_application_file_is_over_450_lines():
    sizes = {path: len(path.read_text().splitlines()) for path in APP.rglob("*.py")}
    assert len(sizes) > 60
    assert {str(p.relative_to(ROOT)): n for p, n in sizes.items() if n > MAX_LINES} == {}


def test_only_views_and_the_platform_read_the_request():
    readers = []
    for name, path in MODULES.items():
        if name == "app" or name.startswith("app.platform") or name.endswith(".views"):
            continue
        for _, targets, _ in _imports(path):
            if "flask.request" in targets:
                readers.append(name)
    assert readers == []


def test_private_attributes_of_libraries_are_touched_only_in_the_platform():
    pattern = re.compile(r"(?<![\w.])(?!self\b|cls\b)([A-Za-z_][\w]*(?:\(\))?)\._([a-z]\w*)")
    offenders = []
    for name, path in MODULES.items():
        if name.startswith("app.platform"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            for match in pattern.finditer(code):
                if "_" + match.group(2) in ALLOWED_PRIVATE and match.group(1) == "super()":
                    continue
                offenders.append(f"{name}:{number} {match.group(0)}")
    assert offenders == []


def test_services_never_import_task_modules():
    offenders = [
        name
        for name, path in MODULES.items()
        if not name.endswith(".tasks")
        for _, targets, _ in _imports(path)
        if any(target.endswith(".tasks") and target.startswith("app.") for target in targets)
        and name != "app.platform.celery_app"
    ]
    assert offenders == []


def test_id_ranges_are_checked_only_by_the_url_converter():
    checks = [
        f"{name}:{number}"
        for name, path in MODULES.items()
        if not name.startswith("app.platform")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bMAX_ID\b", line)
    ]
    assert checks == []


def test_no_view_or_service_builds_json_by_hand():
    """Views return objects; the response decorator (app/platform/blueprint.py) renders them."""
    pattern = re.compile(r"jsonify\(|json_response\(|json\.dumps\(|application/json")
    offenders = [
        f"{name}:{number}"
        for name, path in MODULES.items()
        if name.startswith("app.")
        and not name.startswith("app.platform")
        and not name.endswith(".cli")  # terminal output, not an HTTP answer
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_schemas_never_call_services():
    """Schemas describe and validate; services attach what needs work (signed photo URLs)."""
    offenders = [
        name
        for name, path in MODULES.items()
        if name.endswith(".schemas")
        for _, targets, _ in _imports(path)
        if any(target.endswith(".service") or ".service." in target for target in targets)
    ]
    assert offenders == []


def test_views_call_services_by_keyword():
    """Every service function a view calls takes keyword-only arguments (ids in, no objects)."""
    positional = []
    for name, path in MODULES.items():
        if not name.endswith(".views"):
            continue
        tree = ast.parse(path.read_text())
        aliases = {}
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("app."):
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    if target in MODULES and not target.startswith("app.platform"):
                        aliases[alias.asname or alias.name] = target
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in aliases
            ):
                target = aliases[node.func.value.id]
                positional.extend(
                    f"{target}.{function.name}"
                    for function in ast.parse(MODULES[target].read_text()).body
                    if isinstance(function, ast.FunctionDef)
                    and function.name == node.func.attr
                    and (function.args.args or function.args.posonlyargs)
                )
    assert sorted(set(positional)) == []

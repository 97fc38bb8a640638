"""Dependencies point one way: app/services knows nothing of Flask, FAB or RQ."""
import ast
import re
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[1] / "app" / "services"
FORBIDDEN = ("flask", "flask_appbuilder", "flask_babel", "flask_wtf", "rq", "werkzeug")


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_services_import_no_web_or_queue_framework():
    files = sorted(SERVICES.glob("*.py"))
    assert len(files) > 3
    offenders = [
        f"{path.name}: {name}" for path in files for name in _imports(path)
        if name.split(".")[0] in FORBIDDEN or name.startswith("app.views") or name.startswith("app.api")
        or name.startswith("jobs")
    ]
    assert offenders == []


# The unit-scope rule ("a unit and every unit of the same scheme below it", by AdminUnit.path prefix) lives in
# app/services/scope.py only: anything else asks it. Each pattern below is a way the rule was rewritten.
ROOT = SERVICES.parents[1]
SCOPE_MODULE = SERVICES / "scope.py"
SUBTREE_RULE = (
    re.compile(r"\bpath\s+(?:NOT\s+)?LIKE\b", re.IGNORECASE),  # raw SQL: path LIKE :prefix
    re.compile(r"\.path\.i?like\("),  # AdminUnit.path.like(...)
    re.compile(r"(?<!request\.)\bpath\.startswith\("),  # unit.path.startswith(...) (a URL path is not a unit)
    re.compile(r"\.startswith\([^)\n]*\bpath\b"),  # x.startswith(unit.path), literal(p).startswith(AdminUnit.path)
    re.compile(r"\bsubstr\([^)\n]*\bpath\b"),  # substr(unit.path, 1, length(AdminUnit.path)): units above
)


def _subtree_rule_copies() -> list[str]:
    files = sorted([*(ROOT / "app").rglob("*.py"), *(ROOT / "jobs").rglob("*.py")])
    found = []
    for path in files:
        if path == SCOPE_MODULE:
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(p.search(line) for p in SUBTREE_RULE):
                found.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}")
    return found


def test_the_subtree_rule_lives_only_in_the_scope_module():
    assert _subtree_rule_copies() == []
    assert SCOPE_MODULE.exists(), "app/services/scope.py holds the unit-scope rule"


def test_the_subtree_rule_patterns_catch_each_way_it_was_written():
    written = ["WHERE scheme = :scheme AND path LIKE :prefix", "AdminUnit.path.like(unit.path + '%')",
               "unit.path.startswith(scope.path)", "paths.get(cid, '').startswith(child.path)",
               "literal(unit.path).startswith(AdminUnit.path)",
               "func.substr(unit.path, 1, func.length(AdminUnit.path)) == AdminUnit.path"]
    assert [w for w in written if not any(p.search(w) for p in SUBTREE_RULE)] == []
    assert not any(p.search('request.path.startswith("/api/")') for p in SUBTREE_RULE)

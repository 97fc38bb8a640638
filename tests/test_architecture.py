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
    files = sorted([*SERVICES.rglob("*.py"), *(SERVICES.parent / "demo").rglob("*.py")])
    assert len(files) > 3
    offenders = [
        f"{path.name}: {name}"
        for path in files
        for name in _imports(path)
        if name.split(".")[0] in FORBIDDEN
        or name.startswith("app.views")
        or name.startswith("app.api")
        or name.startswith("jobs")
    ]
    assert offenders == []


def test_code_names_nothing_outside_the_repository():
    """Comments and strings point to code and docs of this repository, never to a developer's machine, a
    planning document or a ticket number that a reader of the code cannot open."""
    import re

    root = SERVICES.parents[1]
    # assembled from parts so that this file does not itself hold the references it forbids
    forbidden = [
        "/" + "work/",
        "/" + r"home/\w",
        r"\.\./" + "shared",
        "DOMAIN" + r"\.md",
        "STACK" + r"\.md",
        r"\bthe " + r"brief\b",
        r"\bissue" + r" \d+",
    ]
    pattern = re.compile("|".join(forbidden), re.I)
    files = [
        p
        for folder in ("app", "jobs", "bench")
        for p in (root / folder).rglob("*")
        if p.suffix in (".py", ".html", ".js") and "__pycache__" not in p.parts
    ]
    files += [root / "config.py", root / "run.py"]
    assert len(files) > 50
    offenders = [
        f"{p.relative_to(root)}:{n}: {line.strip()[:80]}"
        for p in files
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


# --- masking: one module builds masked identifiers --------------------------------------------------

ROOT = SERVICES.parents[1]
MASKING_MODULES = ("app.services.masking", "app.security.masking")


def _mask_imports(path: Path):
    """Names starting with ``mask`` imported from anywhere but the masking modules (a re-exported copy)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module not in MASKING_MODULES:
            for alias in node.names:
                if alias.name.startswith("mask_"):
                    yield f"{path.relative_to(ROOT)}:{node.lineno}: {alias.name} from {node.module}"


def test_masking_code_lives_in_the_masking_module():
    """No mask characters, repeated mask characters or head-and-tail slicing outside app/services/masking.py,
    and the mask functions are taken from the masking modules, not through another module."""
    from tests.audit.test_one_masking import MASK_CHARS, _masking_code, _python_files

    files = list(_python_files())
    offenders = [hit for path in files for hit in _masking_code(path)]
    offenders += [hit for path in files for hit in _mask_imports(path)]
    offenders += [
        f"{p.relative_to(ROOT)}: mask characters"
        for p in sorted((ROOT / "app" / "templates").rglob("*.html")) + sorted((ROOT / "app" / "static").rglob("*.js"))
        if "appbuilder" not in p.parts and MASK_CHARS.search(p.read_text(encoding="utf-8", errors="ignore"))
    ]
    assert offenders == []


# The only code that puts jobs in the queue: enqueue_once (jobs/queues.py) behind start() (jobs/registry.py).
ENQUEUERS = {"enqueue", "enqueue_once", "enqueue_call", "enqueue_at", "enqueue_in", "Queue"}
ENQUEUE_ALLOWED = {"jobs/queues.py", "jobs/registry.py"}


def _calls(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name:
                yield node.lineno, name


def test_jobs_are_started_only_through_the_registry():
    """Views, API, CLI and recovery call jobs.registry.start(kind, row_id): the job id scheme and the
    function of each kind are never paired by hand again."""
    files = sorted(ROOT.glob("app/**/*.py")) + sorted(ROOT.glob("jobs/*.py"))
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {name}("
        for path in files
        if str(path.relative_to(ROOT)) not in ENQUEUE_ALLOWED
        for line, name in _calls(path)
        if name in ENQUEUERS
    ]
    assert offenders == []
    # Nor do they import a job function or a job-id helper: those belong to the registry.
    outside = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted(ROOT.glob("app/**/*.py"))
        for name in _imports(path)
        if name.startswith("jobs.") and name not in ("jobs.registry", "jobs.queues", "jobs.runtime", "jobs.worker")
    ]
    assert outside == []


def test_every_job_function_is_a_kind_of_the_registry():
    import inspect

    import jobs.cases
    import jobs.duplicates
    import jobs.imports
    import jobs.matching
    import jobs.notices
    import jobs.payout
    import jobs.units
    from jobs.registry import KINDS

    functions = {
        f
        for module in (jobs.cases, jobs.duplicates, jobs.imports, jobs.matching, jobs.notices, jobs.payout, jobs.units)
        for name, f in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("run_") and f.__module__ == module.__name__
    }
    assert functions == {kind.func for kind in KINDS.values()}
    for kind in KINDS.values():
        assert (kind.model is None) == (kind.pending is None), kind.name  # a state row is recoverable


# The unit-scope rule ("a unit and every unit of the same scheme below it", by AdminUnit.path prefix) lives in
# app/services/scope.py only: anything else asks it. Each pattern below is a way the rule was rewritten.
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
    written = [
        "WHERE scheme = :scheme AND path LIKE :prefix",
        "AdminUnit.path.like(unit.path + '%')",
        "unit.path.startswith(scope.path)",
        "paths.get(cid, '').startswith(child.path)",
        "literal(unit.path).startswith(AdminUnit.path)",
        "func.substr(unit.path, 1, func.length(AdminUnit.path)) == AdminUnit.path",
    ]
    assert [w for w in written if not any(p.search(w) for p in SUBTREE_RULE)] == []
    assert not any(p.search('request.path.startswith("/api/")') for p in SUBTREE_RULE)


def test_capabilities_are_checked_in_one_place():
    """Whether the signed-in user holds a capability is asked of app/security/access.py only."""
    root = SERVICES.parents[1]
    offenders = [
        f"{p.relative_to(root)}:{n}"
        for p in sorted((root / "app").rglob("*.py"))
        if p.name != "access.py"
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if "has_access(*capability(" in line
    ]
    assert offenders == []


def test_problems_are_rendered_in_one_place():
    """A problem's message is translated by Problem.render (app/views/problems.py for pages and the API), never
    by formatting its msgid by hand."""
    root = SERVICES.parents[1]
    offenders = [
        f"{p.relative_to(root)}:{n}"
        for p in sorted((root / "app").rglob("*.py"))
        if p.relative_to(root).as_posix() != "app/services/messages.py"  # Problem.render itself
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if "gettext(" in line and ".msgid)" in line
    ]
    assert offenders == []


def test_cli_groups_import_only_common_helpers():
    """Each module of app/cli/ is one verb group: it may use app/cli/common.py, never another group."""
    from app.cli import GROUPS

    folder = ROOT / "app" / "cli"
    assert {p.stem for p in folder.glob("*.py")} - {"__init__", "common"} == set(GROUPS)
    offenders = [
        f"{path.name}: {name}"
        for path in sorted(folder.glob("*.py"))
        for name in _imports(path)
        if name.startswith("app.cli") and name != "app.cli.common"
    ]
    assert offenders == []


# Typed refusals (NotFound, OutOfScope, Conflict) get their HTTP status in app/views/problems.py only; views and
# the API neither compare problem codes nor pick a status from one.
PROBLEM_CODE_MATCH = (
    re.compile(r"\.code\s*(?:==|!=)"),  # exc.problem.code == "out_of_scope"
    re.compile(r"\bcode\s+(?:not\s+)?in\s*[(\[{]"),  # p.code in ("no_registry_record", ...)
    re.compile(r"[\"'](?:out_of_scope|not_found|conflict)[\"']\s*(?:==|!=|in\b)"),  # "out_of_scope" == code
)
REFUSAL_MAP = ROOT / "app" / "views" / "problems.py"


def _problem_code_matches() -> list[str]:
    files = sorted([*(ROOT / "app" / "views").rglob("*.py"), *(ROOT / "app" / "api").rglob("*.py")])
    return [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in files
        if path != REFUSAL_MAP
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(p.search(line) for p in PROBLEM_CODE_MATCH)
    ]


def test_refusals_are_mapped_to_statuses_in_one_place():
    assert _problem_code_matches() == []
    from app.services.messages import Conflict, NotFound
    from app.services.scope import OutOfScope
    from app.views.problems import REFUSAL_STATUSES

    assert dict(REFUSAL_STATUSES) == {NotFound: 404, OutOfScope: 403, Conflict: 409}


def test_the_problem_code_patterns_catch_each_way_it_was_written():
    written = [
        'if exc.problem.code == "out_of_scope":',
        'status = 403 if exc.problem.code == "out_of_scope" else 400',
        'sum(1 for _, p in outcome.refused if p.code == "no_registry_record")',
        'if problem.code != "no_registry_record":',
        'if exc.problem.code in ("out_of_scope", "not_found"):',
    ]
    assert [w for w in written if not any(p.search(w) for p in PROBLEM_CODE_MATCH)] == []


# What a unit is (a commune, a district, the level below it) is data of the scheme in app/services/reference.py:
# code asks is_commune / commune_clause / level_below / kind_below / units_below / payer_level instead of telling a
# commune by its type word or comparing a level with a number (2 is a district in 2024 and a commune in 2025).
REFERENCE_MODULE = SERVICES / "reference.py"
SCHEME_RULE = (
    re.compile(r"\bunit_type\b[^\n]*\b(?:in|==|!=)\b|\b(?:in|==|!=)\s*[^\n]*\bunit_type\b"),  # unit_type in (...)
    re.compile(r"\bunit_type\.(?:not)?in_\("),  # AdminUnit.unit_type.in_(...)
    re.compile(r"\blevel\s*(?:==|!=|<=?|>=?)\s*\d"),  # unit.level == 2, level < 3
    re.compile(r"\d\s*(?:==|!=|<=?|>=?)\s*\w*\.?level\b"),  # 3 > unit.level
    re.compile(r"\.parent_id\s*==\s*\w+\.id\b"),  # the units below a unit: units_below
)


def _scheme_rule_copies() -> list[str]:
    files = sorted([*(ROOT / "app").rglob("*.py"), *(ROOT / "jobs").rglob("*.py")])
    found = []
    for path in files:
        if path == REFERENCE_MODULE or "migrations" in path.parts:
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(p.search(line) for p in SCHEME_RULE):
                found.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}")
    return found


def test_the_scheme_of_units_is_asked_of_the_reference_module():
    assert _scheme_rule_copies() == []


def test_the_scheme_rule_patterns_catch_each_way_it_was_written():
    written = [
        'children[0].unit_type in ("phường", "xã", "thị trấn")',
        "AdminUnit.unit_type.in_(COMMUNE_TYPES)",
        "if unit.level == 2:",
        "level < 3",
        "parent.level > 1",
        "select(AdminUnit).where(AdminUnit.parent_id == unit.id)",
    ]
    assert [w for w in written if not any(p.search(w) for p in SCHEME_RULE)] == []

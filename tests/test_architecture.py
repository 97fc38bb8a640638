"""Dependencies point one way: app/services knows nothing of Flask, FAB or RQ."""
import ast
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


ROOT = Path(__file__).resolve().parents[1]
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
    offenders = [f"{path.relative_to(ROOT)}:{line}: {name}(" for path in files
                 if str(path.relative_to(ROOT)) not in ENQUEUE_ALLOWED
                 for line, name in _calls(path) if name in ENQUEUERS]
    assert offenders == []
    # Nor do they import a job function or a job-id helper: those belong to the registry.
    outside = [f"{path.relative_to(ROOT)}: {name}" for path in sorted(ROOT.glob("app/**/*.py"))
               for name in _imports(path) if name.startswith("jobs.") and name not in (
                   "jobs.registry", "jobs.queues", "jobs.runtime", "jobs.worker")]
    assert outside == []


def test_every_job_function_is_a_kind_of_the_registry():
    import inspect

    import jobs.cases
    import jobs.imports
    import jobs.matching
    import jobs.payout
    from jobs.registry import KINDS

    functions = {f for module in (jobs.cases, jobs.imports, jobs.matching, jobs.payout)
                 for name, f in inspect.getmembers(module, inspect.isfunction)
                 if name.startswith("run_") and f.__module__ == module.__name__}
    assert functions == {kind.func for kind in KINDS.values()}
    for kind in KINDS.values():
        assert (kind.model is None) == (kind.pending is None), kind.name  # a state row is recoverable

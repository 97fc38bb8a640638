"""Each web worker compiles the app's templates when it starts (gunicorn.conf.py), not on its first requests."""

import runpy
from types import SimpleNamespace

from app.web import compile_templates
from tests.conftest import ROOT


def _cached(env) -> set[str]:
    return {name for _loader, name in env.cache.keys()}


def test_compile_templates_fills_the_environment_cache(app):
    env = app.jinja_env
    env.cache.clear()
    listed = [n for n in env.list_templates() if n.endswith(".html")]
    assert {"home.html", "case_lists.html", "appbuilder/base.html"} <= set(listed)
    assert compile_templates(app) == len(listed)
    assert set(listed) <= _cached(env)


def test_the_gunicorn_worker_start_hook_compiles_them(app):
    app.jinja_env.cache.clear()
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    hooks["post_worker_init"](SimpleNamespace(wsgi=app))
    assert {"home.html", "match_list.html"} <= _cached(app.jinja_env)

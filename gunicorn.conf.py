"""gunicorn's settings for ``gunicorn run:app`` started from this directory (read by default from the working
directory); the command line's options still apply."""


def post_worker_init(worker):
    """Each worker compiles the app's templates before its first request instead of during it."""
    from app.web import compile_templates

    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "jinja_env"):
        compile_templates(app)

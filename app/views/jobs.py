"""/jobs/: the administrator's page of background jobs — the queue, the workers, the jobs waiting, running and
failed (RQ's registries, read through jobs/queues.py) and a retry button for a failed job, which starts it
again through jobs/registry.py like every other start. Only the administrator holds the "Jobs" permission
class; the page checks the administrator role as well."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext

from app.extensions import db
from app.security.access import is_admin
from app.services.job_state import UNEXPECTED
from app.views.batch_common import failure_text


class JobsView(BaseView):
    route_base = "/jobs"
    default_view = "index"
    class_permission_name = "Jobs"
    method_permission_name = {"index": "read", "retry": "write"}

    @expose("/")
    @has_access
    def index(self):
        if not is_admin():
            abort(403)
        from jobs.queues import overview
        from jobs.registry import kind_of

        data = overview()
        for job in data["failed"]:
            kind = kind_of(job["func"])
            job["retryable"] = kind is not None and len(job["args"]) == 1
            row = db.session.get(kind.row_model(), job["args"][0]) if job["retryable"] and kind.model else None
            job["error"] = (failure_text(row) if row is not None else None) or gettext(UNEXPECTED)
        return self.render_template("jobs.html", data=data)

    @expose("/retry/<job_id>", methods=["POST"])
    @has_access
    def retry(self, job_id):
        if not is_admin():
            abort(403)
        from jobs.registry import retry_failed

        job = retry_failed(job_id)
        if job is None:
            flash(gettext("No failed job %(id)s to start again", id=job_id), "warning")
        else:
            flash(gettext("Job %(id)s started again", id=job.id), "info")
        return redirect(url_for(".index"))

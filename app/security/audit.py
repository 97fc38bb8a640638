"""Flask glue of the audit trail: who is acting, and helpers to log views and exports.

``init_audit(app)`` (called once in ``create_app``) installs the ORM listeners on
``db.session`` and tells ``app.services.audit`` how to name the current actor:
- in a request: the signed-in user (``g.user``) and ``request.remote_addr``;
- in a ``flask … asxh`` command: the operating-system user and the command;
- in an RQ job: the user who enqueued it (``jobs/queues.enqueue_once`` stores them, ``jobs/runtime``
  restores them with ``audit_actor``).

Other modules log reads of personal data with::

    from app.security.audit import log_view, log_export
    log_view("beneficiary", person.id, beneficiary_id=person.id, unit_id=person.commune_id)
    log_export("payout_list", detail="Payout list Tháng 02/2024, district 001", count=1234, unit_id=unit.id)

Both append one record and **commit the request's session** (pass ``commit=False`` to commit yourself);
``log_event(action, entity, entity_id, …)`` does the same for any other action code.
"""

from __future__ import annotations

import getpass

from flask import Flask, g, has_request_context, request

from app.api import is_api_request
from app.services import audit
from app.services.audit import Actor


def _user_of_request():
    user = getattr(g, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    return None


def request_actor() -> Actor | None:
    """The actor of the current request or CLI command (None outside both)."""
    if has_request_context():
        user = _user_of_request()
        source = "api" if is_api_request() else "web"
        return Actor(user.id if user else None, user.username if user else None, source, request.remote_addr)
    try:
        import click

        ctx = click.get_current_context(silent=True)
    except Exception:  # pragma: no cover
        ctx = None
    if ctx is not None:
        try:
            os_user = getpass.getuser()
        except Exception:  # pragma: no cover - no passwd entry in some containers
            os_user = "?"
        command = " ".join(ctx.command_path.split()[1:]) or ctx.command_path  # without the program name
        return Actor(None, f"os:{os_user}", f"cli:{command}", None)
    return None


def init_audit(app: Flask) -> None:
    """Install the session listeners (once per process) and the actor provider."""
    from app.extensions import db

    tables = app.config.get("AUDIT_TABLES")
    audit.configure(tables=audit.DEFAULT_AUDITED_TABLES | set(tables or ()))
    audit.configure_chain(
        key=app.config.get("AUDIT_KEY"),
        anchor_path=app.config.get("AUDIT_ANCHOR_PATH"),
        anchor_every=app.config.get("AUDIT_ANCHOR_EVERY", 1000),
    )
    audit.set_actor_provider(request_actor)
    audit.install_listeners(db.session)


def log_event(
    action: str,
    entity: str | None,
    entity_id=None,
    *,
    beneficiary_id=None,
    unit_id=None,
    old=None,
    new=None,
    detail=None,
    commit: bool = True,
    keep_loaded: bool = False,
) -> int:
    """Append one record for the current user (any action code) and commit the request's session.

    ``keep_loaded`` (reads): when the session holds no change of its own, the commit does not expire the rows
    it has loaded — a list page logs the ids it shows, then renders those rows; expired, each row and its
    relations would be loaded again with a query of its own (50 queries for a page of 25)."""
    from app.extensions import db

    session = db.session()
    keep = keep_loaded and commit and not (session.new or session.dirty or session.deleted)
    record_id = audit.record(
        db.session,
        action=action,
        entity=entity,
        entity_id=entity_id,
        beneficiary_id=beneficiary_id,
        unit_id=unit_id,
        old=old,
        new=new,
        detail=detail,
    )
    if keep:
        previous, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()
        finally:
            session.expire_on_commit = previous
    elif commit:
        db.session.commit()
    return record_id


def log_view(
    entity: str,
    entity_id,
    *,
    beneficiary_id: int | None = None,
    unit_id: int | None = None,
    fields=None,
    masked: bool | None = None,
    detail: str | None = None,
    ids=None,
    commit: bool = True,
) -> int:
    """Someone looked at one record (``entity_id``) or one page of records (``ids``) holding personal data.

    ``fields``: identifiers shown in full (e.g. ["cccd"]); ``masked``: whether they were masked;
    ``ids``: the records on the page (one call per page or response, not per row).
    """
    new = {
        k: v
        for k, v in {
            "fields": sorted(fields) if fields else None,
            "masked": masked,
            "ids": list(ids) if ids is not None else None,
        }.items()
        if v is not None
    } or None
    return log_event(
        "view",
        entity,
        entity_id,
        beneficiary_id=beneficiary_id,
        unit_id=unit_id,
        new=new,
        detail=detail,
        commit=commit,
        keep_loaded=True,
    )


def log_page(
    entity: str,
    ids,
    *,
    entity_id=None,
    beneficiary_id: int | None = None,
    unit_id: int | None = None,
    detail: str | None = None,
    commit: bool = True,
) -> int:
    """A page or response showed personal identifiers of these records (``ids``): one record for all of them,
    noting whether the reader saw them masked. Use it on every custom screen / endpoint that lists people."""
    from app.security.masking import should_mask

    return log_view(
        entity,
        entity_id,
        beneficiary_id=beneficiary_id,
        unit_id=unit_id,
        ids=list(ids),
        masked=should_mask(),
        detail=detail,
        commit=commit,
    )


def log_export(
    what: str,
    *,
    detail: str | None = None,
    count: int | None = None,
    unit_id: int | None = None,
    entity_id=None,
    params: dict | None = None,
    commit: bool = True,
) -> int:
    """Someone downloaded a list or report (``what``: e.g. "import_error_report", "payout_list")."""
    new = {k: v for k, v in {"count": count, "params": params}.items() if v is not None} or None
    return log_event("export", what, entity_id, unit_id=unit_id, new=new, detail=detail, commit=commit)


def log_unmask(
    entity: str,
    entity_id,
    *,
    beneficiary_id: int | None = None,
    unit_id: int | None = None,
    fields=None,
    commit: bool = True,
) -> int:
    """Someone asked to see the full CCCD / account number of one record."""
    new = {"fields": sorted(fields)} if fields else None
    return log_event(
        "unmask", entity, entity_id, beneficiary_id=beneficiary_id, unit_id=unit_id, new=new, commit=commit
    )

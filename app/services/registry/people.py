"""One person of the registry: validated create/edit, end/reinstate (never delete), and the explicit move.

Every entry point that writes a beneficiary's fields (REST create/edit, the web form) goes through
``parse_person_fields`` / ``save_person``: the same validators as the import (``normalize``), so a value the
import would refuse is refused everywhere. Problems are ``FieldError`` with English msgids naming the field;
a write that collides with an existing record (unique CCCD, natural key) raises ``Conflict`` — one generic
message that tells nothing about the other record.

Nobody hard-deletes a beneficiary or an enrolment (``app.models.guards``): they are ended with who, when and
why; a user of a higher unit holding the ``reinstate`` capability may reinstate them.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import AdminUnit, Beneficiary, Enrolment
from app.services import audit
from app.services.formatting import utc_now
from app.services.messages import N_, Conflict, FieldError, NotFound, Problem
from app.services.reference import is_commune
from app.services.registry import normalize as nz
from app.services.registry.keys import refresh_keys
from app.services.scope import OutOfScope, contains

PERSON_FIELDS = ("full_name", "cccd", "cmnd", "date_of_birth", "birth_year", "sex", "address", "commune_id")
_YEAR_RE = re.compile(r"^\d{4}$")


def _error(field: str, code: str, msgid: str, **params) -> FieldError:
    return FieldError(Problem(field, code, msgid, params))


def _text(field: str, value, max_len: int, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise _error(field, "required", N_("This field is required"))
        return None
    if not isinstance(value, str):
        raise _error(field, "not_text", N_("Must be text"))
    cleaned = nz.clean_text(value)
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in cleaned):
        raise _error(field, "bad_characters", N_("Contains characters that are not allowed"))
    if required and not cleaned:
        raise _error(field, "required", N_("This field is required"))
    if len(cleaned) > max_len:
        raise _error(field, "too_long", N_("Longer than %(max)d characters"), max=max_len)
    return cleaned or None


def _scalar(field: str, value):
    """Only plain values: a list, an object or a boolean in a field is refused, not stringified."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int, dt.date))):
        raise _error(field, "bad_value", N_("Invalid value"))
    return value


def parse_person_fields(values: Mapping, *, partial: bool = False) -> dict:  # noqa: C901
    """Validate the person fields present in ``values`` (all of them unless ``partial``) with the import's
    parsers. Returns clean values; raises FieldError on the first bad field. Unknown keys are refused."""
    unknown = sorted(set(values) - set(PERSON_FIELDS))
    if unknown:
        raise _error(unknown[0][:40], "unknown_field", N_("Unknown field"))
    out: dict = {}
    has = (lambda f: f in values) if partial else (lambda f: True)
    for f in PERSON_FIELDS:
        if has(f):
            _scalar(f, values.get(f))
    if has("full_name"):
        name = _text("full_name", values.get("full_name"), 150, required=True)
        if not any(ch.isalpha() for ch in name):
            raise _error("full_name", "name_invalid", N_("The full name must contain letters"))
        out["full_name"] = name
    if has("address"):
        out["address"] = _text("address", values.get("address"), 400)
    if has("sex"):
        sex = values.get("sex")
        out["sex"] = nz.parse_sex(sex) if sex not in (None, "") else None
    if has("date_of_birth"):
        dob = values.get("date_of_birth")
        out["date_of_birth"] = None
        if dob not in (None, ""):
            if isinstance(dob, int):
                raise _error("date_of_birth", "date_invalid", N_("Invalid date of birth: %(value)s"), value=dob)
            parsed, _year = nz.parse_date(dob)
            if parsed is None:
                raise _error(
                    "date_of_birth",
                    "date_incomplete",
                    N_("The date of birth must be a full date (day, month and year)"),
                )
            out["date_of_birth"] = parsed
    if has("birth_year"):
        year = values.get("birth_year")
        out["birth_year"] = None
        if year not in (None, ""):
            if not _YEAR_RE.match(str(year).strip()):
                raise _error("birth_year", "year_invalid", N_("Invalid birth year: %(value)s"), value=str(year)[:20])
            try:
                out["birth_year"] = nz.parse_date(str(year).strip())[1]
            except FieldError as exc:
                raise FieldError(
                    Problem("birth_year", exc.problem.code, exc.problem.msgid, exc.problem.params)
                ) from None
    if out.get("date_of_birth") and out.get("birth_year") and out["date_of_birth"].year != out["birth_year"]:
        raise _error("birth_year", "year_mismatch", N_("The birth year does not match the date of birth"))
    if has("cccd"):
        raw = values.get("cccd")
        out["cccd"] = None
        if raw not in (None, ""):
            year = out.get("birth_year") or (out["date_of_birth"].year if out.get("date_of_birth") else None)
            cccd, problems = nz.parse_cccd(raw, birth_year=year, sex=out.get("sex"))
            bad = [p for p in problems if p.severity == "error" or (cccd is None and p.code == "cccd_is_cmnd")]
            if bad:
                raise FieldError(Problem("cccd", bad[0].code, bad[0].msgid, bad[0].params))
            if cccd is None:
                raise _error("cccd", "cccd_chars", N_("CCCD must contain only digits: %(value)s"), value=str(raw)[:20])
            out["cccd"] = cccd
    if has("cmnd"):
        raw = values.get("cmnd")
        out["cmnd"] = None
        if raw not in (None, ""):
            cmnd = nz.parse_cmnd(raw)
            if cmnd is None:
                raise _error("cmnd", "cmnd_invalid", N_("Invalid old ID (CMND) number: %(value)s"), value=str(raw)[:20])
            out["cmnd"] = cmnd
    if has("commune_id"):
        commune = values.get("commune_id")
        if commune in (None, "") or not str(commune).isdecimal() or len(str(commune)) > 9:
            raise _error("commune_id", "unit_invalid", N_("Choose the commune"))
        out["commune_id"] = int(commune)
    return out


def save_person(
    session: Session, person: Beneficiary | None, values: Mapping, *, partial: bool = False, parsed: bool = False
) -> Beneficiary:
    """Create (``person`` None) or edit a person with validated values; flush in a savepoint.

    The caller checks role and scope (the commune of the result) and commits. Raises FieldError or Conflict."""
    clean = dict(values) if parsed else parse_person_fields(values, partial=partial)
    creating = person is None
    if creating:
        if "full_name" not in clean or "commune_id" not in clean:
            missing = "full_name" if "full_name" not in clean else "commune_id"
            raise _error(missing, "required", N_("This field is required"))
        person = Beneficiary(match_status="pending")
    if "commune_id" in clean:
        commune = session.get(AdminUnit, clean["commune_id"])
        if commune is None:
            raise _error("commune_id", "unit_invalid", N_("Choose the commune"))
        person.commune = commune
    for key, value in clean.items():
        setattr(person, key, value)
    if clean.get("date_of_birth"):
        person.birth_year = clean["date_of_birth"].year
    refresh_keys(person)
    if creating:
        session.add(person)
    flush_or_conflict(session)
    return person


def flush_or_conflict(session: Session) -> None:
    """Flush inside a savepoint; a uniqueness violation becomes ``Conflict`` (no SQL, no constraint name)."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict() from None


# --- end and reinstate ------------------------------------------------------------------


def _reason(reason, field: str = "reason") -> str:
    try:
        text = _text(field, reason, 1000)
    except FieldError:
        raise
    if not text:
        raise _error(field, "reason_required", N_("Give the reason"))
    return text


def end_person(
    session: Session,
    person: Beneficiary,
    actor_id: int | None,
    reason,
    *,
    category: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    """End a person (and every open enrolment), or only their enrolment in ``category``. Never a delete.

    Reason required. The caller checks role and scope, and commits (the ORM audit records old/new values)."""
    reason = _reason(reason)
    now = now or utc_now()
    if category is not None:
        enrolment = next((e for e in person.enrolments if e.category == category), None)
        if enrolment is None:
            raise _error("category", "no_enrolment", N_("This person has no enrolment in this category"))
        if enrolment.ended_at is not None:
            raise _error("category", "already_ended", N_("This enrolment is already ended"))
        enrolment.ended_at, enrolment.ended_by_id, enrolment.end_reason = now, actor_id, reason
    else:
        if person.ended_at is not None:
            raise _error("reason", "already_ended", N_("This person is already ended"))
        person.ended_at, person.ended_by_id, person.end_reason = now, actor_id, reason
        for e in person.enrolments:
            if e.ended_at is None:
                e.ended_at, e.ended_by_id, e.end_reason = now, actor_id, reason
    person.updated_at = now
    session.flush()


def may_reinstate(session: Session, actor_unit_id: int | None, person: Beneficiary) -> bool:
    """A higher role: the actor's unit is strictly above the person's commune and covers it."""
    unit = session.get(AdminUnit, actor_unit_id) if actor_unit_id else None
    commune = person.commune
    return contains(unit, commune) and commune.id != unit.id


def reinstate_person(
    session: Session,
    person: Beneficiary,
    actor_id: int | None,
    actor_unit_id: int | None,
    reason,
    *,
    category: str | None = None,
) -> None:
    """Undo an end (the person with the enrolments ended with them, or one enrolment). The caller checks the
    ``reinstate`` capability and commits; the unit rule is checked here."""
    reason = _reason(reason)
    if not may_reinstate(session, actor_unit_id, person):
        raise _error("reason", "not_higher", N_("Only a user of a higher unit may reinstate"))
    if category is not None:
        enrolment = next((e for e in person.enrolments if e.category == category), None)
        if enrolment is None or enrolment.ended_at is None:
            raise _error("category", "not_ended", N_("This enrolment is not ended"))
        if person.ended_at is not None:
            raise _error("category", "person_ended", N_("Reinstate the person first"))
        ended = [enrolment]
    else:
        if person.ended_at is None:
            raise _error("reason", "not_ended", N_("This person is not ended"))
        ended = [e for e in person.enrolments if e.ended_at == person.ended_at]
        old = {"ended_at": person.ended_at.isoformat(sep=" "), "end_reason": person.end_reason}
        person.ended_at = person.ended_by_id = person.end_reason = None
    for e in ended:
        e.ended_at = e.ended_by_id = e.end_reason = None
    person.updated_at = utc_now()
    session.flush()
    audit.record(
        session,
        action="update",
        entity="beneficiary",
        entity_id=person.id,
        beneficiary_id=person.id,
        unit_id=person.commune_id,
        new={"reinstated": category or "person", "reason": reason},
        old=old if category is None else {"category": category},
        detail="reinstated" + (f" ({category})" if category else ""),
    )


# --- move between units ------------------------------------------------------------------


def move_person(
    session: Session, actor_unit_id: int | None, beneficiary_id: int, to_commune: AdminUnit, reason
) -> Beneficiary:
    """Move a person (and their enrolments) to another commune: explicit, audited, reason required, and only
    for an actor whose scope covers both communes. The caller commits."""
    reason = _reason(reason)
    actor_unit = session.get(AdminUnit, actor_unit_id) if actor_unit_id else None
    person = session.get(Beneficiary, beneficiary_id)
    if person is None or not contains(actor_unit, person.commune):
        raise NotFound("beneficiary", N_("No such beneficiary in your scope"))
    if to_commune is None or not contains(actor_unit, to_commune):
        raise OutOfScope("commune", N_("The target commune is outside your scope"))
    if not is_commune(to_commune) or to_commune.id == person.commune_id:
        raise _error("commune", "bad_target", N_("Choose another commune"))
    old = person.commune
    person.commune = to_commune
    person.commune_id = to_commune.id
    for e in person.enrolments:
        e.commune_id = to_commune.id
    person.updated_at = utc_now()  # a change of the record: matching looks at the person again
    refresh_keys(person)
    flush_or_conflict(session)
    audit.record(
        session,
        action="update",
        entity="beneficiary",
        entity_id=person.id,
        beneficiary_id=person.id,
        unit_id=to_commune.id,
        old={"commune": old.code},
        new={"commune": to_commune.code, "reason": reason},
        detail=f"moved from {old.name} to {to_commune.name}",
    )
    return person


def active_enrolments(session: Session, beneficiary_id: int) -> list[Enrolment]:
    return list(
        session.scalars(
            select(Enrolment).where(Enrolment.beneficiary_id == beneficiary_id, Enrolment.ended_at.is_(None))
        )
    )


def set_start_month(
    session: Session, beneficiary_id: int, enrolment_id: int, value, actor_unit: AdminUnit | None
) -> Enrolment:
    """Record the first month of an enrolment's decision (mm/yyyy; empty: none, paid from the first month a
    payout period knew it). Refused outside ``actor_unit``'s scope (NotFound, as if it did not exist) and for an
    ended enrolment. The caller checks the role and commits (the ORM audit records the old and new value).
    The next sync pays the months from it that no period paid (back pay)."""
    enrolment = session.get(Enrolment, enrolment_id)
    if (
        enrolment is None
        or enrolment.beneficiary_id != beneficiary_id
        or not contains(actor_unit, enrolment.commune_id, session)
    ):
        raise NotFound("enrolment")
    if enrolment.ended_at is not None:
        raise _error("start_month", "already_ended", N_("This enrolment is already ended"))
    enrolment.start_month = nz.parse_month(value)
    enrolment.updated_at = utc_now()
    session.flush()
    return enrolment

"""Post-payment verification: after a period is closed (paid and reconciled), a random sample of its payments is
checked with the people themselves by the working groups — on a home visit or by phone.

The sample is drawn per commune (each commune is a stratum: every commune's working group checks its own share).
Its size in a commune of N payments is Cochran's formula with the finite-population correction:

    n0 = z² · p · (1 − p) / e²        z: the normal quantile of the confidence level (95 % → 1.96),
                                      e: the margin of error (5 % → 0.05), p = 0.5 (the most cautious)
    n  = ⌈ n0 / (1 + (n0 − 1) / N) ⌉  never more than N

or every payment (``everyone``). The draw is reproducible and made by the database: the payments of a commune
are ranked by a hash of the line id keyed by the sample's stored ``seed`` and the commune id (integer arithmetic
below 2⁶³, so SQLite and PostgreSQL rank alike; ``choose`` is the same rule in Python) and the first n of each
commune are taken. The tasks are written in one INSERT … SELECT for the group that visits the person
(``visit_assignment.group_id``); a sample larger than ``INLINE_LIMIT`` payments is drawn by a job (kind
``verification_sample``).

An answer other than "received in full" opens a complaint (``ANSWER_COMPLAINTS``), in the same transaction.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from statistics import NormalDist
from typing import Any

from sqlalchemy import BigInteger, case, cast, func, insert, literal, select
from sqlalchemy.orm import Session

from app.models import AdminUnit, PayoutLine, VisitAssignment
from app.models.aftercare import (
    VERIFICATION_ANSWERS,
    VERIFICATION_METHODS,
    Complaint,
    VerificationSample,
    VerificationTask,
)
from app.services import audit
from app.services.formatting import utc_now
from app.services.messages import N_, FieldError, NotFound, Problem
from app.services.payout.complaints import open_complaint
from app.services.payout.periods import effective_unit, load_period, require_status
from app.services.registry import normalize as nz
from app.services.scope import covers, subtree_ids

#: Payments a sample may hold before it is drawn by a job rather than in the request.
INLINE_LIMIT = 5000
#: The payments a verification checks: the money moved (in full or in part).
CHECKED_RESULTS = ("paid", "partial")
#: Answer → the category of the complaint it opens (a full receipt opens none).
ANSWER_COMPLAINTS = {"partly": "wrong_amount", "none": "not_paid", "someone_else": "wrong_account"}
DEFAULT_PROPORTION = 0.5


def cochran_size(
    population: int, confidence: float = 95, margin: float = 5, proportion: float = DEFAULT_PROPORTION
) -> int:
    """The sample size for ``population`` payments at ``confidence`` % and a margin of error of ``margin`` %
    (Cochran with the finite-population correction; see the module's docstring)."""
    if population <= 0:
        return 0
    if not 0 < confidence < 100 or not 0 < margin < 100:
        raise FieldError(
            Problem(
                "confidence",
                "sample_parameters",
                N_("The confidence level and the margin of error are percentages between 0 and 100"),
            )
        )
    z = NormalDist().inv_cdf(0.5 + confidence / 200)
    e = margin / 100
    n0 = z * z * proportion * (1 - proportion) / (e * e)
    return min(population, math.ceil(n0 / (1 + (n0 - 1) / population)))


def _checked_lines(period_id: int, target: AdminUnit):
    return (
        PayoutLine.period_id == period_id,
        PayoutLine.commune_id.in_(subtree_ids(target)),
        PayoutLine.channel != "held",
        PayoutLine.result_status.in_(CHECKED_RESULTS),
    )


def create_sample(
    session: Session,
    period_id: int,
    unit: AdminUnit,
    user_id: int | None,
    *,
    method: str = "visit",
    confidence: float = 95,
    margin: float = 5,
    everyone: bool = False,
    seed: int | None = None,
) -> VerificationSample:
    """Record a sample (waiting to be drawn) of the closed period ``period_id`` in ``unit``'s part of it; commits.
    One sample per period and unit. The caller draws it (``draw_sample``) now or through the job."""
    period = load_period(session, period_id)
    target = effective_unit(period, unit)
    require_status(
        period,
        ("paid",),
        N_("The payout period %(name)s must be closed (paid and reconciled) before its payments are verified"),
        "period_not_paid",
    )
    if method not in VERIFICATION_METHODS:
        raise FieldError(
            Problem("method", "method_unknown", N_("Unknown verification method %(value)s"), {"value": method})
        )
    cochran_size(1, confidence, margin)  # refuses impossible parameters before anything is written
    if session.scalar(
        select(VerificationSample.id).where(
            VerificationSample.period_id == period.id, VerificationSample.unit_id == target.id
        )
    ):
        raise FieldError(
            Problem(
                "period",
                "sample_exists",
                N_("A verification sample of %(name)s was already drawn for %(unit)s"),
                {"name": period.name, "unit": target.name},
            )
        )
    population = session.scalar(select(func.count()).select_from(PayoutLine).where(*_checked_lines(period.id, target)))
    sample = VerificationSample(
        period_id=period.id,
        unit_id=target.id,
        method=method,
        confidence=confidence,
        margin=margin,
        everyone=bool(everyone),
        seed=seed if seed is not None else secrets.randbelow(2**62),
        status="queued",
        population=population or 0,
        created_by_id=user_id,
        created_at=utc_now(),
    )
    session.add(sample)
    session.commit()
    return sample


def needs_job(sample: VerificationSample) -> bool:
    return sample.population > INLINE_LIMIT


#: The modulus of the ranking hash: a prime below 2³¹, so that a square of a residue stays below 2⁶².
HASH_PRIME = 2_147_483_647


def _seed_keys(seed: int) -> tuple[int, ...]:
    """Five keys below ``HASH_PRIME`` drawn from the sample's seed (the first never 0)."""
    digest = hashlib.sha256(str(seed).encode()).digest()
    keys = [int.from_bytes(digest[i : i + 4], "big") % HASH_PRIME for i in range(0, 20, 4)]
    keys[0] = keys[0] or 1
    return tuple(keys)


def _rank(keys: tuple[int, ...], commune_id: int, line_id: int) -> int:
    """A line's place in its commune's draw: an affine step, then two squarings (not linear in the id)."""
    a, b, c, d, e = keys
    h = (line_id * a % HASH_PRIME + commune_id * b % HASH_PRIME + c) % HASH_PRIME
    h = (h * h + d) % HASH_PRIME
    return (h * h + e) % HASH_PRIME


def _rank_sql(keys: tuple[int, ...], lines):
    """``_rank`` as SQL over ``lines`` (a subquery with line_id and commune_id), in two nested selects so that
    each square reads a column rather than repeating its expression. Returns the subquery with a ``rank``."""
    a, b, c, d, e = (literal(k, BigInteger) for k in keys)
    line, commune = cast(lines.c.line_id, BigInteger), cast(lines.c.commune_id, BigInteger)
    step = select(lines, ((line * a % HASH_PRIME + commune * b % HASH_PRIME + c) % HASH_PRIME).label("h")).subquery()
    squared = select(step, ((step.c.h * step.c.h + d) % HASH_PRIME).label("h2")).subquery()
    return select(squared, ((squared.c.h2 * squared.c.h2 + e) % HASH_PRIME).label("rank")).subquery()


def sample_size(sample: VerificationSample, population: int) -> int:
    """How many of a commune's ``population`` payments the sample checks."""
    if sample.everyone:
        return population
    return cochran_size(population, float(sample.confidence), float(sample.margin))


def choose(line_ids_by_commune: dict[int, list[int]], sample: VerificationSample) -> dict[int, list[int]]:
    """commune → the chosen line ids, by the rule ``draw_sample`` applies in SQL: to re-check a sample outside
    the database, whatever order the ids come in."""
    keys = _seed_keys(sample.seed)
    chosen: dict[int, list[int]] = {}
    for commune_id in sorted(line_ids_by_commune):
        ids = line_ids_by_commune[commune_id]
        ranked = sorted(ids, key=lambda i: (_rank(keys, commune_id, i), i))
        chosen[commune_id] = sorted(ranked[: sample_size(sample, len(ids))])
    return chosen


def draw_sample(session: Session, sample_id: int, progress=None) -> dict[str, Any]:
    """Draw the sample and write its tasks in one statement; commits. Idempotent: a drawn sample is left as it
    is, and a draw interrupted before its commit wrote nothing."""
    sample = session.get(VerificationSample, sample_id)
    if sample is None:
        raise NotFound("sample")
    if sample.status == "done":
        return sample_summary(sample)
    sample.status = "running"
    session.commit()
    target = session.get(AdminUnit, sample.unit_id)
    checked = _checked_lines(sample.period_id, target)
    populations = dict(
        session.execute(
            select(PayoutLine.commune_id, func.count()).where(*checked).group_by(PayoutLine.commune_id)
        ).all()
    )
    sizes = {commune_id: sample_size(sample, n) for commune_id, n in populations.items()}
    lines = (
        select(
            PayoutLine.id.label("line_id"),
            PayoutLine.commune_id,
            PayoutLine.beneficiary_id,
            VisitAssignment.group_id,
        )
        .outerjoin(VisitAssignment, VisitAssignment.beneficiary_id == PayoutLine.beneficiary_id)
        .where(*checked)
        .subquery()
    )
    hashed = _rank_sql(_seed_keys(sample.seed), lines)
    ranked = select(
        hashed.c.line_id,
        hashed.c.commune_id,
        hashed.c.beneficiary_id,
        hashed.c.group_id,
        func.row_number()
        .over(partition_by=hashed.c.commune_id, order_by=(hashed.c.rank, hashed.c.line_id))
        .label("place"),
    ).subquery()
    drawn = sum(sizes.values())
    if drawn:
        size = case({c: n for c, n in sizes.items()}, value=ranked.c.commune_id, else_=0)
        session.execute(
            insert(VerificationTask).from_select(
                ["sample_id", "period_id", "line_id", "beneficiary_id", "commune_id", "group_id", "method"],
                select(
                    literal(sample.id),
                    literal(sample.period_id),
                    ranked.c.line_id,
                    ranked.c.beneficiary_id,
                    ranked.c.commune_id,
                    ranked.c.group_id,
                    literal(sample.method),
                )
                .where(ranked.c.place <= size)
                .order_by(ranked.c.commune_id, ranked.c.line_id),
            )
        )
    sample.status, sample.drawn, sample.finished_at = "done", drawn, utc_now()
    sample.population = sum(populations.values())
    audit.record(
        session,
        action="bulk",
        entity="verification_sample",
        entity_id=sample.id,
        unit_id=sample.unit_id,
        new={"tasks": drawn, "population": sample.population, "seed": sample.seed},
        detail="Post-payment verification sample drawn",
    )
    session.commit()
    return sample_summary(sample)


def sample_summary(sample: VerificationSample) -> dict[str, Any]:
    return {"sample_id": sample.id, "status": sample.status, "population": sample.population, "drawn": sample.drawn}


def record_answer(
    session: Session,
    task_id: int,
    actor_unit: AdminUnit | None,
    user_id: int | None,
    *,
    answer: str,
    received_by: str | None = None,
    received_on=None,
    note: str | None = None,
) -> VerificationTask:
    """Record what the person said about the payment; an answer other than "received in full" opens a complaint
    (once per task); commits. Outside the actor's scope: NotFound."""
    task = session.get(VerificationTask, task_id)
    if task is None or (actor_unit is not None and not covers(actor_unit, task.commune_id, session)):
        raise NotFound("task")
    if answer not in VERIFICATION_ANSWERS:
        raise FieldError(Problem("answer", "answer_unknown", N_("Choose what the person answered")))
    received_by = nz.clean_text(received_by) or None
    if answer == "someone_else" and not received_by:
        raise FieldError(Problem("received_by", "received_by_missing", N_("Write who received the money")))
    task.answer, task.received_by, task.received_on = answer, received_by, received_on
    task.note = nz.clean_text(note) or None
    task.answered_by_id, task.answered_at = user_id, utc_now()
    session.flush()
    category = ANSWER_COMPLAINTS.get(answer)
    if category is not None and not session.scalar(
        select(Complaint.id).where(Complaint.verification_task_id == task.id)
    ):
        open_complaint(
            session,
            beneficiary_id=task.beneficiary_id,
            category=category,
            channel="verification",
            actor_unit=None,  # the task's scope was checked above; the system opens it
            user_id=user_id,
            description=task.note,
            line_id=task.line_id,
            verification_task_id=task.id,
        )
    session.commit()
    return task


def tasks_query(unit: AdminUnit | None):
    """The verification tasks in ``unit``'s scope (SELECT of VerificationTask)."""
    return select(VerificationTask).where(VerificationTask.commune_id.in_(subtree_ids(unit)))


def person_answers(session: Session, beneficiary_id: int, unit: AdminUnit | None) -> list[VerificationTask]:
    return list(
        session.scalars(
            tasks_query(unit)
            .where(VerificationTask.beneficiary_id == beneficiary_id)
            .order_by(VerificationTask.id.desc())
        )
    )


def confirmed_by_commune(session: Session, unit: AdminUnit) -> dict[int, dict[str, int]]:
    """commune id → {"checked": answered tasks, "confirmed": answered "received in full"} in ``unit``'s scope."""
    out: dict[int, dict[str, int]] = {}
    for commune_id, answer, n in session.execute(
        select(VerificationTask.commune_id, VerificationTask.answer, func.count())
        .where(VerificationTask.commune_id.in_(subtree_ids(unit)), VerificationTask.answer.is_not(None))
        .group_by(VerificationTask.commune_id, VerificationTask.answer)
    ):
        row = out.setdefault(commune_id, {"checked": 0, "confirmed": 0})
        row["checked"] += n
        if answer == "full":
            row["confirmed"] += n
    return out

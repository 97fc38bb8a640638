"""The integrity state machine: actors of every role, in several units, drive the services in random order
(import lists with overlapping people, missing CCCDs and people of other units; match; decide reviews; enter
and verify accounts; the bank's pre-validation answers; create overlapping payout periods; sync; approve tier by
tier, reject, withdraw; lock; record bank results, partial payments and reversals; lift holds; pay back what
earlier periods left owed).

Each rule does what the screen or the job does: the capability of the actor's role (the ONE role table) picks
who may act, the unit comes from the actor's scope, and then the service runs as the job would run it.
After every step:
  (a) no enrolment is payable twice for one benefit month, across all periods;
  (b) after a sync, every enrolment of the synced scope is on a line of the period (held lines with their
      reason) or left out for a stated reason (the category rule, or another period pays it for the same benefit
      month), and a line is held exactly when it has a reason (checked for every sync whose scope
      saw no registry change since);
  (c) no row outside the acting user's scope changed (fingerprint of beneficiary, enrolment,
      payment_account and payout_line rows of the other units);
  (d) the audit chain verifies;
  (e) a locked period (and every later state) holds, in its last approval round, the approvals of every tier,
      each given on the checksum the period was locked with;
  (f) no sync puts money on an account whose latest answer from the bank before it failed the account.
  (g) paid + in payment + owed = entitled, per person, enrolment and benefit month (the entitlement computed by
      the test), and right after a back-pay sync a person paid now is owed nothing up to the period's month.
Bounded and reproducible (derandomize): about 300 steps per database.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections import Counter

from hypothesis import HealthCheck, Phase, settings
from hypothesis import event as _event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.integrity import world

SETTINGS = settings(
    max_examples=int(os.environ.get("INTEGRITY_EXAMPLES", "10")),
    stateful_step_count=int(os.environ.get("INTEGRITY_STEPS", "30")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    # INTEGRITY_SHRINK=0: report the first failing sequence as found (quick look while working)
    phases=(
        tuple(Phase)
        if os.environ.get("INTEGRITY_SHRINK", "1") != "0"
        else (Phase.explicit, Phase.reuse, Phase.generate)
    ),
)

pick = st.integers(min_value=0, max_value=10_000)
import_rows = st.lists(
    st.tuples(
        st.integers(0, len(world.PEOPLE) - 1), st.sampled_from(world.ROW_VARIANTS), st.sampled_from(world.AMOUNTS)
    ),
    min_size=1,
    max_size=6,
)


OUTCOMES: Counter = Counter()  # what the steps did (printed with -s): a run that does nothing proves nothing


def event(text: str) -> None:
    OUTCOMES[text] += 1
    _event(text)


#: Whoever signs an approval tier (app/services/payout/tiers.py).
APPROVERS = sorted(set(world.actor_names("verify_payout_list")) | set(world.actor_names("head_approve_payout")))


def _choose(items, index):
    items = list(items)
    return items[index % len(items)] if items else None


class IntegrityMachine(RuleBasedStateMachine):
    app = None  # set by the test

    def __init__(self):
        super().__init__()
        from app.extensions import db

        self._ctx = self.app.app_context()
        self._ctx.push()
        self.session = db.session
        world.clear_data(self.session)
        world.seed_registry(self.session)
        self.users = world.user_ids(self.session)
        self.actor_by_name = {a.username: a for a in world.actors()}
        self.period_counter = 0
        self.clean_syncs: set[tuple[int, int]] = set()  # (period id, unit id) synced with no registry change since
        self.tmp = tempfile.mkdtemp(prefix="integrity-")
        OUTCOMES["examples"] += 1

    def teardown(self):
        with contextlib.suppress(Exception):
            self.session.rollback()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self._ctx.pop()

    # --- helpers -----------------------------------------------------------------------------

    def unit(self, code):
        from app.services.reference import find_unit

        return find_unit(self.session, code, "2024")

    def units_in_scope(self, actor, *, max_level=3):
        scope = self.unit(actor.unit_code)
        return [
            u
            for u in (self.unit(c) for c in world.UNIT_CODES)
            if u.path.startswith(scope.path) and u.level <= max_level
        ]

    @contextlib.contextmanager
    def acting(self, username):
        """Run one step as ``username``: the audit names them, and nothing outside their scope may change (c).

        A FieldError is the service refusing the step: the transaction is rolled back, as the screens do."""
        from app.services.audit import audit_actor
        from app.services.messages import FieldError

        actor = self.actor_by_name[username]
        scope_unit = (
            self.unit(actor.unit_code) if actor.capabilities - {"unmask_record"} or actor.period_write else None
        )  # read-only roles may change nothing at all
        scope = world.scope_unit_ids(self.session, scope_unit)
        before = world.outside_rows(self.session, scope)
        try:
            with audit_actor(user_id=self.users[username], username=username, source="test"):
                yield actor
        except FieldError as exc:
            event(f"refused: {exc.problem.code}")
            self.session.rollback()
        self.session.rollback()  # end any read transaction; every service commits its own work
        self.session.expire_all()
        after = world.outside_rows(self.session, scope)
        if after != before:
            changed = {}
            for table in world.SCOPED_TABLES:
                was, now = before[table], after[table]
                diff = []
                for rid in sorted(set(was) | set(now)):
                    if was.get(rid) != now.get(rid):
                        old, new = was.get(rid) or {}, now.get(rid) or {}
                        diff.append(
                            (
                                rid,
                                {
                                    k: (old.get(k), new.get(k))
                                    for k in sorted(set(old) | set(new))
                                    if old.get(k) != new.get(k)
                                },
                            )
                        )
                if diff:
                    changed[table] = diff[:3]
            raise AssertionError(f"(c) {username} (scope {actor.unit_code}) changed rows outside its scope: {changed}")

    def registry_changed(self):
        self.clean_syncs.clear()

    def results_changed(self):
        """A failed, partial or reversed payment leaves its month owed: a sync of another period for that month
        would now pay it, so what earlier syncs left out is no longer final (b)."""
        self.clean_syncs.clear()

    def count(self, sql):
        from sqlalchemy import text

        n = self.session.execute(text(sql)).scalar()
        self.session.rollback()
        return n or 0

    def has_periods(self, statuses=None):
        where = " WHERE status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")" if statuses else ""
        return self.count("SELECT count(*) FROM payout_period" + where) > 0

    # --- rules: registry ---------------------------------------------------------------------

    @initialize(category=st.sampled_from(world.CATEGORIES))
    def districts_import_their_lists(self, category):
        """Each district office starts with its own list: every person of the pool in their own commune."""
        for district, username in (("001", "phong.001"), ("002", "phong.002")):
            communes = [c for c in world.COMMUNES if self.unit(c).path.startswith(self.unit(district).path)]
            rows = [(p.index, "plain", world.AMOUNTS[p.index % 3]) for p in world.PEOPLE if p.home in communes]
            self.import_list(username, 0, category, rows, unit_code=district)

    @rule(
        username=st.sampled_from(world.actor_names("import")),
        unit_pick=pick,
        category=st.sampled_from(world.CATEGORIES),
        rows=import_rows,
    )
    def import_list(self, username, unit_pick, category, rows, unit_code=None):
        from app.services.registry import importing

        with self.acting(username) as actor:
            batch_unit = self.unit(unit_code) if unit_code else _choose(self.units_in_scope(actor), unit_pick)
            communes = [c for c in world.COMMUNES if self.unit(c).path.startswith(batch_unit.path)]
            content = world.beneficiary_csv(rows, communes)
            batch = importing.create_batch(
                self.session,
                filename="danh_sach.csv",
                content=content,
                unit=batch_unit,
                category=category,
                user_id=self.users[username],
            )
            self.session.commit()
            batch_id = batch.id
            if batch.status == "uploaded":
                importing.parse_batch(self.session, batch_id)
                applied = importing.apply_batch(self.session, batch_id)
                event(
                    f"import: {applied.status}, {applied.rows_imported} new, {applied.rows_updated} updated, "
                    f"{applied.rows_error} errors"
                )
        self.registry_changed()

    @precondition(lambda self: self.count("SELECT count(*) FROM beneficiary WHERE match_status = 'pending'") > 0)
    @rule(username=st.sampled_from(world.actor_names("match")))
    def run_matching(self, username):
        """The matching job of the actor's unit, when someone is waiting to be matched (after an import)."""
        from app.services.registry import matching

        with self.acting(username) as actor:
            run = matching.start_run(self.session, self.unit(actor.unit_code), self.users[username])
            self.session.commit()
            done = matching.execute_run(self.session, run.id)
            event(f"matching {done.status}")
        self.registry_changed()

    @rule(
        username=st.sampled_from(world.actor_names("match")),
        person_pick=pick,
        action=st.sampled_from(("keep_record", "accept_registry", "link_candidate", "mark_deceased", "mark_moved")),
    )
    def decide_review(self, username, person_pick, action):
        """The police decision screen, through the one entry point of every decision (``matching.decide``): a
        person of the actor's scope; refused per person when accepting the registry values would move them out
        of the scope or give them a CCCD another person holds."""
        import json

        from app.models import Beneficiary
        from app.services.registry import matching

        with self.acting(username) as actor:
            actor_unit = self.unit(actor.unit_code)
            scope = world.scope_unit_ids(self.session, actor_unit)
            people = (
                self.session.query(Beneficiary).filter(Beneficiary.commune_id.in_(scope)).order_by(Beneficiary.id).all()
            )
            person = _choose(people, person_pick)
            if person is None:
                return
            candidates = json.loads(person.match_candidates or "[]")
            cccd = candidates[0]["cccd"] if candidates else None
            outcome = matching.decide(
                self.session,
                actor_unit,
                [person.id],
                action,
                self.users[username],
                reason="Xác minh tại nhà",
                cccd=cccd,
            )
            self.session.commit()
            for _, problem in outcome.refused:
                event(f"review refused: {problem.code}")
            if outcome.done:
                event(f"review {action}")
        self.registry_changed()

    # --- rules: accounts ---------------------------------------------------------------------

    @rule(
        username=st.sampled_from(world.actor_names("enter_account")),
        person_pick=pick,
        number=st.integers(0, 3),
        holder_is_person=st.booleans(),
    )
    def enter_account(self, username, person_pick, number, holder_is_person):
        """Any person may be asked for (the service checks the scope); the number is the person's own."""
        from app.models import Beneficiary
        from app.services.payout import accounts

        with self.acting(username):
            person = _choose(self.session.query(Beneficiary).order_by(Beneficiary.id).all(), person_pick)
            if person is None:
                return
            accounts.enter_account(
                self.session,
                beneficiary_id=person.id,
                channel=None,
                bank="970436",
                account_number=f"10{person.id:06d}{number}",
                holder_name=person.full_name if holder_is_person else "Người Nhận Hộ",
                source="police",
                user_id=self.users[username],
                mismatch_reason=None if holder_is_person else "Con gái nhận thay",
            )
            self.session.commit()
            event("account entered")

    @precondition(lambda self: self.count("SELECT count(*) FROM payment_account WHERE state = 'pending'") > 0)
    @rule(username=st.sampled_from(world.actor_names("verify_account")), account_pick=pick, approve=st.booleans())
    def verify_account(self, username, account_pick, approve):
        from app.models import PaymentAccount
        from app.services.payout import accounts

        with self.acting(username):
            pending = self.session.query(PaymentAccount).filter_by(state="pending").order_by(PaymentAccount.id).all()
            account = _choose(pending, account_pick)
            if account is None:
                return
            accounts.verify_account(
                self.session,
                account.id,
                self.users[username],
                approve=approve,
                reason=None if approve else "Sai số tài khoản",
            )
            self.session.commit()
            event(f"account verified: {approve}")

    @precondition(lambda self: self.count("SELECT count(*) FROM payment_account WHERE state = 'verified'") > 0)
    @rule(account_pick=pick, outcome=st.sampled_from(("valid", "name_mismatch", "closed_or_unknown", "unavailable")))
    def bank_answers(self, account_pick, outcome):
        """The bank's answer to a pre-validation of a verified account (a file or the online service)."""
        from app.models import PaymentAccount
        from app.services.payout import prevalidation

        verified = self.session.query(PaymentAccount).filter_by(state="verified").order_by(PaymentAccount.id).all()
        account = _choose(verified, account_pick)
        if account is None:
            return
        prevalidation.record_check(
            self.session, account, prevalidation.CheckResult(outcome), user_id=None, source="file"
        )
        self.session.commit()
        event(f"bank answered: {outcome}")

    # --- rules: payout -----------------------------------------------------------------------

    @rule(
        username=st.sampled_from(world.actor_names(period_write=True)),
        unit_pick=pick,
        day=st.sampled_from(world.PERIOD_DATES),
    )
    def create_period(self, username, unit_pick, day):
        from app.services import payout

        with self.acting(username) as actor:
            unit = _choose(self.units_in_scope(actor, max_level=2), unit_pick)
            if unit is None:
                return
            self.period_counter += 1
            payout.create_period(
                self.session,
                name=f"Đợt {self.period_counter} {day:%m/%Y}",
                period_date=day,
                unit=unit,
                user_id=self.users[username],
            )
            self.session.commit()
            event(f"period created for level {unit.level}")

    def visible_periods(self, actor, statuses=None):
        from app.models import PayoutPeriod
        from app.services import payout

        unit = self.unit(actor.unit_code)
        query = self.session.query(PayoutPeriod).order_by(PayoutPeriod.id)
        if statuses:
            query = query.filter(PayoutPeriod.status.in_(statuses))
        return [p for p in query if payout.period_visible(p, unit)]

    @precondition(lambda self: self.has_periods(("draft", "synced")))
    @rule(
        username=st.sampled_from(
            [n for n in world.actor_names("sync_payout") if n in world.actor_names("approve_payout")]
        ),
        period_pick=pick,
    )
    def sync_by_office(self, username, period_pick):
        """A district office or the city department syncs a period they see."""
        self.sync(username, period_pick)

    @precondition(lambda self: self.has_periods(("draft", "synced")))
    @rule(
        username=st.sampled_from(
            [n for n in world.actor_names("sync_payout") if n not in world.actor_names("approve_payout")]
        ),
        period_pick=pick,
    )
    def sync_by_police(self, username, period_pick):
        """Commune police sync their commune's part of a period."""
        self.sync(username, period_pick)

    def sync(self, username, period_pick):
        """The sync button, then the job: request_sync records the run, sync_payout_list runs it."""
        from app.models import AdminUnit
        from app.services import payout

        synced = None
        with self.acting(username) as actor:
            period = _choose(self.visible_periods(actor), period_pick)
            if period is None:
                return
            run = payout.request_sync(self.session, period.id, self.unit(actor.unit_code), self.users[username])
            self.session.commit()
            run_id, run_unit = run.id, self.session.get(AdminUnit, run.unit_id)
            result = payout.sync_payout_list(
                self.session, run.period_id, run_unit, run_id=run_id, user_id=self.users[username]
            )
            synced = (result["period_id"], result["unit_id"])
            event(f"sync: {result['total'] > 0 and 'lines' or 'empty'}")
        if synced is not None:
            problems = world.sync_coverage_problems(self.session, synced[0], self.session.get(AdminUnit, synced[1]))
            self.session.rollback()
            assert not problems, "(b) right after the sync: " + "; ".join(problems[:5])
            self.clean_syncs.add(synced)

    @precondition(lambda self: self.has_periods(("synced",)))
    @rule(username=st.sampled_from(APPROVERS), period_pick=pick)
    def approve(self, username, period_pick):
        """An approver signs the tier of a synced period that waits for them (refused: not their unit, tiers out
        of order, twice in a round, the one who synced it, lines changed after an approval)."""
        from app.services.payout import approvals

        with self.acting(username) as actor:
            period = _choose(self.visible_periods(actor, ("synced",)), period_pick)
            if period is None:
                return
            state = approvals.approve(
                self.session,
                period.id,
                user_id=self.users[username],
                unit=self.unit(actor.unit_code),
                abilities=actor.capabilities,
            )
            event("approved: every tier" if state.approved else "approved: one tier")

    @precondition(lambda self: self.has_periods(("synced",)))
    @rule(period_pick=pick, signer_picks=st.lists(pick, min_size=2, max_size=4))
    def approve_round(self, period_pick, signer_picks):
        """A whole round, as an office does it in a day: for each tier in order, one of the approvers who may sign
        it (their tier and unit) signs; the service still refuses the one who synced, a second signature, ..."""
        from app.models import PayoutPeriod
        from app.services.payout import approvals, tiers

        period = _choose(
            self.session.query(PayoutPeriod).filter_by(status="synced").order_by(PayoutPeriod.id), period_pick
        )
        if period is None:
            return
        pid = period.id
        for signer_pick in signer_picks:
            period = self.session.get(PayoutPeriod, pid)
            waiting = tiers.approval_state(self.session, period, None).next_tier()
            if period.status != "synced" or waiting is None:
                break
            signers = [
                a
                for a in (self.actor_by_name[name] for name in APPROVERS)
                if waiting.tier in approvals.held_tiers(period, self.unit(a.unit_code), a.capabilities)
            ]
            self.session.rollback()
            signer = _choose(signers, signer_pick)
            if signer is None:
                event("approval round: no signer")
                return
            self._sign(signer.username, pid)

    def _sign(self, username, period_id):
        from app.services.payout import approvals

        with self.acting(username) as actor:
            state = approvals.approve(
                self.session,
                period_id,
                user_id=self.users[username],
                unit=self.unit(actor.unit_code),
                abilities=actor.capabilities,
            )
            event("approval round: every tier" if state.approved else "approval round: one tier")

    @precondition(lambda self: self.count("SELECT count(*) FROM payout_approval") > 0)
    @rule(username=st.sampled_from(APPROVERS), period_pick=pick, reject=st.booleans())
    def withdraw_or_reject(self, username, period_pick, reject):
        """An approver withdraws the round's approvals (or rejects the list), with a reason: back to synced."""
        from app.models import PayoutPeriod
        from app.services.payout import approvals

        with self.acting(username) as actor:
            period = _choose(self.visible_periods(actor, ("synced", "approved")), period_pick)
            if period is None:
                return
            action = approvals.reject if reject else approvals.withdraw
            action(
                self.session,
                period.id,
                user_id=self.users[username],
                unit=self.unit(actor.unit_code),
                abilities=actor.capabilities,
                reason="Cần rà soát lại danh sách",
            )
            event("rejected" if reject else "withdrawn")
            assert self.session.get(PayoutPeriod, period.id).status == "synced"

    @precondition(lambda self: self.has_periods(("approved",)))
    @rule(username=st.sampled_from(world.actor_names("approve_payout")), period_pick=pick, hand_over=st.booleans())
    def lock(self, username, period_pick, hand_over):
        from app.services import payout

        with self.acting(username) as actor:
            unit = self.unit(actor.unit_code)
            period = _choose(
                [p for p in self.visible_periods(actor, ("approved",)) if payout.period_in_charge(p, unit)], period_pick
            )
            if period is None:
                return
            pid = period.id
            payout.lock_period(self.session, pid, self.users[username], unit)
            event("locked")
            if hand_over:
                payout.hand_over(self.session, pid, self.users[username], unit)

    @precondition(lambda self: self.has_periods(("locked", "handed_over")))
    @rule(
        username=st.sampled_from(world.actor_names("approve_payout")),
        period_pick=pick,
        outcomes=st.lists(st.booleans(), min_size=1, max_size=12),
    )
    def record_results(self, username, period_pick, outcomes):
        """A bank result file for the lines of the period the actor sees (a failure for some)."""
        from app.models import PayoutLine
        from app.services import payout

        with self.acting(username) as actor:
            unit = self.unit(actor.unit_code)
            period = _choose(self.visible_periods(actor, ("locked", "handed_over")), period_pick)
            if period is None:
                return
            target = payout.effective_unit(period, unit)
            lines = (
                self.session.query(PayoutLine.id)
                .filter(
                    PayoutLine.period_id == period.id,
                    PayoutLine.channel != "held",
                    PayoutLine.commune_id.in_(world.scope_unit_ids(self.session, target)),
                )
                .order_by(PayoutLine.id)
                .all()
            )
            if not lines:
                return
            path = os.path.join(self.tmp, f"ket_qua_{period.id}.csv")
            with open(path, "wb") as fh:
                fh.write(world.results_csv([(line.id, outcomes[i % len(outcomes)]) for i, line in enumerate(lines)]))
            got = payout.import_results(self.session, period.id, path, unit, self.users[username])
            event(f"results: failed {got['failed'] > 0}")
        self.results_changed()

    @precondition(lambda self: self.count("SELECT count(*) FROM payout_line WHERE result_status = 'failed'") > 0)
    @rule(username=st.sampled_from(world.actor_names("approve_payout")), from_pick=pick, to_pick=pick)
    def carry(self, username, from_pick, to_pick):
        from app.models import PayoutLine, PayoutPeriod
        from app.services import payout

        with self.acting(username) as actor:
            failed = {
                pid
                for (pid,) in self.session.query(PayoutLine.period_id)
                .filter(PayoutLine.result_status == "failed")
                .distinct()
            }
            source = _choose([p for p in self.visible_periods(actor) if p.id in failed], from_pick)
            if source is None:
                return
            targets = [
                p
                for p in self.visible_periods(actor, ("draft", "synced"))
                if p.id != source.id and p.period_date >= source.period_date
            ]
            target = _choose(targets, to_pick)
            if target is None:
                return
            moved = payout.carry_failed(
                self.session, source.id, target.id, self.unit(actor.unit_code), self.users[username]
            )
            event(f"carried: {moved > 0}")
            assert self.session.get(PayoutPeriod, target.id).status in ("draft", "synced")

    @precondition(
        lambda self: self.count(
            "SELECT count(*) FROM payout_line WHERE channel <> 'held' AND result_status IN ('pending', 'paid', "
            "'partial') AND period_id IN (SELECT id FROM payout_period WHERE status IN ('locked', 'handed_over', "
            "'paid'))"
        )
        > 0
    )
    @rule(
        username=st.sampled_from(world.actor_names("approve_payout")),
        period_pick=pick,
        outcomes=st.lists(st.sampled_from(("paid", "partial", "failed", "reversed")), min_size=1, max_size=12),
    )
    def record_later_results(self, username, period_pick, outcomes):
        """A result file with partial payments, and reversals of lines paid earlier (only lines it may report:
        waiting ones get paid, partial or failed, paid ones may come back reversed)."""
        from app.models import PayoutLine
        from app.services import payout

        words = {"paid": "Thành công", "partial": "Chi một phần", "failed": "Thất bại", "reversed": "Hoàn trả"}
        with self.acting(username) as actor:
            unit = self.unit(actor.unit_code)
            period = _choose(self.visible_periods(actor, ("locked", "handed_over", "paid")), period_pick)
            if period is None:
                return
            target = payout.effective_unit(period, unit)
            lines = (
                self.session.query(PayoutLine)
                .filter(
                    PayoutLine.period_id == period.id,
                    PayoutLine.channel != "held",
                    PayoutLine.result_status.in_(("pending", "paid", "partial")),
                    PayoutLine.commune_id.in_(world.scope_unit_ids(self.session, target)),
                )
                .order_by(PayoutLine.id)
                .all()
            )
            rows = []
            for i, line in enumerate(lines):
                outcome = outcomes[i % len(outcomes)]
                if line.result_status in ("paid", "partial"):
                    if outcome == "reversed":
                        rows.append((line.id, words["reversed"], None))
                elif outcome == "partial" and line.total >= 2:
                    rows.append((line.id, words["partial"], line.total // 2))
                elif outcome in ("paid", "failed"):
                    rows.append((line.id, words[outcome], None))
            if not rows:
                return
            path = os.path.join(self.tmp, f"ket_qua_sau_{period.id}.csv")
            with open(path, "wb") as fh:
                fh.write(world.results_csv_statuses(rows))
            got = payout.import_results(self.session, period.id, path, unit, self.users[username])
            event(f"later results: partial {got['partial'] > 0}, reversed {got['reversed'] > 0}")
        self.results_changed()

    @precondition(lambda self: self.count("SELECT count(*) FROM beneficiary WHERE hold_reason IS NOT NULL") > 0)
    @rule(username=st.sampled_from(world.actor_names(period_write=True)), person_pick=pick)
    def release_hold(self, username, person_pick):
        """The office lifts a person's hold (the record's hold was wrong): the next sync pays the held months."""
        from app.models import Beneficiary

        with self.acting(username) as actor:
            scope = world.scope_unit_ids(self.session, self.unit(actor.unit_code))
            held = (
                self.session.query(Beneficiary)
                .filter(Beneficiary.hold_reason.isnot(None), Beneficiary.commune_id.in_(scope))
                .order_by(Beneficiary.id)
                .all()
            )
            person = _choose(held, person_pick)
            if person is None:
                return
            person.hold_reason = None
            self.session.commit()
            event("hold released")
        self.registry_changed()

    @precondition(lambda self: self.has_periods(("draft", "synced")))
    @rule(
        username=st.sampled_from(
            [n for n in world.actor_names("sync_payout") if n in world.actor_names("approve_payout")]
        ),
        period_pick=pick,
    )
    def back_pay(self, username, period_pick):
        """The office syncs a period: whoever is paid now is owed nothing for any month up to the period's."""
        from app.models import AdminUnit, PayoutSyncRun

        before = self.count("SELECT max(id) FROM payout_sync_run") or 0
        self.sync(username, period_pick)
        run = self.session.query(PayoutSyncRun).filter(PayoutSyncRun.id > before).order_by(PayoutSyncRun.id).first()
        if run is None or run.status != "done":
            self.session.rollback()
            return
        owed = world.owed_after_back_pay(self.session, run.period_id, self.session.get(AdminUnit, run.unit_id))
        self.session.rollback()
        arrears = self.count("SELECT count(*) FROM payout_line WHERE kind = 'arrears'")
        event(f"back pay: arrears lines {arrears > 0}")
        assert not owed, "(e) right after the back-pay sync: " + "; ".join(owed[:3])

    @rule(username=st.sampled_from(world.actor_names(none=True)), period_pick=pick)
    def read_only(self, username, period_pick):
        """Roles without a write capability only read: totals and the headline measure change nothing."""
        from app.services import payout

        with self.acting(username) as actor:
            unit = self.unit(actor.unit_code)
            payout.headline(self.session, unit)
            period = _choose(self.visible_periods(actor), period_pick)
            if period is not None:
                payout.period_totals(self.session, period.id, unit)

    # --- invariants --------------------------------------------------------------------------

    @invariant()
    def no_enrolment_payable_twice_for_one_month(self):
        doubles = world.double_payable(self.session)
        self.session.rollback()
        assert not doubles, f"(a) enrolments payable twice for one benefit month: {doubles[:3]}"
        twice = world.person_paid_twice(self.session)
        self.session.rollback()
        assert not twice, f"(a) people paid benefits that do not stack, twice for one month: {twice[:3]}"

    @invariant()
    def synced_periods_complete(self):
        from app.models import AdminUnit

        problems = world.held_without_reason(self.session)
        assert not problems, f"(b) lines held without a reason, or with a reason and not held: {problems[:5]}"
        for period_id, unit_id in sorted(self.clean_syncs):
            found = world.sync_coverage_problems(self.session, period_id, self.session.get(AdminUnit, unit_id))
            assert not found, f"(b) period {period_id}, unit {unit_id}: " + "; ".join(found[:5])
        self.session.rollback()

    @invariant()
    def locked_periods_hold_valid_approvals(self):
        from app.models import PayoutPeriod
        from app.services.payout import tiers

        for period in self.session.query(PayoutPeriod).filter(
            PayoutPeriod.status.in_(("locked", "handed_over", "paid"))
        ):
            state = tiers.approval_state(self.session, period, period.checksum)
            assert state.approved, f"(e) period {period.id} is {period.status} without valid approvals of every tier"
        self.session.rollback()

    @invariant()
    def no_line_pays_an_account_the_bank_failed(self):
        """(f) A sync never puts money on an account whose latest answer from the bank, before that sync, was a
        wrong holder name or a closed / unknown account."""
        from sqlalchemy import text

        found = self.session.execute(
            text("""
            SELECT l.id FROM payout_line l JOIN payout_sync_run r ON r.id = l.changed_run_id
            WHERE l.channel = 'account' AND l.result_status NOT IN ('carried', 'cancelled')
              AND (SELECT ac.outcome FROM account_check ac
                   WHERE ac.account_id = l.account_id AND ac.outcome <> 'unavailable' AND ac.checked_at < r.started_at
                   ORDER BY ac.checked_at DESC, ac.id DESC LIMIT 1) IN ('name_mismatch', 'closed_or_unknown')""")
        ).all()
        self.session.rollback()
        assert not found, f"(f) lines paid to accounts the bank failed: {[r[0] for r in found][:5]}"

    @invariant()
    def paid_and_owed_make_the_entitlement(self):
        problems = world.back_pay_problems(self.session)
        self.session.rollback()
        assert not problems, f"(g) paid + in payment + owed differs from the entitlement: {problems[:3]}"

    @invariant()
    def audit_chain_verifies(self):
        OUTCOMES["checks"] += 1
        report = world.chain_report(self.session)
        self.session.rollback()
        assert report.ok, f"(d) audit chain broken at record {report.broken_id}: {report.reason}"


def test_integrity_state_machine(app):
    """Random sequences of actors and services; the invariants hold after every step."""
    IntegrityMachine.app = app
    try:
        run_state_machine_as_test(IntegrityMachine, settings=SETTINGS)
    finally:
        IntegrityMachine.app = None
        print("\nstep outcomes:", dict(sorted(OUTCOMES.items())))

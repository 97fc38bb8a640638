"""Back pay under random sequences: the integrity machine's payout steps only (periods over several months,
syncs, locks, results with partial payments, failures and reversals, holds put and lifted, back pay), so that
they happen often. After every step: at most one line in payment per enrolment and month (a), nobody paid two
benefits that do not stack for one month (a'), and paid + in payment + owed = entitled per person, enrolment
and month, the entitlement computed by the test (e); right after a back-pay sync whoever is paid now is owed
nothing up to the period's month."""

from __future__ import annotations

import os

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule, run_state_machine_as_test

from tests.integrity import world
from tests.integrity.test_state_machine import OUTCOMES, SETTINGS, IntegrityMachine, _choose, event, pick

BACK_PAY_SETTINGS = settings(
    SETTINGS,
    max_examples=int(os.environ.get("BACK_PAY_EXAMPLES", "8")),
    stateful_step_count=int(os.environ.get("BACK_PAY_STEPS", "40")),
)


class BackPayMachine(IntegrityMachine):
    """The integrity machine without its registry and account steps (they are plain methods here)."""

    def import_list(self, *args, **kwargs):
        return IntegrityMachine.import_list(self, *args, **kwargs)

    run_matching = decide_review = enter_account = verify_account = sync_by_police = read_only = None
    districts_import_their_lists = None

    @invariant()
    def synced_periods_complete(self):
        """(b) here is checked right after each sync (``sync``); between steps only that a line is held exactly
        when it has a reason (a carry re-syncs a later period, which the clean-sync bookkeeping does not follow)."""
        problems = world.held_without_reason(self.session)
        self.session.rollback()
        assert not problems, f"(b) lines held without a reason, or with a reason and not held: {problems[:5]}"

    @initialize(category=st.sampled_from(world.CATEGORIES))
    def lists_imported_and_matched(self, category):
        """Both districts' lists, matched against the population registry (confirmed identities are paid)."""
        from app.services.registry import matching

        IntegrityMachine.districts_import_their_lists(self, category)
        with self.acting("admin"):
            run = matching.start_run(self.session, self.unit("01"), self.users["admin"])
            self.session.commit()
            matching.execute_run(self.session, run.id)
        self.registry_changed()

    release_hold = None

    @precondition(lambda self: self.has_periods(("locked", "handed_over", "paid")))
    @rule(username=st.sampled_from(world.actor_names(period_write=True)), person_pick=pick)
    def toggle_hold(self, username, person_pick):
        """The office holds a person (the record is being checked) or lifts the hold: the next sync holds their
        line, or pays the months held as back pay."""
        from app.models import Beneficiary

        with self.acting(username) as actor:
            scope = world.scope_unit_ids(self.session, self.unit(actor.unit_code))
            people = (
                self.session.query(Beneficiary).filter(Beneficiary.commune_id.in_(scope)).order_by(Beneficiary.id).all()
            )
            person = _choose(people, person_pick)
            if person is None:
                return
            person.hold_reason = None if person.hold_reason else "mismatch"
            self.session.commit()
            event(f"hold {'put' if person.hold_reason else 'lifted'}")
        self.registry_changed()

    @precondition(lambda self: self.has_periods(("synced",)))
    @rule(
        username=st.sampled_from(world.actor_names("approve_payout")),
        period_pick=pick,
        outcomes=st.lists(st.sampled_from(("paid", "partial", "failed")), min_size=1, max_size=8),
    )
    def pay_a_period(self, username, period_pick, outcomes):
        """Lock, hand over and record the bank's results of a synced period in one go: paid, partly paid or
        failed lines."""
        from app.models import PayoutLine
        from app.services import payout

        words = {"paid": "Thành công", "partial": "Chi một phần", "failed": "Thất bại"}
        with self.acting(username) as actor:
            unit = self.unit(actor.unit_code)
            period = _choose(
                [p for p in self.visible_periods(actor, ("synced",)) if payout.period_in_charge(p, unit)], period_pick
            )
            if period is None:
                return
            payout.lock_period(self.session, period.id, self.users[username], unit)
            payout.hand_over(self.session, period.id, self.users[username], unit)
            lines = (
                self.session.query(PayoutLine)
                .filter(PayoutLine.period_id == period.id, PayoutLine.channel != "held")
                .order_by(PayoutLine.id)
                .all()
            )
            rows = []
            for i, line in enumerate(lines):
                outcome = outcomes[i % len(outcomes)]
                if outcome == "partial" and line.total >= 2:
                    rows.append((line.id, words["partial"], line.total // 2))
                else:
                    rows.append((line.id, words["paid" if outcome == "partial" else outcome], None))
            if rows:
                path = os.path.join(self.tmp, f"ket_qua_dot_{period.id}.csv")
                with open(path, "wb") as fh:
                    fh.write(world.results_csv_statuses(rows))
                got = payout.import_results(self.session, period.id, path, unit, self.users[username])
                event(f"period paid: partial {got['partial'] > 0}, failed {got['failed'] > 0}")
        self.results_changed()


def test_back_pay_state_machine(app):
    """Random payout sequences; paid + in payment + owed = entitled after every step."""
    BackPayMachine.app = app
    try:
        run_state_machine_as_test(BackPayMachine, settings=BACK_PAY_SETTINGS)
    finally:
        BackPayMachine.app = None
        print("\nstep outcomes:", dict(sorted(OUTCOMES.items())))

"""Duplicate finder: precision and recall per kind, and time, on a synthetic registry with planted pairs
(DỮ LIỆU GIẢ LẬP). Needs the benchmark database (``bench/_common.py``: dropped and re-created).

The registry is drawn from the synthetic population (``app.demo.synthetic.generate_citizens``), every person with
their own CCCD and bank account. Planted, ``--pairs`` of each kind:

- same_account: a second person given the first one's bank account;
- same_phone: two people of two communes with one phone number at two e-wallet providers;
- moved: a copy of a person (name, date of birth, sex) in another commune, without a CCCD;
- category_stack: a copy in the same commune, without a CCCD, whose matching found the first one's CCCD, the one
  in the poor-household list and the other in the near-poor one.

And look-alikes that are not pairs: two people of one household (same commune and address) sharing a phone,
and namesakes (same name, date of birth and sex) with two different CCCDs in two communes.

- precision: planted pairs found / pairs found (of the kind); recall: planted pairs found / planted pairs.
Exits 1 unless every planted pair is found.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/duplicates_bench.py \
        [--people 50000] [--pairs 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from collections import defaultdict

from _common import ROOT, fresh_app, timed

KINDS = ("same_account", "same_phone", "moved", "category_stack")


def _person_row(i, name, dob, year, sex, address, commune_id, cccd, **extra):
    from app.services.registry import keys
    from app.services.registry import normalize as nz

    key = nz.name_key(name)
    return dict(
        id=i,
        natural_key=f"C:{cccd}" if cccd else f"N:{key}|{dob}|{commune_id}|{i}",
        full_name=name,
        name_key=key,
        cccd=cccd,
        date_of_birth=dob,
        birth_year=year,
        sex=sex,
        address=address,
        commune_id=commune_id,
        match_status="matched",
        match_cccd=extra.get("match_cccd"),
        **keys.search_keys(name, address),
    )


def build(session, seed: int, people: int, pairs: int) -> set[tuple[str, int, int]]:
    """Insert the registry and the planted pairs (set-based); returns the planted (kind, a, b)."""
    from sqlalchemy import select, text

    from app.demo import synthetic
    from app.models import AdminUnit
    from app.services.reference import commune_clause

    units = {
        u.code: u.id for u in session.scalars(select(AdminUnit).where(commune_clause(), AdminUnit.scheme == "2024"))
    }
    communes = [
        c for c in synthetic.load_legacy_communes(ROOT / "fixtures" / "hanoi_legacy_units.csv") if c[0] in units
    ]
    rng = random.Random(seed)
    rows, enrol, accounts = [], [], []
    for i, (cccd, _cmnd, name, dob, year, sex, addr, code, _st, _sd) in enumerate(
        synthetic.generate_citizens(seed, people, communes), start=1
    ):
        born = dt.date.fromisoformat(dob) if dob else None
        rows.append(_person_row(i, name, born, year, sex, addr, units[code], cccd))
        enrol.append(dict(beneficiary_id=i, commune_id=units[code], category="BTXH", monthly_amount=500000))
        accounts.append((i, units[code], "970436", f"1{i:011d}", "bank"))
    planted: set[tuple[str, int, int]] = set()
    next_id = len(rows) + 1
    originals = rng.sample(range(1, len(rows) + 1), 4 * pairs)
    commune_ids = sorted(set(units.values()))

    def copy(src: dict, **changes) -> dict:
        nonlocal next_id
        new = dict(src, **changes, id=next_id)
        new = _person_row(
            next_id,
            new["full_name"],
            new["date_of_birth"],
            new["birth_year"],
            new["sex"],
            new["address"],
            new["commune_id"],
            new["cccd"],
            match_cccd=new.get("match_cccd"),
        )
        next_id += 1
        rows.append(new)
        return new

    for k, i in enumerate(originals[:pairs]):  # same account: person j takes person i's account
        j = originals[pairs + k]
        accounts[j - 1] = (j, rows[j - 1]["commune_id"], "970436", f"1{i:011d}", "bank")
        planted.add(("same_account", min(i, j), max(i, j)))
    for k in range(pairs):  # same phone: two people of two communes, two providers
        i, j = originals[2 * pairs + k], originals[3 * pairs + k]
        if rows[i - 1]["commune_id"] == rows[j - 1]["commune_id"]:
            continue
        phone = f"09{k:08d}"
        accounts.append((i, rows[i - 1]["commune_id"], "971025", phone, "e_wallet"))
        accounts.append((j, rows[j - 1]["commune_id"], "971005", phone, "mobile_money"))
        planted.add(("same_phone", min(i, j), max(i, j)))
    for k, i in enumerate(originals[:pairs]):  # moved: a copy without CCCD in another commune
        src = rows[i - 1]
        if src["date_of_birth"] is None or src["sex"] is None:
            continue
        other = commune_ids[(commune_ids.index(src["commune_id"]) + 1 + k) % len(commune_ids)]
        new = copy(src, commune_id=other, cccd=None)
        enrol.append(dict(beneficiary_id=new["id"], commune_id=other, category="NCC", monthly_amount=1500000))
        planted.add(("moved", i, new["id"]))
    for i in originals[pairs : 2 * pairs]:  # category stack: the matching found the first one's CCCD
        src = rows[i - 1]
        new = copy(src, cccd=None, match_cccd=src["cccd"], date_of_birth=None)
        for e in enrol:
            if e["beneficiary_id"] == i:
                e["category"] = "HN"
        enrol.append(
            dict(beneficiary_id=new["id"], commune_id=src["commune_id"], category="HCN", monthly_amount=300000)
        )
        planted.add(("category_stack", i, new["id"]))
    for k, i in enumerate(originals[2 * pairs : 2 * pairs + pairs // 2]):  # look-alikes: one household's phone
        src = rows[i - 1]
        new = copy(src, full_name=src["full_name"] + " Con", cccd=f"9{k:011d}")
        enrol.append(dict(beneficiary_id=new["id"], commune_id=src["commune_id"], category="BTXH", monthly_amount=1))
        phone = f"08{k:08d}"
        accounts.append((i, src["commune_id"], "971025", phone, "e_wallet"))
        accounts.append((new["id"], src["commune_id"], "971011", phone, "mobile_money"))
    for k, i in enumerate(originals[3 * pairs : 3 * pairs + pairs // 2]):  # look-alikes: namesakes, two CCCDs
        src = rows[i - 1]
        other = commune_ids[(commune_ids.index(src["commune_id"]) + 7) % len(commune_ids)]
        new = copy(src, commune_id=other, cccd=f"8{k:011d}")
        enrol.append(dict(beneficiary_id=new["id"], commune_id=other, category="BTXH", monthly_amount=1))
    cols = list(rows[0])
    session.execute(
        text(f"INSERT INTO beneficiary ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"), rows
    )
    session.execute(
        text(
            "INSERT INTO enrolment (beneficiary_id, commune_id, category, monthly_amount) "
            "VALUES (:beneficiary_id, :commune_id, :category, :monthly_amount)"
        ),
        enrol,
    )
    session.execute(
        text(
            "INSERT INTO payment_account (beneficiary_id, commune_id, channel, bank_bin, account_number, "
            "holder_name, holder_ascii, shared_flag, source, state) "
            "VALUES (:b, :c, :ch, :bin, :n, 'X', 'X', false, 'import', :st)"
        ),
        # one verified account a person (the bank one); the wallets wait for verification (open all the same)
        [
            dict(b=b, c=c, bin=bin_, n=n, ch=ch, st="verified" if ch == "bank" else "pending")
            for b, c, bin_, n, ch in accounts
        ],
    )
    session.execute(text("SELECT setval('beneficiary_id_seq', (SELECT max(id) FROM beneficiary))"))
    session.commit()
    session.execute(text("ANALYZE"))  # what autovacuum does after a bulk load
    return planted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    app = fresh_app()
    results: dict = {}
    with app.app_context():
        from sqlalchemy import select

        from app.extensions import db
        from app.models import DuplicatePair
        from app.services.registry import duplicates

        with timed(f"build {args.people} people", results):
            planted = build(db.session, args.seed, args.people, args.pairs)
        with timed("find duplicates (first run)", results):
            duplicates.find_duplicates(db.session)
        with timed("find duplicates (re-run)", results):
            duplicates.find_duplicates(db.session)
        found = {(p.kind, p.person_a_id, p.person_b_id) for p in db.session.scalars(select(DuplicatePair))}
    by_kind_found, by_kind_planted = defaultdict(set), defaultdict(set)
    for pair in found:
        by_kind_found[pair[0]].add(pair)
    for pair in planted:
        by_kind_planted[pair[0]].add(pair)
    print(f"{'kind':<16} {'planted':>8} {'found':>8} {'precision':>10} {'recall':>8}")
    missed = 0
    for kind in KINDS:
        hit = len(by_kind_found[kind] & by_kind_planted[kind])
        n_found, n_planted = len(by_kind_found[kind]), len(by_kind_planted[kind])
        precision = hit / n_found if n_found else 1.0
        recall = hit / n_planted if n_planted else 1.0
        missed += n_planted - hit
        print(f"{kind:<16} {n_planted:>8} {n_found:>8} {precision:>10.3f} {recall:>8.3f}")
    if missed:
        print(f"{missed} planted pairs were not found")
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Candidate threshold of the matching: precision and recall of the proposed candidates per threshold, on a
labelled synthetic population (DỮ LIỆU GIẢ LẬP). Pure Python, no database; prints figures, asserts nothing.

Every list row is treated as not found by CCCD, so each goes through the candidate search
(``matching.ranked_candidates``: same family and given name in ASCII and birth year, in the commune, else the
district). The list carries the synthetic faults (no diacritics, old tone placement, a wrong birth day, ...), and
each row knows its true record (``source_cccd``): a proposal is right when it is that record.

- precision: right proposals / all proposals (up to ``MAX_CANDIDATES`` a person, at or above the threshold);
- recall: people whose true record is proposed / all people;
- clean: people proposed only their true record.

    .venv/bin/python bench/match_threshold_bench.py [--citizens 200000] [--beneficiaries 20000] [--districts 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections import Counter, defaultdict
from types import SimpleNamespace

from _common import ROOT, record

THRESHOLDS = (0, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 100)


def population(seed: int, n: int, m: int, districts: int):
    from app.demo import synthetic
    from app.services.registry import normalize as nz
    from app.services.registry.population import CitizenRecord, fg_key

    communes = synthetic.load_legacy_communes(ROOT / "fixtures" / "hanoi_legacy_units.csv")
    wanted = sorted({d for _c, _n, d in communes})[:districts]
    communes = [c for c in communes if c[2] in wanted]
    ids = {code: i for i, (code, _n, _d) in enumerate(communes, start=1)}
    district_ids = {d: 1000 + i for i, d in enumerate(wanted)}
    parents = {ids[code]: district_ids[d] for code, _n, d in communes}
    rows = list(synthetic.generate_citizens(seed, n, communes))
    records = [
        CitizenRecord(
            cccd,
            name,
            nz.name_key(name),
            fg_key(name),
            dt.date.fromisoformat(dob) if dob else None,
            year,
            sex,
            ids[code],
            status,
            None,
        )
        for cccd, _cmnd, name, dob, year, sex, _addr, code, status, _sd in rows
    ]
    people = [
        SimpleNamespace(
            id=i,
            full_name=r["full_name"],
            name_key=nz.name_key(r["full_name"]),
            date_of_birth=r["date_of_birth"],
            birth_year=r["birth_year"],
            sex=r["sex"],
            commune_id=ids[r["commune_code"]],
            fault=r["fault"],
            truth=r["source_cccd"],
        )
        for i, r in enumerate(synthetic.draw_beneficiaries(seed, rows, m, {c[0]: c for c in communes}))
    ]
    return records, people, parents


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--citizens", type=int, default=200_000)
    parser.add_argument("--beneficiaries", "--rows", type=int, default=20_000)
    parser.add_argument("--districts", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    from app.services.registry import matching

    records, people, parents = population(args.seed, args.citizens, args.beneficiaries, args.districts)
    blocks = defaultdict(list)
    for c in records:
        blocks[(c.fg_key, c.birth_year)].append(c)
    ranked = {}
    for b in people:
        pool = blocks.get((matching.fg_key(b.full_name), b.birth_year), [])
        ranked[b.id] = matching.ranked_candidates(b, pool, parents)[: matching.MAX_CANDIDATES * 4]
    print(f"{args.citizens:,} synthetic citizens, {len(people):,} list rows, all searched without their CCCD")
    print(f"current threshold: {matching.MIN_CANDIDATE_SCORE}\n")
    print(f"{'threshold':>9} {'precision':>9} {'recall':>7} {'clean':>7} {'not_found':>9} {'proposals':>9}")
    quality = []
    for t in THRESHOLDS:
        proposals = right = found = clean = none = 0
        for b in people:
            kept = [c for score, c in ranked[b.id] if score >= t][: matching.MAX_CANDIDATES]
            hits = sum(c.cccd == b.truth for c in kept)
            proposals += len(kept)
            right += hits
            found += hits > 0
            clean += hits > 0 and len(kept) == 1
            none += not kept
        print(
            f"{t:>9} {right / max(proposals, 1):>9.3f} {found / len(people):>7.3f} {clean / len(people):>7.3f} "
            f"{none:>9,} {proposals:>9,}"
        )
        quality.append(
            {
                "threshold": t,
                "precision": round(right / max(proposals, 1), 4),
                "recall": round(found / len(people), 4),
                "clean": round(clean / len(people), 4),
                "not_found": none,
                "proposals": proposals,
            }
        )
    t = matching.MIN_CANDIDATE_SCORE
    print(f"\nrecall by fault at {t}:")
    total, hit = Counter(), Counter()
    for b in people:
        total[b.fault] += 1
        hit[b.fault] += any(c.cccd == b.truth for score, c in ranked[b.id][: matching.MAX_CANDIDATES] if score >= t)
    for fault in sorted(total, key=str):
        print(f"  {str(fault):<20} {hit[fault] / total[fault]:.3f}  ({total[fault]:,})")
    wrong = Counter(score // 5 * 5 for b in people for score, c in ranked[b.id] if c.cccd != b.truth)
    right = Counter(score // 5 * 5 for b in people for score, c in ranked[b.id] if c.cccd == b.truth)
    print("\nscores of true records / of other records (bins of 5):")
    for lo in sorted(set(wrong) | set(right)):
        print(f"  {lo:>3}-{lo + 4:<3} {right[lo]:>7,} {wrong[lo]:>7,}")
    # A quality benchmark: no time floor, the figures are precision and recall per threshold.
    record(
        "match_threshold",
        {"citizens": args.citizens, "beneficiaries": args.beneficiaries, "districts": args.districts},
        [],
        current_threshold=matching.MIN_CANDIDATE_SCORE,
        quality=quality,
    )


if __name__ == "__main__":
    main()

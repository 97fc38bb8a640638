"""The bank directory: bank names as people type them ("VCB", "Ngân hàng Nông nghiệp chi nhánh Ba Đình",
a former name) resolved to a NAPAS BIN with a score; a name below ``CONFIDENT_SCORE`` is not taken on trust."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from app.services.registry.normalize import ascii_key, clean_text

# ---------------------------------------------------------------------------
# Banks
# ---------------------------------------------------------------------------

CONFIDENT_SCORE = 90.0
MIN_BANK_SCORE = 60.0

#: Well-known shorthand for banks and wallets, written as users type it -> BIN.
ALIASES: dict[str, str] = {
    # Agribank
    "Agribank": "970405",
    "Agri": "970405",
    "NH Nông nghiệp": "970405",
    "Nông nghiệp": "970405",
    "NN&PTNT": "970405",
    "NNPTNT": "970405",
    "NN và PTNT": "970405",
    "Nông nghiệp và PTNT": "970405",
    "Nông nghiệp & PTNT": "970405",
    "NHNo": "970405",
    "NHNo&PTNT": "970405",
    "VBARD": "970405",
    "Nông nghiệp và Phát triển Nông thôn": "970405",
    # VietinBank
    "Vietin": "970415",
    "Viettin": "970415",
    "Viettinbank": "970415",
    "Vietinbank": "970415",
    "Công thương": "970415",
    "ICB": "970415",
    "CTG": "970415",
    # VBSP
    "NHCSXH": "999888",
    "CSXH": "999888",
    "NHCS": "999888",
    "VBSP": "999888",
    "Chính sách": "999888",
    "Chính sách xã hội": "999888",
    "NH Chính sách": "999888",
    # Vietcombank
    "VCB": "970436",
    "Vietcom": "970436",
    "Ngoại thương": "970436",
    "Vietcombank": "970436",
    # BIDV
    "BIDV": "970418",
    "Đầu tư và Phát triển": "970418",
    "Đầu tư & Phát triển": "970418",
    "Đầu tư phát triển": "970418",
    "ĐT&PT": "970418",
    # LPBank
    "LienVietPostBank": "970449",
    "LienViet": "970449",
    "Liên Việt": "970449",
    "Bưu điện Liên Việt": "970449",
    "LienVietPost": "970449",
    "Lộc Phát": "970449",
    "LPB": "970449",
    # wallets and mobile money
    "Viettel Money": "971005",
    "ViettelPay": "971005",
    "Viettel Pay": "971005",
    "Viettel": "971005",
    "VNPT Money": "971011",
    "VNPT Pay": "971011",
    "VNPTPay": "971011",
    "VNPT": "971011",
    "MoMo": "971025",
    "Ví MoMo": "971025",
    # other common names
    "Techcom": "970407",
    "Kỹ thương": "970407",
    "Sacom": "970403",
    "MB": "970422",
    "Quân đội": "970422",
    "MBBank": "970422",
    "DongA": "970406",
    "Đông Á": "970406",
    "EAB": "970406",
    "OceanBank": "970414",
    "Ocean": "970414",
    "Đại Dương": "970414",
    "Viet Capital": "970454",
    "Bản Việt": "970454",
    "Maritime Bank": "970426",
    "Hàng Hải": "970426",
    "Á Châu": "970416",
    "Tiên Phong": "970423",
    "Quốc tế": "970441",
    "Đông Nam Á": "970440",
    "Exim": "970431",
    "Xuất nhập khẩu": "970431",
    "Sài Gòn Hà Nội": "970443",
}

_BANK_PUNCT_RE = re.compile(r"[^a-z0-9]+")
_BANK_CUT_RE = re.compile(r"\b(?:chi nhanh|cn|pgd|phong giao dich)\b.*$")
_BANK_GENERIC_RE = re.compile(
    r"\b(?:ngan hang so|ngan hang|nhtm|nh|tmcp|co phan|cp|thuong mai|tnhh|mtv|mot thanh vien"
    r"|bank|viet nam|vietnam|vn|lien doanh|vi dien tu)\b"
)


@dataclass(frozen=True)
class BankInfo:
    bin: str
    code: str
    short_name: str
    name_vi: str
    swift: str = ""
    kind: str = "bank"
    former_names: tuple[str, ...] = ()


def _bank_norm(text: str) -> str:
    return " ".join(_BANK_PUNCT_RE.sub(" ", ascii_key(text).lower()).split())


def _bank_forms(text: str) -> tuple[str, str, list[str], list[str]]:
    """(core, compact, strong forms, weak forms) of a bank name.

    Strong forms: normalised text, core (generic words such as "ngân hàng", "TMCP" and any
    branch suffix removed) and compact core (no spaces).  Weak forms: the same without a
    trailing "bank" ("Vietinbank" -> "vietin"), matched only when no strong form matches."""
    norm = _bank_norm(text)
    core = " ".join(_BANK_GENERIC_RE.sub(" ", _BANK_CUT_RE.sub("", norm)).split())
    compact = core.replace(" ", "")
    strong = list(dict.fromkeys(f for f in (norm, core, compact) if f))
    weak = []
    for f in (norm.replace(" ", ""), compact):
        if f.endswith("bank") and len(f) > 5 and f[:-4] not in strong and f[:-4] not in weak:
            weak.append(f[:-4])
    return core, compact, strong, weak


def _split_former(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in re.split(r"[;|]", value or "") if p.strip())


class BankDirectory:
    """Bank / wallet list keyed by NAPAS BIN, with loose name resolution.

    ``former_names`` in the CSV may hold several names separated by ";" or "|"."""

    def __init__(self, rows: Iterable[Mapping[str, Any]], aliases: Mapping[str, str] | None = None):
        self.banks: dict[str, BankInfo] = {}
        for row in rows:
            former = row.get("former_names") or ()
            info = BankInfo(
                bin=str(row["bin"]).strip(),
                code=(row.get("code") or "").strip(),
                short_name=(row.get("short_name") or "").strip(),
                name_vi=(row.get("name_vi") or "").strip(),
                swift=(row.get("swift") or "").strip(),
                kind=(row.get("kind") or "bank").strip(),
                former_names=_split_former(former) if isinstance(former, str) else tuple(former),
            )
            self.banks[info.bin] = info
        self._exact: dict[str, list[str]] = {}
        self._weak: dict[str, list[str]] = {}
        self._contain: dict[str, list[str]] = {}
        for info in self.banks.values():
            for text in (info.code, info.short_name, info.name_vi, *info.former_names):
                if text:
                    self._add(text, info.bin)
        for alias, bin_ in (ALIASES if aliases is None else aliases).items():
            if bin_ in self.banks:
                self._add(alias, bin_, override=True)
        fuzzy = sorted(
            {(k, b[0]) for index in (self._exact, self._weak) for k, b in index.items() if len(k) >= 4 and len(b) == 1}
        )
        self._fuzzy_keys = [k for k, _b in fuzzy]
        self._fuzzy_bins = [b for _k, b in fuzzy]
        self._contain_keys = sorted(self._contain, key=len, reverse=True)
        self._cache: dict[str, tuple[str | None, float, list[str]]] = {}

    @staticmethod
    def _put(index: dict[str, list[str]], key: str, bin_: str, override: bool) -> None:
        bins = index.setdefault(key, [])
        if override and bins and bin_ not in bins:
            bins[:] = [bin_]  # an explicit alias wins over generated forms
        elif bin_ not in bins:
            bins.append(bin_)

    def _add(self, text: str, bin_: str, override: bool = False) -> None:
        _core, _compact, strong, weak = _bank_forms(text)
        for form in strong:
            self._put(self._exact, form, bin_, override)
            if len(form.replace(" ", "")) >= 2:
                self._put(self._contain, form, bin_, override)
        for form in weak:
            self._put(self._weak, form, bin_, override)

    @classmethod
    def from_csv(cls, path: str | Path, aliases: Mapping[str, str] | None = None) -> BankDirectory:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return cls(list(csv.DictReader(fh)), aliases)

    def __contains__(self, bin_: object) -> bool:
        return bin_ in self.banks

    def __len__(self) -> int:
        return len(self.banks)

    def __iter__(self) -> Iterator[BankInfo]:
        return iter(self.banks.values())

    def get(self, bin_: str) -> BankInfo | None:
        return self.banks.get(bin_)

    def suggestions(self, candidates: Iterable[str], limit: int = 3) -> list[str]:
        """The short names of the first ``limit`` candidate BINs that are in the directory (what to propose
        when a typed bank is not recognised with confidence); empty when there is nothing to propose."""
        names = [info.short_name or info.name_vi for b in candidates if (info := self.banks.get(b)) is not None]
        return list(dict.fromkeys(n for n in names if n))[:limit]

    def resolve(self, text: Any) -> tuple[str | None, float, list[str]]:
        """Bank name / code / BIN as typed -> (bin or None, score 0–100, candidate bins).

        100: BIN, code, name, former name or alias (exact after normalisation);
        90: a known name contained in a longer text ("Agribank Hà Nội"); 80: same but
        short or not at the start; 70: ties between banks; fuzzy matches keep their
        rapidfuzz score (capped at 85 when two banks are close).  Below 60 -> bin None.
        Use :func:`is_confident` (>= 90) to decide what goes to review."""
        s = clean_text(text)
        if not s:
            return None, 0.0, []
        hit = self._cache.get(s)
        if hit is None:
            hit = self._resolve(s)
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[s] = hit
        return hit[0], hit[1], list(hit[2])

    def _resolve(self, s: str) -> tuple[str | None, float, list[str]]:  # noqa: C901
        if s.isdigit():
            return (s, 100.0, [s]) if s in self.banks else (None, 0.0, [])
        m = re.match(r"^(\d{6})\s*[-:–]?\s*(.+)$", s)
        if m and m.group(1) in self.banks:
            bin_ = m.group(1)
            other, _score, _c = self._resolve(m.group(2))
            if other in (None, bin_):
                return bin_, 100.0, [bin_]
            return bin_, 70.0, [bin_, other]
        core, compact, strong, weak = _bank_forms(s)
        if not core:
            return None, 0.0, []
        for index, forms in ((self._exact, strong), (self._weak, weak), (self._weak, strong)):
            for form in forms:
                bins = index.get(form)
                if bins:
                    return bins[0], (100.0 if len(bins) == 1 else 70.0), list(bins)
        padded = f" {core} "
        found: list[tuple[int, bool, str]] = []
        for key in self._contain_keys:
            pos = padded.find(f" {key} ")
            if pos >= 0:
                for b in self._contain[key]:
                    found.append((len(key.replace(" ", "")), pos == 0, b))
        if found:
            found.sort(key=lambda x: (-x[0], not x[1]))
            length, at_start, best = found[0]
            ranked = list(dict.fromkeys(b for _l, _s, b in found))
            tie = any(b != best and l == length for l, _s, b in found)
            if length >= 3 or at_start:
                score = 70.0 if tie else (90.0 if (length >= 4 or (at_start and length >= 3)) else 80.0)
                return best, score, ranked
        best_by_bin: dict[str, float] = {}
        for query in dict.fromkeys((core, compact)):
            if len(query) < 3:
                continue
            for _key, score, idx in process.extract(
                query, self._fuzzy_keys, scorer=fuzz.ratio, limit=10, score_cutoff=50
            ):
                b = self._fuzzy_bins[idx]
                if score > best_by_bin.get(b, 0.0):
                    best_by_bin[b] = float(score)
        if not best_by_bin:
            return None, 0.0, []
        ranked = sorted(best_by_bin, key=lambda b: -best_by_bin[b])
        top = min(best_by_bin[ranked[0]], 99.0)
        if len(ranked) > 1 and top - best_by_bin[ranked[1]] < 5:
            top = min(top, 85.0)
        top = round(top, 1)
        return (ranked[0] if top >= MIN_BANK_SCORE else None), top, ranked[:5]


def is_confident(score: float) -> bool:
    """A bank match good enough to use without review."""
    return score >= CONFIDENT_SCORE

"""The address parser as it was before it was optimised, kept verbatim as an oracle: the optimised
``parse_address`` / ``local_part`` must give identical output on the demo generator's addresses, on awkward
hand-made ones, and (where Hypothesis is installed) on generated text."""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass

import pytest

from app.services.registry.normalize import clean_text
from app.services.visits import addresses

# --- the oracle (verbatim) --------------------------------------------------------------

# The administrative tail of an address: from the first segment that names a unit.
_UNIT_WORDS = re.compile(r"^(?:phuong|xa|thi tran|thi xa|quan|huyen|thanh pho|tp|ha noi|hn|p|q|h|x|tx|tt)(?:\b|\.|$)")
_HOUSE = re.compile(r"(?:\b(?:so nha|nha so|so|sn)\s*[.:]?\s*|^)(\d+)\s*([a-z]?)(?:\s*/\s*(\d+))?\b")
_LANE = re.compile(r"\b(?:ngo|ng\.|hem|kiet)\s*[.:]?\s*(\d+)(?:\s*/\s*(\d+))?")
_ALLEY = re.compile(r"\b(?:ngach|ngh\.)\s*[.:]?\s*(\d+)")
_STREET_PREFIX = re.compile(r"^(?:pho|duong|p\.|d\.|đ\.)\s+", re.I)
_PUNCT_EDGE = " ,;.-–/"
_DIGITS = re.compile(r"\d+")


def _fold_char(ch: str) -> str:
    if ch in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", ch)[0]
    return base.lower() if len(base.lower()) == 1 else ch.lower()[:1] or " "


class _FoldTable(dict):
    """``str.translate`` table filled on first sight of each character: one C-level pass per text instead of
    a Unicode decomposition per character (a visit list re-parses every address of a unit)."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_char(chr(code))
        return folded


_FOLD_TABLE = _FoldTable()


def fold(text: str) -> str:
    """Lower-case ASCII letters, one character per input character (positions line up with ``text``)."""
    return text.translate(_FOLD_TABLE)


def street_key(street: str) -> str:
    """Comparison key of a street: ASCII letters and digits, digit runs padded to 6."""
    key = re.sub(r"[^a-z0-9]+", "", fold(street))
    return _DIGITS.sub(lambda m: m.group(0).zfill(6)[-6:], key)


@dataclass(frozen=True)
class AddressParts:
    street: str = ""
    street_key: str = ""
    lane: int = 0  # ngõ (0: none)
    alley: int = 0  # ngách (0: none)
    house: int = 0  # số nhà (0: none)
    house_suffix: str = ""  # "A" of "12A", "/3" of "12/3"

    def sort_key(self) -> tuple:
        return (self.street_key, self.lane, self.alley, self.house, self.house_suffix)


def _number(s: str | None) -> int:
    return min(int(s), 999_999) if s else 0


def local_part(value) -> str:
    """The address without its administrative tail: "12 Hàng Chiếu, phường Đồng Xuân, quận Hoàn Kiếm" →
    "12 Hàng Chiếu" (cleaned text, from the first segment that names a unit on)."""
    text = clean_text(value)
    segments = [s.strip() for s in text.split(",")]
    kept: list[str] = []
    for i, seg in enumerate(segments):
        if i > 0 and _UNIT_WORDS.match(fold(seg)):
            break
        kept.append(seg)
    return ", ".join(s for s in kept if s)


def parse_address(value) -> AddressParts:
    """Split an address typed freely into the parts used to order a visit round."""
    text = local_part(value)
    if not text:
        return AddressParts()
    low = fold(text)
    lane = alley = house = 0
    suffix = ""
    spans: list[tuple[int, int]] = []
    m = _LANE.search(low)
    if m:
        lane = _number(m.group(1))
        if m.group(2):
            alley = _number(m.group(2))
        spans.append(m.span())
    m = _ALLEY.search(low)
    if m:
        alley = _number(m.group(1))
        spans.append(m.span())
    for m in _HOUSE.finditer(low):
        if any(a <= m.start(1) < b for a, b in spans):
            continue
        # A bare leading number counts only when something follows it ("12 Quán Thánh").
        if m.start() == 0 and not low[: m.start(1)].strip() and m.end() >= len(low.rstrip()):
            continue
        house = _number(m.group(1))
        suffix = (m.group(2) or "").upper() + (f"/{m.group(3)}" if m.group(3) else "")
        spans.append(m.span())
        break
    rest = list(text)
    for a, b in spans:
        for i in range(a, b):
            rest[i] = " "
    street = " ".join("".join(rest).split())
    # The street is the last non-empty segment of what is left (after ngõ / số nhà).
    parts = [p.strip(_PUNCT_EDGE) for p in street.split(",")]
    parts = [p for p in parts if p]
    street = parts[-1] if parts else ""
    street = _STREET_PREFIX.sub("", street).strip(_PUNCT_EDGE)
    if fold(street).startswith(("pho ", "duong ")):
        street = street.split(" ", 1)[1]
    return AddressParts(
        street=street[:150],
        street_key=street_key(street)[:150],
        lane=lane,
        alley=alley,
        house=house,
        house_suffix=suffix[:20],
    )


# --- the comparison ---------------------------------------------------------------------


def _same(value) -> None:
    assert addresses.local_part(value) == local_part(value), repr(value)
    if isinstance(value, str):
        assert addresses.fold(value) == fold(value), repr(value)
        assert addresses.street_key(value) == street_key(value), repr(value)
    new, old = addresses.parse_address(value), parse_address(value)
    assert (new.street, new.street_key, new.lane, new.alley, new.house, new.house_suffix) == (
        old.street,
        old.street_key,
        old.lane,
        old.alley,
        old.house,
        old.house_suffix,
    ), repr(value)


def synthetic_addresses(n: int = 20_000) -> list[str]:
    """The demo generator's addresses (every Hanoi commune), as typed and in a few degraded spellings."""
    from app.demo import synthetic
    from app.demo.seed import demo_communes

    typed = [row[6] for row in synthetic.generate_citizens(7, n, demo_communes(None))]
    rng = random.Random(5)
    sample = rng.sample(typed, min(len(typed), 2_000))
    return (
        typed
        + [synthetic.strip_diacritics(a) for a in sample]
        + [a.upper() for a in sample]
        + [unicodedata.normalize("NFD", a) for a in sample]
        + [a.replace(", ", ",") for a in sample]
        + [a.replace("Số ", "SN ").replace("ngõ ", "ng.").replace("ngách ", "ngh. ") for a in sample]
    )


def test_identical_on_the_demo_generators_addresses():
    for value in synthetic_addresses():
        _same(value)


AWKWARD = [
    None,
    "",
    " ",
    "   \t\n ",
    ",",
    ", ,",
    ",phường Quán Thánh",
    ", phường Quán Thánh",
    "Số 12A ngõ 34/5 ngách 6",
    "Số 12A, ngõ 34/5, ngách 6, phố Đội Cấn",
    "số 12 / 3 phố Huế",
    "12/3B Hàng Bông",
    "SỐ 7 NGÕ 15 PHỐ HÀNG ĐÀO, PHƯỜNG HÀNG ĐÀO, QUẬN HOÀN KIẾM, HÀ NỘI",
    "so 7 ngo 15 pho hang dao, p hang dao, q hoan kiem, hn",
    "P. Quán Thánh",
    "P.Quán Thánh, Q.Ba Đình",
    "Đ. Láng",
    "đ. Láng",
    "Đường Láng",
    "đường Giải Phóng, P. Phương Mai",
    "phố Huế",
    "Phố",
    "Tổ 5",
    "Tổ 12, cụm 3",
    "Tổ dân phố 5, thị trấn Đông Anh",
    "Khu tập thể Kim Liên, nhà B7, phòng 203",
    "Phòng 203, nhà B7, Khu tập thể Kim Liên",
    "Căn hộ 1203, tòa A1, Khu đô thị Times City",
    "Thôn Đông, xã Kim Chung, huyện Đông Anh",
    "Xóm 3",
    "Xóm 3, thôn Đông",
    "SN 5 ng. 7 Quan Thanh",
    "sn5 ng.7 ngh.3 Quán Thánh",
    "nhà số 5 ngõ 7",
    "số nhà 5, ngõ 7",
    "Số: 5, Ngõ: 7, Ngách: 9",
    "hẻm 12 Lê Lợi",
    "kiệt 4/2 Hùng Vương",
    "Số 99999999999 phố Huế",
    "ngõ 0",
    "0",
    "12",
    "12 ",
    "  12  Hàng Bông  ",
    "12A",
    "12, Hàng Bông",
    "Số 12",
    "Hà Nội",
    "tp Hà Nội",
    "thi xa Son Tay",
    "Quận 1",
    "Q1",
    "Số 5 phố Quan Thánh",
    "Quán Thánh",
    "Qua\u0301n Tha\u0301nh",
    "Số 12 pho\u0302\u0301 Hue\u0302\u0301",
    "Số\u00a012\u00a0phố\u00a0Huế",
    "Số 12\u200b phố Huế",
    "Số 12 phố Huế\u3000",
    "Ðội Cấn",
    "ðội cấn",
    "Số １２ phố Huế",
    "Số ١٢ phố Huế",
    "Số 12 phố İstanbul",
    "Số 12 – phố Huế",
    "Số 12 - phố Huế -",
    "Số 12; phố Huế.",
    "Số 12 phố Huế; phường Phố Huế",
    "phường Phúc Xá, số 5",
    "Ngõ 34 phố Quán Thánh, số 12",
    "số 5 số 6 phố Huế",
    "Số 3, ngách 8, ngõ 120 đường Láng",
    "Ngách 8 ngõ 120 Láng",
    "123 456 789",
    "Sè 12 phè HuÕ",  # TCVN3-like text
    "Soá 12 phoá Hueá",  # VNI-like text
    "Tô 5",
    "Tổ 5 phố Kim Mã",
    12,
    12.5,
    "a" * 500,
    "Số 12 " + "phố Huế " * 60,
]


@pytest.mark.parametrize("value", AWKWARD)
def test_identical_on_awkward_addresses(value):
    _same(value)


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is a test extra
    st = None

if st is not None:
    _TOKENS = [
        "Số", "số", "SỐ", "so", "SN", "sn", "nhà số", "số nhà", "ngõ", "Ngõ", "ngo", "ng.", "ngách", "ngach", "ngh.",
        "hẻm", "kiệt", "phố", "Phố", "pho", "đường", "Đường", "duong", "P.", "p.", "Đ.", "đ.", "D.", "phường",
        "P", "p", "Q.", "quận", "huyện", "xã", "thị trấn", "thị xã", "TP", "tp", "thành phố", "Hà Nội", "HN",
        "Tổ", "tổ dân phố", "thôn", "xóm", "Khu tập thể", ",", ", ", " ", "/", ".", ":", "-", "–", ";",
        "12", "34A", "5/6", "0", "007", "999999999", "7b", "Quán Thánh", "Hàng Bông", "ĐÀO", "Ð", "ð",
        "\u00a0", "\u200b", "e\u0301", "Hue\u0302\u0301", "１２", "İ", "ß", "ﬁ",
    ]  # fmt: skip
    _address_like = st.lists(st.sampled_from(_TOKENS), max_size=14).flatmap(
        lambda parts: st.sampled_from([" ", "", ", "]).map(lambda sep: sep.join(parts))
    )

    @settings(derandomize=True, max_examples=600, deadline=None)
    @given(st.one_of(_address_like, st.text(max_size=60)))
    def test_identical_on_generated_text(value):
        _same(value)


def test_identical_from_the_parse_cache():
    """The parse cache forgets, then answers: results do not change."""
    addresses._parse_local.cache_clear()
    for value in AWKWARD + synthetic_addresses(300):
        _same(value)
    for value in AWKWARD:  # a second time: from the caches
        _same(value)

"""The texts of the messages sent to beneficiaries, in one place, and how long each one is.

Why stored texts here and not the translation catalog: the catalog translates the screens into the reader's
language, and an officer's language says nothing about the citizen's; a message to a citizen is always
Vietnamese, and its length is part of its contract (one SMS segment is 160 GSM-7 characters, or only 70 in
Unicode; each segment is paid for and long ones reach old phones split). So each event has one Vietnamese text
(with tones) written and reviewed here, and the form actually sent is chosen by the setting ``SMS_ENCODING``:
``gsm7`` (default) sends the text without tones (``normalize.strip_tones``), which every phone shows and which
must fit one segment; ``ucs2`` sends the tones, with the number of segments counted and stored.

A text never names the person nor carries an identifier (CCCD, account number): a message can be read by
anybody holding the phone, and a number that once belonged to the person may now belong to someone else.
Parameters are therefore few, short and checked (a month, a complaint number); ``tests/notices`` checks every
text for length, alphabet and identifiers.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from app.services.messages import N_, FieldError, Problem
from app.services.registry.normalize import strip_tones

#: The GSM 03.38 default alphabet (one septet each) and its extension table (two septets each: escape + char).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
GSM7_SINGLE, GSM7_PART = 160, 153  # one segment; each part of a concatenated message (the rest is its header)
UCS2_SINGLE, UCS2_PART = 70, 67

# Checked parameters: a benefit month as mm/yyyy, a complaint number (short: it must not be mistaken for, nor
# be, a personal identifier — at most 8 characters, letters, digits and dashes).
_PARAMS = {
    "month": re.compile(r"(0[1-9]|1[0-2])/20\d\d"),
    "number": re.compile(r"[A-Za-z0-9-]{1,8}"),
}


@dataclass(frozen=True)
class Template:
    event: str
    text: str  # Vietnamese with tones; {month}, {number}: the checked parameters
    params: tuple[str, ...] = ()


TEMPLATES: dict[str, Template] = {
    t.event: t
    for t in (
        Template(
            "account_verified",
            "ASXH: Tài khoản nhận trợ cấp của ông/bà đã được xác minh. Từ kỳ tới, trợ cấp sẽ được chuyển "
            "vào tài khoản này. Cần hỏi thêm, xin liên hệ UBND xã/phường.",
        ),
        Template(
            "payment_sent",
            "ASXH: Trợ cấp tháng {month} đã được chuyển vào tài khoản của ông/bà. Nếu chưa nhận được, xin liên hệ "
            "UBND xã/phường.",
            ("month",),
        ),
        Template(
            "payment_failed",
            "ASXH: Trợ cấp tháng {month} chưa chuyển được cho ông/bà. Xin liên hệ UBND xã/phường, mang theo giấy "
            "tờ tùy thân, để được hướng dẫn nhận tiền.",
            ("month",),
        ),
        Template(
            "complaint_received",
            "ASXH: UBND xã/phường đã nhận phản ánh số {number} của ông/bà và sẽ trả lời sớm. Cần hỏi thêm, xin "
            "liên hệ UBND xã/phường.",
            ("number",),
        ),
        Template(
            "complaint_resolved",
            "ASXH: Phản ánh số {number} của ông/bà đã được giải quyết. Cần hỏi thêm, xin liên hệ UBND xã/phường.",
            ("number",),
        ),
    )
}


@dataclass(frozen=True)
class Rendered:
    text: str
    encoding: str  # gsm7 | ucs2
    segments: int


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text)


def segments(text: str, encoding: str) -> int:
    """How many SMS segments ``text`` takes in ``encoding`` (extension characters count twice in GSM-7)."""
    if encoding == "gsm7":
        size = sum(2 if c in GSM7_EXTENDED else 1 for c in text)
        single, part = GSM7_SINGLE, GSM7_PART
    else:
        size = sum(2 if ord(c) > 0xFFFF else 1 for c in text)  # UTF-16 code units
        single, part = UCS2_SINGLE, UCS2_PART
    return 1 if size <= single else math.ceil(size / part)


def _checked(event: str, template: Template, params: dict[str, Any]) -> dict[str, str]:
    unknown = set(params) - set(template.params)
    missing = [p for p in template.params if params.get(p) in (None, "")]
    bad = [p for p in template.params if p in params and not _PARAMS[p].fullmatch(str(params[p]))]
    if unknown or missing or bad:
        raise FieldError(
            Problem(
                "notice",
                "notice_params",
                N_("The notice %(event)s needs %(params)s, given as expected"),
                {"event": event, "params": ", ".join(template.params) or "-"},
            )
        )
    return {p: str(params[p]) for p in template.params}


def render(event: str, encoding: str = "gsm7", **params: Any) -> Rendered:
    """The message of ``event`` with its checked parameters, in ``encoding`` (``gsm7``: without tones; a text
    that would still not be GSM-7 is sent as ``ucs2``)."""
    template = TEMPLATES.get(event)
    if template is None:
        raise FieldError(Problem("event", "notice_event", N_("Unknown notice %(event)s"), {"event": event}))
    text = template.text.format(**_checked(event, template, params))
    if encoding == "gsm7":
        text = strip_tones(text)
        if not is_gsm7(text):
            encoding = "ucs2"
    return Rendered(text, encoding, segments(text, encoding))


def month_of(date: dt.date) -> str:
    """The ``month`` parameter of a benefit month."""
    return f"{date.month:02d}/{date.year}"

"""The texts sent to beneficiaries: one SMS segment without tones, Unicode counted, no identifier ever."""

import re

import pytest

from app.services.messages import FieldError
from app.services.notices import templates

PARAMS = {"month": "02/2025", "number": "PA-0042"}


def _render(event, encoding="gsm7"):
    template = templates.TEMPLATES[event]
    return templates.render(event, encoding, **{p: PARAMS[p] for p in template.params})


@pytest.mark.parametrize("event", sorted(templates.TEMPLATES))
def test_every_text_fits_one_gsm7_segment_without_tones(event):
    rendered = _render(event)
    assert rendered.encoding == "gsm7"
    assert templates.is_gsm7(rendered.text) and rendered.text.isascii()
    assert len(rendered.text) <= 160 and rendered.segments == 1
    assert "xa/phuong" in rendered.text  # where to ask, in every message


@pytest.mark.parametrize("event", sorted(templates.TEMPLATES))
def test_with_tones_the_segments_are_counted(event):
    rendered = _render(event, "ucs2")
    assert rendered.encoding == "ucs2" and not rendered.text.isascii()
    assert "xã/phường" in rendered.text
    assert rendered.segments == (1 if len(rendered.text) <= 70 else -(-len(rendered.text) // 67))
    assert rendered.segments >= 2


@pytest.mark.parametrize(
    "text,encoding,segments",
    [
        ("a" * 160, "gsm7", 1),
        ("a" * 161, "gsm7", 2),
        ("a" * 306, "gsm7", 2),
        ("a" * 307, "gsm7", 3),
        ("€" * 80, "gsm7", 1),  # an extension character takes two septets
        ("€" * 81, "gsm7", 2),
        ("ă" * 70, "ucs2", 1),
        ("ă" * 71, "ucs2", 2),
        ("ă" * 134, "ucs2", 2),
        ("ă" * 135, "ucs2", 3),
    ],
)
def test_segment_count(text, encoding, segments):
    assert templates.segments(text, encoding) == segments


@pytest.mark.parametrize("event", sorted(templates.TEMPLATES))
def test_no_identifier_in_any_text(event):
    """No CCCD, account number or long number of any kind, and no name: only fixed words and checked params."""
    for encoding in ("gsm7", "ucs2"):
        text = _render(event, encoding).text
        assert not re.search(r"\d{8,}", text)
        assert "{" not in text and "}" not in text


@pytest.mark.parametrize(
    "event,params",
    [
        ("payment_sent", {"month": "001045012345"}),  # a CCCD where a month goes
        ("payment_sent", {"month": "02/2025", "full_name": "Nguyễn Văn An"}),  # a name is no parameter
        ("payment_sent", {}),
        ("complaint_received", {"number": "001045012345"}),  # too long to be a complaint number
        ("complaint_received", {"number": "0011223344"}),  # an account number
        ("complaint_resolved", {"number": "Nguyễn Văn An"}),
        ("account_verified", {"account_number": "0011223344"}),
    ],
)
def test_parameters_that_could_carry_an_identifier_are_refused(event, params):
    with pytest.raises(FieldError) as exc:
        templates.render(event, "gsm7", **params)
    assert exc.value.problem.code == "notice_params"


def test_unknown_event_is_refused():
    with pytest.raises(FieldError):
        templates.render("lottery_won")


def test_strip_tones_keeps_case_and_spacing():
    from app.services.registry.normalize import strip_tones

    assert strip_tones("Đã chuyển trợ cấp tháng 02/2025 – UBND Xã") == "Da chuyen tro cap thang 02/2025 – UBND Xa"

"""Display formats: times stored in UTC are shown in Hanoi time; numbers and shares the Vietnamese way."""

import datetime as dt

from app.services.formatting import (
    format_date,
    format_datetime,
    format_number,
    format_percent,
    local_today,
    to_local,
    utc_now,
)


def test_a_stored_utc_time_is_shown_in_hanoi_time():
    late_evening_utc = dt.datetime(2026, 1, 1, 18, 30)
    assert format_datetime(late_evening_utc) == "02/01/2026 01:30"
    assert format_date(late_evening_utc) == "02/01/2026 01:30"
    assert format_datetime(late_evening_utc, seconds=True) == "02/01/2026 01:30:00"
    assert format_datetime(dt.datetime(2026, 1, 1, 18, 30, tzinfo=dt.UTC)) == "02/01/2026 01:30"
    assert format_date(dt.date(2026, 1, 1)) == "01/01/2026" and format_datetime(None) == ""


def test_times_are_stored_as_naive_utc_and_today_is_hanoi_today():
    now = utc_now()
    assert now.tzinfo is None
    assert abs((dt.datetime.now(dt.UTC).replace(tzinfo=None) - now).total_seconds()) < 3600
    assert to_local(now).utcoffset() == dt.timedelta(hours=7)
    assert local_today() in (to_local(now).date(), to_local(utc_now()).date())


def test_counts_and_shares_the_vietnamese_way():
    assert format_number(1561) == "1.561" and format_number(1234567) == "1.234.567"
    assert format_number(None) == "" and format_number(0) == "0"
    assert format_number(1234.5, 1) == "1.234,5"
    assert format_percent(0.664) == "66,4%" and format_percent(1) == "100,0%" and format_percent(None) == "—"

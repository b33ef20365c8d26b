"""Business time: 08:50–18:10 on working days, China's holidays off and make-up Saturdays on."""

import pandas as pd
import pytest
from helpers import audit, keys, write

from opskit.clock import business_minutes, in_service_hours
from opskit.policy import load_policy

DAY = 9 * 60 + 20  # 08:50–18:10


def minutes(start, end):
    return business_minutes(pd.Series([pd.Timestamp(start)]), pd.Series([pd.Timestamp(end)]), load_policy())[0]


def test_within_one_day_and_outside_hours():
    assert minutes("2026-10-12 09:00", "2026-10-12 10:30") == 90
    assert minutes("2026-10-12 07:00", "2026-10-12 20:00") == DAY
    assert minutes("2026-10-12 19:00", "2026-10-13 08:00") == 0


def test_across_a_weekend():
    # Friday 17:10 → Monday 09:50: one hour on Friday, one on Monday
    assert minutes("2026-11-13 17:10", "2026-11-16 09:50") == 120


def test_across_national_day_week():
    # 2026-10-01..07 are off (Oct 4 is a Sunday); Sep 30 17:10 → Oct 8 09:50 is two service hours
    assert minutes("2026-09-30 17:10", "2026-10-08 09:50") == 120


def test_make_up_saturday_is_a_working_day():
    # Saturday 2026-10-10 is a make-up working day (调休); Saturday 10-17 is not
    assert minutes("2026-10-10 08:50", "2026-10-10 18:10") == DAY
    assert minutes("2026-10-17 08:50", "2026-10-17 18:10") == 0
    assert minutes("2026-10-09 18:00", "2026-10-12 09:00") == 10 + DAY + 10


def test_missing_and_negative():
    s = business_minutes(
        pd.Series([pd.NaT, pd.Timestamp("2026-10-12 10:00")]),
        pd.Series([pd.Timestamp("2026-10-12"), pd.Timestamp("2026-10-12 09:00")]),
        load_policy(),
    )
    assert pd.isna(s[0]) and s[1] == -60


def test_service_hours_flags():
    ts = pd.Series(
        pd.to_datetime(
            ["2026-10-12 08:49", "2026-10-12 08:50", "2026-10-12 18:10", "2026-10-10 12:00", "2026-10-03 12:00", None]
        )
    )
    assert list(in_service_hours(ts, load_policy())) == [False, True, True, True, False, False]


def test_rule_on_business_clock(tmp_path):
    t = pd.Timestamp("2026-09-30 17:10")
    write(
        tmp_path,
        cs_tickets=[
            dict(
                ticket_id="holiday",
                channel="phone",
                type="inquiry",
                category="x",
                created_at=t,
                first_reply_at=pd.Timestamp("2026-10-08 09:50"),
            ),
        ],
    )
    calendar = audit(tmp_path, month="2026-09", rules="CS-001")
    business = audit(tmp_path, month="2026-09", rules="CS-001", policy={"rules": {"CS-001": {"clock": "business"}}})
    assert keys(calendar, "CS-001") == {"holiday"} and keys(business, "CS-001") == set()
    six_hours = audit(
        tmp_path, month="2026-09", rules="CS-001", policy={"rules": {"CS-001": {"clock": "business", "limit": 1.5}}}
    )
    assert six_hours["observed"].iloc[0] == pytest.approx(2.0)

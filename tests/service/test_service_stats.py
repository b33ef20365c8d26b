"""Service statistics on small hand-computed examples, and the service review on the samples."""

import pandas as pd
import pytest
from helpers import SAMPLES, audit, keys, write

from opskit.month import open_review
from opskit.policy import load_policy
from opskit.reviews.service import metrics as ss
from opskit.reviews.service.review import ServiceReview

POLICY = load_policy()


def tickets(*rows):
    frame = pd.DataFrame(rows)
    for column in ("created_at", "first_reply_at", "resolved_at"):
        frame[column] = pd.to_datetime(frame.get(column))
    return frame


def test_durations_on_both_clocks():
    # Friday 17:10 → Monday 09:50: 64.67 calendar hours, 2 service hours
    frame = tickets(dict(created_at="2026-11-13 17:10", first_reply_at="2026-11-16 09:50", resolved_at=None))
    d = ss.durations(frame, POLICY).iloc[0]
    assert d["first_reply_h"] == pytest.approx(64 + 40 / 60)
    assert d["first_reply_business_h"] == pytest.approx(2.0)
    assert pd.isna(d["resolved_h"]) and pd.isna(d["resolved_business_h"])


def test_duration_stats_median_and_p90():
    frame = tickets(
        *[
            dict(created_at="2026-10-12 09:00", first_reply_at=f"2026-10-12 {9 + h}:00", resolved_at="2026-10-12 09:30")
            for h in range(1, 9)
        ]
    )
    stats = ss.duration_stats(frame, POLICY).set_index(["measure", "clock"])
    assert stats.loc[("first_reply", "calendar"), "median_h"] == 4.5
    assert stats.loc[("first_reply", "calendar"), "p90_h"] == pytest.approx(7.3)
    assert stats.loc[("resolved", "business"), "median_h"] == 0.5


def test_backlog_by_age_at_as_of():
    as_of = pd.Timestamp("2026-11-01")
    frame = tickets(
        dict(created_at="2026-10-31 12:00", resolved_at=None),  # 12 h
        dict(created_at="2026-10-30 12:00", resolved_at="2026-11-02"),  # resolved after as_of: 36 h
        dict(created_at="2026-10-20 00:00", resolved_at=None),  # 12 days
        dict(created_at="2026-10-20 00:00", resolved_at="2026-10-21"),  # resolved
    )
    assert ss.backlog(frame, as_of)["tickets"].tolist() == [1, 1, 0, 1]


def test_repeat_contacts_within_seven_days():
    frame = tickets(
        dict(customer_id="A", created_at="2026-10-01 10:00"),
        dict(customer_id="A", created_at="2026-10-08 10:00"),  # exactly 7 days: a repeat
        dict(customer_id="A", created_at="2026-10-15 10:01"),  # 7 days and a minute: not
        dict(customer_id="B", created_at="2026-10-02 10:00"),
        dict(customer_id=None, created_at="2026-10-02 11:00"),
    )
    assert ss.repeat_contacts(frame).tolist() == [False, True, False, False, False]


def test_out_of_hours_split_and_reply():
    frame = tickets(
        dict(created_at="2026-10-12 10:00", first_reply_at="2026-10-12 11:00"),  # Monday in hours
        dict(created_at="2026-10-12 20:00", first_reply_at="2026-10-13 09:00"),  # Monday evening
        dict(created_at="2026-10-03 10:00", first_reply_at="2026-10-08 10:00"),  # National Day
        dict(created_at="2026-10-10 10:00", first_reply_at="2026-10-10 10:30"),  # make-up Saturday: in hours
    )
    table = ss.out_of_hours(frame, POLICY).set_index("when")
    assert table["tickets"].tolist() == [2, 1, 1]
    assert table.loc["after_hours", "median_reply_h"] == 13
    assert table.loc["day_off", "replied_within_24h"] == 0


def test_weekly_trend_starts_on_monday():
    frame = tickets(
        dict(created_at="2026-10-04 10:00", first_reply_at="2026-10-04 12:00"),  # Sunday: week of 09-28
        dict(created_at="2026-10-05 10:00", first_reply_at="2026-10-05 11:00"),
        dict(created_at="2026-10-06 10:00", first_reply_at="2026-10-06 13:00"),
    )
    week = ss.weekly(frame)
    assert week["week"].dt.strftime("%Y-%m-%d").tolist() == ["2026-09-28", "2026-10-05"]
    assert week["tickets"].tolist() == [1, 2] and week["tickets_change"].iloc[1] == 1.0
    assert week["median_reply_h"].tolist() == [2, 2]


def test_agent_attainment_counts_tickets_with_a_duration_finding():
    frame = pd.DataFrame({"ticket_id": ["a", "b", "c"], "agent": ["王", "王", "李"]})
    findings = pd.DataFrame({"rule_id": ["CS-001", "CS-004"], "key": ["a", "c"]})
    table = ss.agent_attainment(frame, findings).set_index("agent")
    assert table.loc["王"].tolist() == [2, 1, 0.5] and table.loc["李"].tolist() == [1, 0, 1.0]


def test_order_rules_switch_to_the_business_clock(tmp_path):
    # paid Friday 17:00, shipped Monday 10:00: 65 calendar hours but 2 h 20 min of service time
    write(
        tmp_path,
        orders=[
            dict(
                order_id="weekend",
                channel="tmall",
                created_at="2026-11-13 16:50",
                paid_at="2026-11-13 17:00",
                shipped_at="2026-11-16 10:00",
            )
        ],
    )
    assert keys(audit(tmp_path, month="2026-11", rules="ORD-003"), "ORD-003") == {"weekend"}
    business = audit(tmp_path, month="2026-11", rules="ORD-003", policy={"rules": {"ORD-003": {"clock": "business"}}})
    assert business.empty


def test_service_review_on_the_samples():
    review = open_review(ServiceReview, SAMPLES, "2026-10", lang="en")
    kpis = review.kpis()
    assert kpis["tickets"] == 144 and kpis["findings"] == 9 and kpis["open_breaches"] == 1
    assert kpis["first_reply_within_limit"] == round(1 - 2 / 143, 4)
    filterable = review.filterable_findings().set_index("key")
    assert (
        filterable.loc["CS002-SLOW-2610", "type"] == "after_sales"
        and filterable.loc["CS002-SLOW-2610", "agent"] == "小王"
    )
    titles = [title for title, _ in review.tables()]
    assert titles[:2] == [
        "Volumes by channel, type, category, agent",
        "Reply and resolution times (calendar / business)",
    ]

"""Reviews and dashboards reading earlier months: change on last month, trend, recurrence, follow-up."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from helpers import SAMPLES
from matplotlib.figure import Figure

from opskit.history_store import HistoryStore
from opskit.month import open_review
from opskit.report.dashboard import ReviewApp
from opskit.report.history import carried_view, change_text, trend_chart, trend_frame
from opskit.reviews.orders.review import OrderSlaReview
from opskit.runner import run_checks


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """August (made up) and September recorded, with follow-ups on two September findings."""
    path = tmp_path_factory.mktemp("store") / "opskit-history.sqlite"
    s = HistoryStore(path)
    september = run_checks(SAMPLES, "2026-09")
    late = pd.DataFrame(
        {"rule_id": ["ORD-003"], "key": ["ORD003-LATE-2610"], "message": ["late"], "when": [pd.NaT]}
    )  # recorded in September too: a recurring finding in October
    s.record_month(
        "2026-08", "2026-09-01", {"order_sla_audit": {"on_time_shipping": 0.97, "orders": 180}}, september.summary, late
    )
    s.record_month(
        "2026-09",
        september.as_of,
        {"order_sla_audit": {"on_time_shipping": 0.995, "orders": 203}},
        september.summary,
        pd.concat([september.findings, late], ignore_index=True),
    )
    ids = sorted(s.read().findings.query("month == '2026-09'")["finding_id"])
    s.apply_followups(
        [
            {"month": "2026-09", "finding_id": ids[0], "status": "已整改"},
            {"month": "2026-09", "finding_id": "ORD-003:ORD003-LATE-2610", "status": "处理中", "owner": "王仓管"},
        ],
        by="张经理",
    )
    s.close()
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def october(store):
    return open_review(OrderSlaReview, SAMPLES, "2026-10", history=store)


def test_the_headline_shows_the_change_against_the_stored_month_before(october):
    assert october.history.source == "store" and october.history.previous_month == "2026-09"
    view = october.kpi_view().set_index("指标")
    assert view.loc["24小时内发货率", ["上月", "变化"]].tolist() == [0.995, -0.0059]
    assert view.loc["订单数", ["上月", "变化"]].tolist() == [203, 82]
    from opskit.report.html import headline_html

    html = headline_html(october)
    assert '24小时内发货率<b>98.9%</b><small class="opskit-change">较上月 -0.6个百分点</small>' in html
    assert change_text("orders", 285, 203, "en") == "vs last month +82"
    assert change_text("on_time_shipping", 0.9891, 0.995, "en") == "vs last month -0.6 pp"
    assert change_text("orders", 285, None, "zh") == ""


def test_the_trend_comes_from_the_store_with_this_month_last(october):
    table = trend_frame(october)
    assert table.index.tolist() == ["2026-08", "2026-09", "2026-10"]
    assert table["on_time_shipping"].tolist() == [0.97, 0.995, 0.9891]
    assert isinstance(trend_chart(october), Figure)


def test_recurring_findings_are_marked_and_follow_up_is_shown(october):
    view = october.findings_view().set_index("编号")
    assert view.loc["ORD-003:ORD003-LATE-2610", "上月也出现"] == "是"
    assert (view.drop(index="ORD-003:ORD003-LATE-2610")["上月也出现"] == "").all()
    assert list(view.columns[-3:]) == ["责任人", "整改状态", "整改说明"]


def test_open_items_of_earlier_months_are_carried_over_and_closed_ones_are_not(october):
    carried = carried_view(october, october.history, "zh", ["ORD-003", "ORD-001", "CS-001", "CS-004"])
    rows = carried[["月份", "编号", "责任人", "整改状态"]].astype(object).where(carried.notna(), None)
    assert ["2026-08", "ORD-003:ORD003-LATE-2610", None, None] in rows.values.tolist()
    assert ["2026-09", "ORD-003:ORD003-LATE-2610", "王仓管", "处理中"] in rows.values.tolist()
    closed = sorted(october.history.carried["finding_id"])
    assert "CS-001:CS001-LATE-2609" not in closed  # the first September id was put right (已整改)


def test_without_a_store_the_month_before_comes_from_the_data_root():
    review = open_review(OrderSlaReview, SAMPLES, "2026-10")
    assert review.history.source == "data root" and review.history.previous_month == "2026-09"
    assert review.kpi_view().set_index("指标").loc["24小时内发货率", "上月"] == 0.995
    assert trend_frame(review).index.tolist() == ["2026-09", "2026-10"]
    assert open_review(OrderSlaReview, SAMPLES, "2026-10", history=False).history is None


def test_the_dashboard_shows_follow_up_of_the_month_it_switches_to(store, tmp_path):
    s = HistoryStore(store)
    s.record_month(
        "2026-10", "2026-11-01", {}, run_checks(SAMPLES, "2026-10").summary, run_checks(SAMPLES, "2026-10").findings
    )
    s.apply_followups([{"month": "2026-10", "finding_id": "ORD-001:ORD001-LATE-2610", "owner": "李客服"}], by="张经理")
    s.close()
    app = ReviewApp(OrderSlaReview, SAMPLES, month="2026-09", history=store)
    app.month.value = "2026-10"
    shown = app.review.browse_view(app.filtered()).set_index("编号")
    assert shown.loc["ORD-001:ORD001-LATE-2610", "责任人"] == "李客服"
    assert shown.loc["ORD-003:ORD003-LATE-2610", "上月也出现"] == "是"


def test_serve_passes_the_history_store_to_the_dashboards(monkeypatch, tmp_path):
    import opskit.serve
    from opskit.cli import main

    seen = {}
    monkeypatch.setattr(
        opskit.serve, "serve", lambda **kw: seen.setdefault("url", os.environ.get("OPSKIT_HISTORY")) and 0
    )
    monkeypatch.delenv("OPSKIT_HISTORY", raising=False)
    main(["serve", "--history", str(tmp_path / "h.sqlite")])
    assert seen["url"] == f"sqlite:///{tmp_path / 'h.sqlite'}"

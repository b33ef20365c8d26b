"""PRM-001..PRM-008 at their boundaries."""

import pandas as pd
from helpers import audit, keys, summary_row, write

START = pd.Timestamp("2026-10-15 00:00")
D = pd.Timedelta(days=1)


def promo(promo_id, start=START, days=7, **kw):
    row = dict(
        promo_id=promo_id,
        channel="tmall",
        plan_submitted_at=start - 20 * D,
        approved_at=start - 19 * D,
        confirmed_salesops_at=start - 18 * D,
        confirmed_marketing_at=start - 18 * D,
        start_at=start,
        end_at=start + days * D,
        goal="拉新",
        budget=1000,
        channels="天猫",
        scope_skus="A、B",
        target_sales=100,
        review_submitted_at=start + (days + 1) * D,
    )
    row.update(kw)
    return row


def test_prm_001_plan_lead_time(tmp_path):
    write(
        tmp_path,
        promotions=[
            promo("exact", plan_submitted_at=START - 14 * D),
            promo("short", plan_submitted_at=START - 14 * D + pd.Timedelta(minutes=1)),
            promo("none", plan_submitted_at=None),
            promo("november", start=pd.Timestamp("2026-11-20"), plan_submitted_at=None),
        ],
    )
    found = audit(tmp_path, rules="PRM-001")
    assert keys(found, "PRM-001") == {"short", "none"}
    assert audit(tmp_path, month="2026-11", rules="PRM-001", as_of="2026-11-06 00:00").empty  # due 11-06: pending
    assert keys(audit(tmp_path, month="2026-11", rules="PRM-001", as_of="2026-11-06 00:01"), "PRM-001") == {"november"}


def test_prm_002_manager_approval(tmp_path):
    write(
        tmp_path,
        promotions=[
            promo("at-start", approved_at=START),
            promo("after", approved_at=START + pd.Timedelta(minutes=1)),
            promo("missing", approved_at=None),
            promo("before-plan", approved_at=START - 21 * D),
        ],
    )
    assert keys(audit(tmp_path, rules="PRM-002"), "PRM-002") == {"after", "missing", "before-plan"}
    assert audit(tmp_path, rules="PRM-002", as_of="2026-10-10").pipe(keys, "PRM-002") == {"after", "before-plan"}


def test_prm_003_both_departments_confirm(tmp_path):
    write(
        tmp_path,
        promotions=[
            promo("ok"),
            promo("no-marketing", confirmed_marketing_at=None),
            promo("late-salesops", confirmed_salesops_at=START + D),
        ],
    )
    found = audit(tmp_path, rules="PRM-003", lang="en")
    assert keys(found, "PRM-003") == {"no-marketing", "late-salesops"}
    assert found.set_index("key").loc["late-salesops", "message"] == "sales-ops confirmed after the start"


def test_prm_004_plan_complete(tmp_path):
    write(tmp_path, promotions=[promo("ok"), promo("zero-budget", budget=0), promo("bare", goal=None, scope_skus=None)])
    found = audit(tmp_path, rules="PRM-004")
    assert found.set_index("key")["observed"].to_dict() == {"bare": 2, "zero-budget": 1}


def test_prm_005_review_within_seven_days_only_once_ended(tmp_path):
    end = START + 7 * D
    write(
        tmp_path,
        promotions=[
            promo("exact", review_submitted_at=end + 7 * D),
            promo("late", review_submitted_at=end + 8 * D),
            promo("pending", start=pd.Timestamp("2026-10-25"), days=3, review_submitted_at=None),
            promo("running", start=pd.Timestamp("2026-10-30"), days=10, review_submitted_at=None),
        ],
    )
    found = audit(tmp_path, rules="PRM-005")
    assert keys(found, "PRM-005") == {"late"}
    assert summary_row(found, "PRM-005")["pending"] == 2
    later = audit(tmp_path, rules="PRM-005", as_of="2026-11-04 00:01")  # pending ended 10-28: 7 days + 1 min
    assert keys(later, "PRM-005") == {"late", "pending"}


def sales_folder(tmp_path):
    t = START + D
    orders = [
        dict(order_id="o1", channel="tmall", created_at=t, paid_at=t, shipped_at=t),
        dict(order_id="o2", channel="tmall", created_at=t, paid_at=t, shipped_at=t, refunded_at=t + D),
        dict(order_id="o3", channel="tmall", created_at=t, paid_at=t, shipped_at=None),
    ]
    lines = [
        dict(order_id="o1", sku="A", qty=2, unit_price=80, promo_id="P1"),
        dict(order_id="o1", sku="A", qty=1, unit_price=0, is_gift="是", promo_id="P1"),
        dict(order_id="o2", sku="A", qty=2, unit_price=80, promo_id="P1"),
        dict(order_id="o2", sku="A", qty=1, unit_price=0, is_gift="是", promo_id="P1"),
        dict(order_id="o3", sku="B", qty=1, unit_price=0, is_gift="是", promo_id="P1"),
        dict(order_id="o3", sku="B", qty=1, unit_price=40, promo_id="P2"),
    ]
    writeoffs = [
        dict(month="2026-10", sku="A", kind="gift", qty=1, promo_id="P1"),
        dict(month="2026-10", sku="B", kind="gift", qty=1, promo_id="P1"),
    ]
    products = [dict(sku="A", retail_price=100), dict(sku="B", retail_price=50)]
    return write(
        tmp_path,
        orders=orders,
        order_lines=lines,
        finance_writeoffs=writeoffs,
        products=products,
        promotions=[promo("P1", budget=189.99, target_sales=160), promo("P2", budget=10, target_sales=40.01)],
    )


def test_prm_006_gifts_shipped_equal_gifts_written_off(tmp_path):
    # P1/A: two gifts shipped (refunded or not), one written off; P1/B: written off but never shipped
    found = audit(sales_folder(tmp_path), rules="PRM-006")
    assert found.set_index("key")["observed"].to_dict() == {"P1/A": 1, "P1/B": -1}


def test_prm_007_008_cost_budget_and_revenue_target(tmp_path):
    # P1 cost on orders not refunded: discount (100-80)*2 + gifts 1*100 (o1) + 1*50 (o3, unshipped) = 190
    # > 189.99; revenue 2*80 = 160 (o2 refunded) meets 160
    # P2: discount (50-40)*1 = 10 within 10; revenue 40 < 40.01
    found = audit(sales_folder(tmp_path), rules="PRM-007,PRM-008")
    assert keys(found) == {("PRM-007", "P1"), ("PRM-008", "P2")}
    assert found.set_index("rule_id").loc["PRM-007", "observed"] == 190

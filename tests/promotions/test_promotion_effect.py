"""Promotion effect on a hand-made example, and the promotion review on the samples.

Window Mon 10-19..Thu 10-22 (4 working days); baseline Thu 10-15..Sun 10-18 (2 working days, a
weekend); after-window Fri 10-23..Mon 10-26. Scope SKU A (retail 10, cost 6, category 茶), B is
another SKU of 茶 (retail 5).
"""

import pandas as pd
import pytest
from helpers import SAMPLES, write

import opskit
from opskit.month import open_review
from opskit.reviews.promotions import metrics as pe
from opskit.reviews.promotions.review import PromotionReview

SALES = {  # day: (units of A, price of A, units of B)
    "2026-10-15": (1, 10, 1),
    "2026-10-16": (1, 10, 1),
    "2026-10-17": (3, 10, 1),
    "2026-10-18": (3, 10, 1),
    "2026-10-19": (5, 8, 1),
    "2026-10-20": (5, 8, 1),
    "2026-10-21": (5, 8, 0),
    "2026-10-22": (5, 8, 0),
    "2026-10-23": (0, 10, 0),
    "2026-10-24": (2, 10, 0),
    "2026-10-25": (2, 10, 0),
    "2026-10-26": (0, 10, 1),
}


@pytest.fixture
def lines(tmp_path):
    orders, order_lines = [], []
    for day, (a, price, b) in SALES.items():
        oid = f"o{day}"
        orders.append(dict(order_id=oid, channel="tmall", created_at=f"{day} 12:00", paid_at=f"{day} 12:05"))
        if a:
            order_lines.append(dict(order_id=oid, sku="A", qty=a, unit_price=price))
        if b:
            order_lines.append(dict(order_id=oid, sku="B", qty=b, unit_price=5))
        order_lines.append(dict(order_id=oid, sku="A", qty=1, unit_price=0, is_gift="Y"))  # gifts are not sales
    orders.append(
        dict(
            order_id="refunded",
            channel="tmall",
            created_at="2026-10-20 12:00",
            paid_at="2026-10-20 12:01",
            refunded_at="2026-10-20 13:00",
        )
    )
    order_lines.append(dict(order_id="refunded", sku="A", qty=50, unit_price=8))
    products = [
        dict(sku="A", retail_price=10, cost_price=6, category="茶"),
        dict(sku="B", retail_price=5, cost_price=3, category="茶"),
    ]
    write(tmp_path, orders=orders, order_lines=order_lines, products=products)
    return pe.sales([opskit.load(tmp_path)])


def promo(start="2026-10-19", end="2026-10-22 23:59", skus="A"):
    return pd.Series(
        {"promo_id": "P", "start_at": pd.Timestamp(start), "end_at": pd.Timestamp(end), "scope_skus": skus}
    )


def test_effect_figures(lines):
    sales, span = lines
    row = pe.effect(promo(), sales, span, cost=40.0, as_of=pd.Timestamp("2026-11-01"))
    assert (row["days"], row["revenue"], row["units"]) == (4, 160, 20)
    assert (row["baseline_revenue"], row["baseline_units"]) == (80, 8)
    assert row["baseline_weekday_adjusted"] == 40  # 4 working days at the baseline's 10 a working day
    assert (row["uplift"], row["incremental_revenue"]) == (3.0, 120)
    assert row["incremental_gross_margin"] == (20 - 8) * (10 - 6)
    assert row["roi"] == (48 - 40) / 40
    assert (row["after_revenue"], row["dip_after"]) == (40, -0.5)
    assert row["other_skus_change"] == -0.5  # B sold 2 in the window against 4 before: cannibalised
    assert row["notes"] == ""


def test_figures_the_data_cannot_support_say_why(lines):
    sales, span = lines
    early = pe.effect(promo("2026-10-16", "2026-10-19 23:59"), sales, span, 10.0, pd.Timestamp("2026-11-01"))
    assert pd.isna(early.get("uplift")) and "no baseline: the data starts 2026-10-15" in early["notes"]
    running = pe.effect(promo(), sales, span, 40.0, as_of=pd.Timestamp("2026-10-24"))
    assert "after" in running["notes"] and pd.isna(running.get("dip_after"))
    free = pe.effect(promo(), sales, span, 0.0, pd.Timestamp("2026-11-01"))
    assert pd.isna(free["roi"]) and "ROI undefined" in free["notes"]


def test_daily_revenue_marks_the_phases(lines):
    daily = pe.daily_revenue(promo(), lines[0])
    assert daily["phase"].tolist() == ["baseline"] * 4 + ["window"] * 4 + ["after"] * 4
    assert daily["revenue"].tolist()[:5] == [10, 10, 30, 30, 40]


def test_promotion_review_on_the_samples():
    review = open_review(PromotionReview, SAMPLES, "2026-10", lang="en")
    checklist = review.checklist().set_index("Promotion")
    assert checklist.loc["P2610-02", ["PRM-001", "PRM-002", "PRM-005"]].tolist() == ["✗", "✗", "…"]
    assert checklist.loc["P2610-03", "PRM-006"] == "✗" and (checklist.loc["P2610-01"].iloc[1:] == "✓").all()
    effects = review.effects().set_index("promo_id")
    assert effects.loc["P2610-01", "notes"] == ""  # its baseline lies in September, read from the data root
    budget = review.budget().set_index("promo_id")
    assert budget.loc["P2610-04", "cost"] > budget.loc["P2610-04", "budget"]
    assert review.kpis()["over_budget"] == 1
    assert set(review.browse()["promo_id"]) == {"P2610-02", "P2610-03", "P2610-04"}

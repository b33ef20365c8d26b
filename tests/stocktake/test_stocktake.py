"""Stock-take figures on a hand-computed example, and the review on the samples."""

import pandas as pd
import pytest
from helpers import SAMPLES, write

import opskit
from opskit.month import open_review
from opskit.reviews.stocktake import metrics as st
from opskit.reviews.stocktake.review import StocktakeReview


def ledger(sku, out_per_day, start=100, days=30):
    rows, stock = [], start
    for day in pd.date_range("2026-10-01", periods=days, freq="D"):
        rows.append(
            dict(
                date=day,
                sku=sku,
                opening_qty=stock,
                in_qty=0,
                out_qty=out_per_day,
                gift_qty=0,
                return_qty=0,
                closing_qty=stock - out_per_day,
            )
        )
        stock -= out_per_day
    return rows


@pytest.fixture
def example(tmp_path):
    # Outbound value at cost over 30 days: A 30*3*10=900 (75 %), B 30*1*8=240 (20 %), C 30*1*2=60 (5 %), D 0
    rows = ledger("A", 3) + ledger("B", 1) + ledger("C", 1) + ledger("D", 0)
    products = [
        dict(sku="A", retail_price=20, cost_price=10),
        dict(sku="B", retail_price=16, cost_price=8),
        dict(sku="C", retail_price=4, cost_price=2),
        dict(sku="D", retail_price=5, cost_price=None),
    ]
    # books on 10-30: A 10, B 70, C 70, D 100
    counts = [
        dict(count_id="PD", count_date="2026-10-30", sku=s, counted_qty=q, counters="甲、乙")
        for s, q in (("A", 9), ("B", 72), ("C", 66), ("D", 100))
    ]
    write(tmp_path, stock_ledger=rows, products=products, stock_counts=counts)
    data = opskit.load(tmp_path)
    return data, opskit.run_checks(data, "2026-10", rules="STK")


def test_abc_classes_by_outbound_value(example):
    data, _ = example
    assert st.abc_classes(data).to_dict() == {"A": "A", "B": "B", "C": "C", "D": "C"}


def test_accuracy_counts_skus_and_never_nets_surplus_against_shortage(example):
    data, result = example
    recon = st.reconciliation(data, result).set_index("sku")
    # tolerances: A 1 % of 10 = 0.1, B 3 % of 70 = 2.1, C 5 % of 70 = 3.5, D 5 % of 100
    assert recon["tolerance"].to_dict() == {"A": 0.1, "B": 2.1, "C": 3.5, "D": 5.0}
    assert recon["accurate"].to_dict() == {"A": False, "B": True, "C": False, "D": True}
    figures = st.accuracy(recon.reset_index())
    assert figures["record_accuracy"] == 0.5
    assert (figures["net_variance_units"], figures["abs_variance_units"]) == (-3, 7)  # -1 +2 -4 +0
    assert figures["net_variance_cost"] == -1 * 10 + 2 * 8 - 4 * 2
    assert figures["abs_variance_retail"] == 1 * 20 + 2 * 16 + 4 * 4


def test_tolerance_comes_from_the_policy(example):
    data, result = example
    recon = st.reconciliation(data, result, {"A": 0.2, "B": 0.0, "C": 0.1})
    assert st.accuracy(recon)["record_accuracy"] == 0.75  # A within 2, B not, C within 7, D within 10


def test_cover_and_slow_movers(example):
    data, result = example
    cover = st.cover(data, result).set_index("sku")
    assert cover.loc["A", "daily_out"] == 3 and cover.loc["A", "days_of_cover"] == round(10 / 3, 1)
    assert cover["slow_mover"].to_dict() == {"A": False, "B": False, "C": False, "D": True}
    assert pd.isna(cover.loc["D", "days_of_cover"])


def test_stocktake_review_on_the_samples():
    review = open_review(StocktakeReview, SAMPLES, "2026-10", lang="en")
    kpis = review.kpis()
    assert kpis["skus_counted"] == 41 and kpis["findings"] == 15
    stk5 = review.findings[review.findings["rule_id"] == "STK-005"]
    assert kpis["compensation_due"] == round(stk5["amount"].sum(), 2)
    recon = review.reconciliation().set_index("sku")
    assert recon.loc["SKU0001", "confirmed_short"] == 3 and recon.loc["SKU0001", "ledger_in"] == 211
    assert recon.loc["SKU0001", "finance_purchase"] == 201
    assert review.trend()["month"].tolist() == ["2026-09", "2026-10"]
    assert "SKU0013" in set(st.cover(review.data, review.result).query("slow_mover")["sku"])

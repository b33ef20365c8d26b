"""Stock-take figures beyond the STK rules: the three-way reconciliation (count / ledger / finance),
inventory record accuracy with ABC tolerances, variance in units, at cost and at retail, days of
cover and slow movers.

Accuracy counts SKUs, never quantities: a surplus on one SKU does not hide a shortage on another.
A SKU is accurate when |counted − book| is within its class tolerance, a share of the book
quantity (a book of 0 allows no difference).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...loader import Data
from ...policy import Policy
from ...rule import Context
from ...runner import CheckResult
from .rules import month_ledger, recounts, variances

ABC_CUTS = {"A": 0.80, "B": 0.95}  # cumulative share of outbound value, the SKU itself included
ABC_TOLERANCE = {"A": 0.01, "B": 0.03, "C": 0.05}  # share of the book quantity
SLOW_DAYS = 30
TREND_FIGURES = [
    "skus_counted",
    "record_accuracy",
    "net_variance_units",
    "abs_variance_units",
    "net_variance_cost",
    "abs_variance_cost",
    "net_variance_retail",
    "abs_variance_retail",
    "compensation_due",
]


def context(data: Data, result: CheckResult) -> Context:
    return Context(data, pd.Period(result.month, "M"), result.as_of, result.policy)


def prices(data: Data) -> pd.DataFrame:
    """Retail and cost per SKU (cost falls back to retail when missing), with name and category."""
    if "products" not in data:
        return pd.DataFrame(columns=["name", "category", "retail_price", "cost_price"]).rename_axis("sku")
    p = data["products"].drop_duplicates("sku").set_index("sku")
    return p[["name", "category", "retail_price"]].assign(cost_price=p["cost_price"].fillna(p["retail_price"]))


def abc_classes(data: Data, cuts: dict[str, float] = ABC_CUTS) -> pd.Series:
    """A/B/C per SKU by outbound value (out + gift quantity × cost) over all ledger rows loaded."""
    if "stock_ledger" not in data:
        return pd.Series(dtype="object")
    ledger = data["stock_ledger"]
    outbound = (ledger["out_qty"].fillna(0) + ledger["gift_qty"].fillna(0)).astype("float64")
    cost = ledger["sku"].map(prices(data)["cost_price"]).astype("float64").fillna(0)
    value = (outbound * cost).groupby(ledger["sku"]).sum().sort_values(ascending=False, kind="stable")
    total = value.sum()
    share = value.cumsum() / total if total else value * 0 + 1
    eps = 1e-9  # 1140/1200 is 0.95 in a spreadsheet and should be here too
    first = np.arange(len(value)) == 0  # the largest SKU is A even when it alone passes the cut
    classes = np.select([(share <= cuts["A"] + eps) | (first & (total > 0)), share <= cuts["B"] + eps], ["A", "B"], "C")
    return pd.Series(classes, index=value.index)


def reconciliation(data: Data, result: CheckResult, tolerance: dict[str, float] = ABC_TOLERANCE) -> pd.DataFrame:
    """One row per counted SKU: count vs ledger vs finance, ABC class and tolerance, recount and compensation."""
    ctx = context(data, result)
    var = recounts(ctx).reindex(columns=["first_recount", "last_recount", "last_recount_qty"])
    counted = variances(ctx).join(var)
    price = prices(data)
    classes = abc_classes(data)
    out = pd.DataFrame(
        {
            "sku": counted["sku"],
            "name": counted["sku"].map(price["name"]),
            "category": counted["sku"].map(price["category"]),
            "abc_class": counted["sku"].map(classes).fillna("C"),
            "count_date": counted["count_date"],
            "counted": counted["counted_qty"].astype("float64"),
            "book": counted["book"],
            "diff": counted["diff"],
        }
    )
    out["tolerance"] = (out["abc_class"].map(tolerance) * out["book"].abs()).round(2)
    out["accurate"] = out["diff"].abs() <= out["tolerance"]
    out["variance"] = counted["variance"]
    retail = out["sku"].map(price["retail_price"]).astype("float64")
    cost = out["sku"].map(price["cost_price"]).astype("float64")
    out["diff_at_cost"] = (out["diff"] * cost).round(2)
    out["diff_at_retail"] = (out["diff"] * retail).round(2)
    out["recount_date"] = counted["last_recount"]
    out["recount_qty"] = counted["last_recount_qty"]
    stk5 = result.findings[result.findings["rule_id"] == "STK-005"].set_index("key")
    out["confirmed_short"] = out["sku"].map(stk5["observed"]).astype("float64").fillna(0.0)
    out["compensation"] = out["sku"].map(stk5["amount"]).astype("float64").fillna(0.0)
    ledger = month_ledger(ctx)
    received = ledger[ledger["in_month"]].groupby("sku")["in_qty"].sum().astype("float64")
    out["ledger_in"] = out["sku"].map(received).fillna(0.0)
    if "finance_writeoffs" in data:
        wo = data["finance_writeoffs"]
        wo = wo[(wo["kind"] == "purchase") & (wo["month"] == result.month)]
        out["finance_purchase"] = out["sku"].map(wo.groupby("sku")["qty"].sum().astype("float64")).fillna(0.0)
    else:
        out["finance_purchase"] = np.nan
    out["when"] = out["count_date"]
    return out.sort_values(["variance", "sku"], ascending=[False, True], kind="stable").reset_index(drop=True)


def accuracy(recon: pd.DataFrame) -> dict[str, float]:
    """Record accuracy (share of counted SKUs within tolerance) and net/absolute variance."""
    n = len(recon)
    return {
        "skus_counted": n,
        "record_accuracy": round(float(recon["accurate"].mean()), 4) if n else float("nan"),
        "net_variance_units": float(recon["diff"].sum()),
        "abs_variance_units": float(recon["diff"].abs().sum()),
        "net_variance_cost": round(float(recon["diff_at_cost"].sum()), 2),
        "abs_variance_cost": round(float(recon["diff_at_cost"].abs().sum()), 2),
        "net_variance_retail": round(float(recon["diff_at_retail"].sum()), 2),
        "abs_variance_retail": round(float(recon["diff_at_retail"].abs().sum()), 2),
        "compensation_due": round(float(recon["compensation"].sum()), 2),
    }


def cover(data: Data, result: CheckResult, slow_days: int = SLOW_DAYS) -> pd.DataFrame:
    """Per SKU: closing stock, average daily outbound in the month, days of cover, and slow movers
    (no outbound in the last `slow_days` days of ledger data up to the audit month's end)."""
    ctx = context(data, result)
    ledger = month_ledger(ctx)
    ledger = ledger[ledger["date"] < ctx.end]
    if ledger.empty:
        return pd.DataFrame(columns=["sku", "closing", "daily_out", "days_of_cover", "slow_mover"])
    outbound = (ledger["out_qty"].fillna(0) + ledger["gift_qty"].fillna(0)).astype("float64")
    month = ledger["in_month"]
    days = max(int(ledger.loc[month, "date"].nunique()), 1)
    daily_out = outbound[month].groupby(ledger.loc[month, "sku"]).sum() / days
    closing = ledger.drop_duplicates("sku", keep="last").set_index("sku")["closing_qty"].astype("float64")
    recent = ledger["date"] > ledger["date"].max() - pd.Timedelta(days=slow_days)
    moved = outbound[recent].groupby(ledger.loc[recent, "sku"]).sum()
    out = pd.DataFrame({"closing": closing, "daily_out": daily_out.reindex(closing.index).fillna(0).round(2)})
    out["days_of_cover"] = (out["closing"] / out["daily_out"].where(out["daily_out"] > 0)).round(1)
    out["slow_mover"] = moved.reindex(out.index).fillna(0) == 0
    return out.rename_axis("sku").reset_index()


def abc_tolerance(policy: Policy) -> dict[str, float]:
    return {**ABC_TOLERANCE, **(policy.abc_tolerance or {})}


def trend(months: dict[str, Data], until: str, policy: Policy, as_of=None) -> pd.DataFrame:
    """Accuracy and variance of each month's data given (month → data), in month order up to `until`."""
    from ...errors import OpskitError
    from ...runner import run_checks

    rows = []
    for month in sorted(m for m in months if m <= until):
        data = months[month]
        if "stock_counts" not in data or "stock_ledger" not in data:
            continue
        try:
            result = run_checks(data, month, as_of if month == until else None, policy, "STK")
        except OpskitError:
            continue  # a broken month is reported by its own review; the trend shows the others
        figures = accuracy(reconciliation(data, result, abc_tolerance(policy)))
        rows.append({"month": month, **figures})
    return pd.DataFrame(rows, columns=["month", *TREND_FIGURES])

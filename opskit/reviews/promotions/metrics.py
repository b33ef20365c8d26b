"""What a promotion did: sales in its window against a baseline, its cost, ROI, the dip after it,
and what happened to the other SKUs of its categories.

Sales are paid, not-refunded, non-gift order lines, dated by the order's `created_at`, across
channels. The baseline is the same-length window just before `start_at`; the weekday-adjusted
baseline prices each window day at the baseline's average for that kind of day (working day or
weekend), because weekends sell differently. Where the data cannot support a figure (the baseline
lies before the data, no cost price, the after-window has not ended), the figure is left blank and
`notes` says why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...loader import Data

SKU_SEPARATORS = r"[,，、;；\s]+"


def sales(parts: list[Data]) -> tuple[pd.DataFrame, tuple[pd.Timestamp, pd.Timestamp]]:
    """Sales lines from one or more months' data, with price data; and the span of days they cover."""
    orders = pd.concat([d["orders"] for d in parts if "orders" in d], ignore_index=True)
    lines = pd.concat([d["order_lines"] for d in parts if "order_lines" in d], ignore_index=True)
    orders = orders.drop_duplicates("order_id", keep="first").set_index("order_id")
    span = (
        (orders["created_at"].min().normalize(), orders["created_at"].max().normalize())
        if len(orders)
        else (pd.NaT, pd.NaT)
    )
    out = lines.join(orders[["created_at", "paid_at", "refunded_at", "channel"]], on="order_id")
    live = out["paid_at"].notna() & out["refunded_at"].isna()
    gift = out["is_gift"].fillna(False).astype(bool)
    products = parts[-1]["products"].drop_duplicates("sku").set_index("sku") if "products" in parts[-1] else None
    out["retail_price"] = out["sku"].map(products["retail_price"]).astype("float64") if products is not None else np.nan
    out["cost_price"] = out["sku"].map(products["cost_price"]).astype("float64") if products is not None else np.nan
    out["category"] = out["sku"].map(products["category"]) if products is not None else None
    out["day"] = out["created_at"].dt.normalize()
    out["units"] = out["qty"].astype("float64")
    out["revenue"] = out["unit_price"] * out["units"]
    return out[live & ~gift].reset_index(drop=True), span


def scope(promotion: pd.Series) -> list[str]:
    text = promotion.get("scope_skus")
    return (
        [s for s in pd.Series([text]).str.split(SKU_SEPARATORS, regex=True).iloc[0] if s]
        if isinstance(text, str)
        else []
    )


def _window(lines: pd.DataFrame, skus, start: pd.Timestamp, days: int) -> pd.DataFrame:
    return lines[lines["sku"].isin(skus) & (lines["day"] >= start) & (lines["day"] < start + pd.Timedelta(days=days))]


def _weekend(days: pd.DatetimeIndex) -> np.ndarray:
    return days.day_of_week >= 5


def weekday_adjusted(lines: pd.DataFrame, base_start: pd.Timestamp, start: pd.Timestamp, days: int) -> float:
    """Expected revenue over the window from the baseline's average per working day and per weekend day."""
    base_days = pd.date_range(base_start, periods=days, freq="D")
    per_day = lines.groupby("day")["revenue"].sum().reindex(base_days, fill_value=0.0)
    weekend = _weekend(base_days)
    overall = per_day.mean()
    avg_weekend = per_day[weekend].mean() if weekend.any() else overall
    avg_workday = per_day[~weekend].mean() if (~weekend).any() else overall
    window_days = pd.date_range(start, periods=days, freq="D")
    w = _weekend(window_days)
    return float(w.sum() * avg_weekend + (~w).sum() * avg_workday)


def effect(promotion: pd.Series, lines: pd.DataFrame, span: tuple, cost: float, as_of: pd.Timestamp) -> dict:
    """The effect figures of one promotion (see the module docstring)."""
    start = promotion["start_at"].normalize()
    days = int((promotion["end_at"].normalize() - start) / pd.Timedelta(days=1)) + 1
    skus = scope(promotion)
    notes = []
    window = _window(lines, skus, start, days)
    row = {
        "promo_id": promotion["promo_id"],
        "days": days,
        "revenue": round(window["revenue"].sum(), 2),
        "units": window["units"].sum(),
        "cost": round(cost, 2),
    }
    base_start = start - pd.Timedelta(days=days)
    has_baseline = pd.notna(span[0]) and base_start >= span[0]
    if has_baseline:
        base = _window(lines, skus, base_start, days)
        row["baseline_revenue"] = round(base["revenue"].sum(), 2)
        row["baseline_units"] = base["units"].sum()
        row["baseline_weekday_adjusted"] = round(
            weekday_adjusted(_window(lines, skus, base_start, days), base_start, start, days), 2
        )
        reference = row["baseline_weekday_adjusted"]
        row["incremental_revenue"] = round(row["revenue"] - reference, 2)
        row["uplift"] = round(row["incremental_revenue"] / reference, 4) if reference else np.nan
        if not reference:
            notes.append("no baseline sales: uplift undefined")
    else:
        notes.append(
            f"no baseline: the data starts {span[0]:%Y-%m-%d}, the baseline {base_start:%Y-%m-%d}"
            if pd.notna(span[0])
            else "no sales data"
        )
    prices = lines.drop_duplicates("sku").set_index("sku")
    unit_margin = (prices["retail_price"] - prices["cost_price"]).reindex(skus)
    if has_baseline and unit_margin.notna().all():
        base = _window(lines, skus, base_start, days)
        extra_units = window.groupby("sku")["units"].sum().sub(base.groupby("sku")["units"].sum(), fill_value=0)
        row["incremental_gross_margin"] = round(float((extra_units * unit_margin.reindex(extra_units.index)).sum()), 2)
        row["roi"] = round((row["incremental_gross_margin"] - cost) / cost, 4) if cost else np.nan
        if not cost:
            notes.append("no promotion cost: ROI undefined")
    elif has_baseline:
        notes.append("no cost price for some scope SKUs: ROI undefined")
    after_start = start + pd.Timedelta(days=days)
    if after_start + pd.Timedelta(days=days) <= min(as_of.normalize(), span[1] + pd.Timedelta(days=1)) and has_baseline:
        after = _window(lines, skus, after_start, days)["revenue"].sum()
        row["after_revenue"] = round(after, 2)
        row["dip_after"] = (
            round((after - row["baseline_revenue"]) / row["baseline_revenue"], 4) if row["baseline_revenue"] else np.nan
        )
    else:
        notes.append("the same-length window after the end is not complete in the data")
    categories = set(lines.loc[lines["sku"].isin(skus), "category"].dropna())
    others = lines[lines["category"].isin(categories) & ~lines["sku"].isin(skus)]
    if has_baseline and categories:
        now = _window(others, others["sku"].unique(), start, days)["revenue"].sum()
        before = _window(others, others["sku"].unique(), base_start, days)["revenue"].sum()
        row["other_skus_change"] = round((now - before) / before, 4) if before else np.nan
    row["notes"] = "; ".join(notes)
    return row


def daily_revenue(promotion: pd.Series, lines: pd.DataFrame) -> pd.DataFrame:
    """Scope-SKU revenue per day from the baseline's start to the after-window's end, with the phase of each day."""
    start = promotion["start_at"].normalize()
    days = int((promotion["end_at"].normalize() - start) / pd.Timedelta(days=1)) + 1
    span = pd.date_range(start - pd.Timedelta(days=days), periods=3 * days, freq="D")
    skus = scope(promotion)
    per_day = lines[lines["sku"].isin(skus)].groupby("day")["revenue"].sum().reindex(span, fill_value=0.0)
    phase = np.select([span < start, span < start + pd.Timedelta(days=days)], ["baseline", "window"], "after")
    return pd.DataFrame({"day": span, "revenue": per_day.to_numpy(), "phase": phase})

"""Stock rules STK-001..STK-009 (seed 004 库存管理, 仓库管理, 进货管理).

Book quantity is the ledger (电商台帐表) `closing_qty` of the SKU on a date; a date without a
ledger row means a book of 0, as the spec says. Roll-forward and continuity use grouped shifts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import Notice
from ...rule import Context, Measurement, deadline, rule

COUNTER_SEPARATORS = r"[,，、/;；\s]+"


def month_ledger(ctx: Context) -> pd.DataFrame:
    """The whole ledger (for previous rows), one row per SKU and date, with a flag for month `M`."""

    def make() -> pd.DataFrame:
        ledger = ctx.data["stock_ledger"]
        repeated = ledger.duplicated(["sku", "date"], keep="first")
        if repeated.any():
            ctx.notice(Notice("ledger_repeats", file=ctx.data.files["stock_ledger"], count=int(repeated.sum())))
        ledger = ledger[~repeated]
        prior = ctx.data.prior.get("stock_ledger")
        if prior is not None and len(prior):  # the month before, from a data root: its last row per SKU
            last = (
                prior[prior["date"] < ctx.start].sort_values("date", kind="stable").drop_duplicates("sku", keep="last")
            )
            known = pd.MultiIndex.from_frame(ledger[["sku", "date"]])
            last = last[~pd.MultiIndex.from_frame(last[["sku", "date"]]).isin(known)]
            ledger = pd.concat([last.assign(_prior=True), ledger.assign(_prior=False)], ignore_index=True)
        ledger = ledger.sort_values(["sku", "date"], kind="stable")
        return ledger.assign(in_month=ctx.in_month(ledger["date"]))

    return ctx.cached("ledger", make)


def book(ctx: Context, sku: pd.Series, date: pd.Series) -> pd.Series:
    """Ledger closing quantity of each (sku, date); 0 where the ledger has no such row."""
    ledger = month_ledger(ctx).set_index(["sku", "date"])["closing_qty"]
    keys = pd.MultiIndex.from_arrays([sku, date])
    return pd.Series(ledger.reindex(keys).to_numpy(), index=sku.index).astype("float64").fillna(0.0)


def month_counts(ctx: Context) -> pd.DataFrame:
    counts = ctx.data["stock_counts"]
    return counts[ctx.in_month(counts["count_date"])]


def variances(ctx: Context) -> pd.DataFrame:
    """Each SKU's latest first count in `M` against the book, with its tolerance (STK-003..005)."""

    def make() -> pd.DataFrame:
        first = month_counts(ctx)
        first = first[~first["is_recount"].fillna(False)].sort_values(["count_date", "_row"], kind="stable")
        latest = first.drop_duplicates("sku", keep="last").copy()
        latest["book"] = book(ctx, latest["sku"], latest["count_date"])
        latest["diff"] = latest["counted_qty"].astype("float64") - latest["book"]
        latest["tolerance"] = ctx.policy["STK-003"].limit
        latest["variance"] = latest["diff"].abs() > latest["tolerance"]
        return latest

    return ctx.cached("variances", make)


def recounts(ctx: Context) -> pd.DataFrame:
    """For each variance: its first and latest recount dated on or after the count's day."""

    def make() -> pd.DataFrame:
        var = variances(ctx)
        var = var[var["variance"]]
        counts = ctx.data["stock_counts"]
        again = counts.loc[counts["is_recount"].fillna(False), ["sku", "count_date", "counted_qty"]]
        again.columns = ["sku", "count_date_re", "counted_qty_re"]
        pairs = var[["sku", "count_date"]].reset_index().merge(again, on="sku")
        pairs = pairs[pairs["count_date_re"] >= pairs["count_date"]].sort_values("count_date_re", kind="stable")
        grouped = pairs.groupby("index")
        out = var.copy()
        out["first_recount"] = grouped["count_date_re"].min()
        last = pairs.drop_duplicates("index", keep="last").set_index("index")
        out["last_recount"] = last["count_date_re"]
        out["last_recount_qty"] = last["counted_qty_re"].astype("float64")
        return out

    return ctx.cached("recounts", make)


def _no_row(frame: pd.DataFrame) -> pd.DataFrame:
    """Items that are not a row of any file (a month, a day, a SKU total) have no source row."""
    return frame.assign(_row=pd.array([pd.NA] * len(frame), dtype="Int64"))


@rule("STK-001", "stock_counts", params={"month": "text"})
def counted_on_the_30th(ctx: Context) -> Measurement:
    """The month's count (not a recount) is dated on the 30th, the last day in a shorter month (004 库存管理 2).

    Scope: first counts dated in the month; no count at all is one finding keyed by the month.
    Clock: calendar day of month.
    Spec choice: a month without a count is pending until its due day has begun."""
    rp = ctx.policy["STK-001"]
    day = float(min(rp.limit, ctx.month.days_in_month))
    counts = month_counts(ctx)
    first = counts[~counts["is_recount"].fillna(False)].drop_duplicates("count_id", keep="first")
    if first.empty:
        due = ctx.month.start_time + pd.Timedelta(days=day)
        month = _no_row(pd.DataFrame(index=[0]))
        return Measurement(
            month,
            key=str(ctx.month),
            message="no_count",
            dataset="stock_counts",
            limit=day,
            breached=pd.Series(True, index=month.index),
            pending=ctx.as_of < due,
            params={"month": str(ctx.month)},
        )
    return Measurement(
        first,
        key="count_id",
        message="wrong_day",
        dataset="stock_counts",
        observed=first["count_date"].dt.day,
        limit=day,
        when="count_date",
    )


@rule("STK-002", "stock_counts", params={"counters": "text"})
def two_counters(ctx: Context) -> Measurement:
    """At least the limit of distinct counters on each count of the month, recounts included (004 库存管理 2).

    Scope: the month's counts by count_id.
    Clock: none.
    Spec choice: names are split on , ， 、 / ; and spaces; the same name twice counts once."""
    counts = month_counts(ctx)
    names = counts["counters"].fillna("").str.split(COUNTER_SEPARATORS, regex=True).explode().str.strip()
    names = names[names != ""]
    people = names.groupby(counts.loc[names.index, "count_id"]).nunique()
    first = counts.drop_duplicates("count_id", keep="first").set_index("count_id", drop=False)
    return Measurement(
        first,
        key="count_id",
        message="too_few",
        dataset="stock_counts",
        observed=people.reindex(first.index).fillna(0),
        limit=ctx.policy["STK-002"].limit,
        params={"counters": "counters"},
        when="count_date",
    )


@rule("STK-003", "stock_counts", "stock_ledger", params={"counted": "qty", "book": "qty", "date": "date"})
def count_matches_book(ctx: Context) -> Measurement:
    """The SKU's latest first count equals the ledger closing_qty of that day (004 库存管理 3).

    Scope: SKUs counted in the month (first counts, not recounts).
    Clock: none.
    Spec choice: no ledger row on the count date means book 0; beyond the tolerance is a variance."""
    var = variances(ctx)
    return Measurement(
        var,
        key="sku",
        message=pd.Series(np.where(var["diff"] < 0, "shortage", "surplus"), index=var.index),
        dataset="stock_counts",
        observed=var["diff"],
        limit=var["tolerance"],
        params={"counted": "counted_qty", "book": "book", "date": "count_date"},
        when="count_date",
    )


@rule("STK-004", "stock_counts", "stock_ledger")
def variance_recounted(ctx: Context) -> Measurement:
    """Every STK-003 variance is recounted within the limit (004 库存管理 3).

    Scope: SKUs with an STK-003 variance; the event is the first recount on or after the count's day.
    Clock: calendar days.
    Spec choice: no recount is pending until as_of is past the limit; a later recount is late."""
    return deadline(ctx, "STK-004", recounts(ctx), "count_date", "first_recount", key="sku", dataset="stock_counts")


@rule(
    "STK-005",
    "stock_counts",
    "stock_ledger",
    params={"recount": "qty", "book": "qty", "date": "date", "retail": "money", "amount": "money"},
)
def shortage_charged(ctx: Context) -> Measurement:
    """A shortage confirmed by the latest recount is charged at retail (004 库存管理 3).

    Scope: recounted SKUs whose recount is below the ledger closing_qty of the recount's date.
    Clock: none.
    Spec choice: observed is the short quantity, amount = short quantity × retail price."""
    rc = recounts(ctx)
    done = rc[rc["last_recount"].notna()].copy()
    done["book_then"] = book(ctx, done["sku"], done["last_recount"])
    short = done["book_then"] - done["last_recount_qty"]
    if ctx.has("products"):
        retail = (
            done["sku"]
            .map(ctx.data["products"].drop_duplicates("sku").set_index("sku")["retail_price"])
            .astype("float64")
        )
    else:
        ctx.notice(Notice("shortages_unvalued"))
        retail = pd.Series(np.nan, index=done.index)
    amount = short * retail
    return Measurement(
        done,
        key="sku",
        message="shortage",
        dataset="stock_counts",
        observed=short,
        limit=ctx.policy["STK-005"].limit,
        amount=amount,
        params={
            "recount": "last_recount_qty",
            "book": "book_then",
            "date": "last_recount",
            "retail": retail,
            "amount": amount,
        },
        when="last_recount",
    )


@rule("STK-006", "stock_ledger", columns={"stock_ledger": ()}, params={"date": "date"})
def ledger_every_day(ctx: Context) -> Measurement:
    """The ledger has rows for every day of the month that has ended by as_of (004 库存管理 1).

    Scope: the month's days up to as_of.
    Clock: calendar days.
    Spec choice: one finding per missing day, keyed by the date."""
    days = pd.date_range(ctx.start, ctx.end - pd.Timedelta(days=1), freq="D")
    present = pd.DatetimeIndex(month_ledger(ctx)["date"].unique())
    frame = _no_row(pd.DataFrame({"date": days}))
    return Measurement(
        frame,
        key=frame["date"].dt.strftime("%Y-%m-%d"),
        message="missing_day",
        dataset="stock_ledger",
        breached=~frame["date"].isin(present),
        pending=frame["date"] + pd.Timedelta(days=1) > ctx.as_of,
        params={"date": "date"},
        when="date",
    )


def _sku_date(frame: pd.DataFrame) -> pd.Series:
    return frame["sku"] + "/" + frame["date"].dt.strftime("%Y-%m-%d")


@rule(
    "STK-007",
    "stock_ledger",
    columns={"stock_ledger": ("in_qty", "out_qty", "gift_qty", "return_qty")},
    params={"closing": "qty", "expected": "qty", "opening": "qty", "previous": "qty", "previous_date": "date"},
)
def rolls_forward(ctx: Context) -> Measurement:
    """Each ledger row rolls forward (004 仓库管理 5–6).

    closing = opening + in + return − out − gift, and opening = the previous row's closing.

    Scope: the month's ledger rows; the carry is checked where the data has the SKU's previous row.
    Clock: none.
    Spec choice: one finding per row; with both breaks, observed is the arithmetic difference."""
    rp = ctx.policy["STK-007"]
    ledger = month_ledger(ctx)
    q = {
        c: ledger[c].astype("float64").fillna(0.0)
        for c in ("opening_qty", "in_qty", "return_qty", "out_qty", "gift_qty", "closing_qty")
    }
    expected = q["opening_qty"] + q["in_qty"] + q["return_qty"] - q["out_qty"] - q["gift_qty"]
    arith = q["closing_qty"] - expected
    previous = q["closing_qty"].groupby(ledger["sku"]).shift(1)
    carry = (q["opening_qty"] - previous).fillna(0.0)
    broken_a, broken_c = arith.abs() > rp.limit, carry.abs() > rp.limit
    scope = ledger[ledger["in_month"]]
    message = np.select([broken_a & broken_c, broken_a], ["both", "arithmetic"], "carry")
    return Measurement(
        scope,
        key=_sku_date(scope),
        message=pd.Series(message, index=ledger.index),
        dataset="stock_ledger",
        observed=arith.where(broken_a, carry),
        limit=rp.limit,
        params={
            "closing": q["closing_qty"],
            "expected": expected,
            "opening": q["opening_qty"],
            "previous": previous,
            "previous_date": ledger["date"].groupby(ledger["sku"]).shift(1),
        },
        when="date",
    )


@rule("STK-008", "stock_ledger", "finance_writeoffs", params={"ledger": "qty", "finance": "qty"})
def purchases_written_off(ctx: Context) -> Measurement:
    """The month's ledger in_qty of a SKU equals finance's purchase write-off (004 进货管理 3).

    Scope: SKUs on either side in the month; a SKU on one side only counts 0 on the other.
    Clock: none.
    Spec choice: observed is the difference ledger − finance."""
    ledger = month_ledger(ctx)
    ledger = ledger[ledger["in_month"]]
    received = ledger["in_qty"].astype("float64").fillna(0).groupby(ledger["sku"]).sum()
    wo = ctx.data["finance_writeoffs"]
    wo = wo[(wo["kind"] == "purchase") & (wo["month"] == str(ctx.month))]
    written = wo["qty"].astype("float64").groupby(wo["sku"]).sum()
    both = pd.concat([received.rename("ledger"), written.rename("finance")], axis=1).fillna(0.0)
    both = _no_row(both[(both["ledger"] != 0) | (both["finance"] != 0)])
    return Measurement(
        both,
        key=pd.Series(both.index, index=both.index),
        message="mismatch",
        dataset="stock_ledger",
        observed=both["ledger"] - both["finance"],
        limit=ctx.policy["STK-008"].limit,
        params={"ledger": "ledger", "finance": "finance"},
    )


@rule("STK-009", "stock_ledger", columns={"stock_ledger": ()})
def no_negative_stock(ctx: Context) -> Measurement:
    """No negative closing_qty in the ledger (004 仓库管理 5).

    Scope: the month's ledger rows.
    Clock: none.
    Spec choice: one finding per SKU and day."""
    ledger = month_ledger(ctx)
    scope = ledger[ledger["in_month"]]
    return Measurement(
        scope,
        key=_sku_date(scope),
        message="negative",
        dataset="stock_ledger",
        observed=scope["closing_qty"],
        limit=0.0,
        when="date",
    )

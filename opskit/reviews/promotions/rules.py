"""Promotion rules PRM-001..PRM-008 (seed 001 第五节, 003 二(五), 004 出货管理 5–6).

A promotion belongs to the month of its `start_at`. Its lines are the order lines carrying its
`promo_id`, on each order's first occurrence, whatever month the order was created in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...rule import Context, Outcome, findings, measure, num, rule

SKU_SEPARATORS = r"[,，、;；\s]+"


def month_promotions(ctx: Context) -> pd.DataFrame:
    def make() -> pd.DataFrame:
        promos = ctx.data["promotions"].drop_duplicates("promo_id", keep="first")
        return promos[ctx.in_month(promos["start_at"])]

    return ctx.cached("promotions", make)


def promo_lines(ctx: Context) -> pd.DataFrame:
    """Lines of the month's promotions with their order's payment, shipment, refund and retail price."""

    def make() -> pd.DataFrame:
        lines = ctx.data["order_lines"]
        lines = lines[lines["promo_id"].isin(month_promotions(ctx)["promo_id"])]
        orders = ctx.data["orders"].drop_duplicates("order_id", keep="first")
        orders = orders.set_index("order_id")[["paid_at", "shipped_at", "refunded_at"]]
        out = lines.join(orders, on="order_id")
        if ctx.has("products"):
            retail = ctx.data["products"].drop_duplicates("sku").set_index("sku")["retail_price"]
            out["retail_price"] = out["sku"].map(retail).astype("float64")
        gift = out["is_gift"].fillna(False).astype(bool)
        qty = out["qty"].astype("float64")
        live = out["refunded_at"].isna()
        out["discount_cost"] = ((out.get("retail_price") - out["unit_price"]) * qty).where(~gift & live, 0.0)
        out["gift_cost"] = (out.get("retail_price") * qty).where(gift & live, 0.0)
        out["revenue"] = (out["unit_price"] * qty).where(~gift & live & out["paid_at"].notna(), 0.0)
        out["gift"] = gift
        return out

    return ctx.cached("promo_lines", make)


def _ended(ctx: Context, promos: pd.DataFrame) -> pd.Series:
    return promos["end_at"] <= ctx.as_of


def _before_start(ctx: Context, promos: pd.DataFrame, missing: pd.Series) -> pd.Series:
    """Missing approvals are pending until the promotion starts, then a finding."""
    return missing & (ctx.as_of < promos["start_at"])


def _plan_outcome(
    promos: pd.DataFrame,
    bad: pd.Series,
    message: pd.Series | np.ndarray,
    *,
    observed: pd.Series | float = np.nan,
    limit: float | None = None,
    pending: pd.Series | None = None,
) -> Outcome:
    """The outcome of a plan-governance rule (PRM-001..004): one row per promotion, dated by its start."""
    pending = pd.Series(False, index=promos.index) if pending is None else pending
    return Outcome(
        checked=int((~pending).sum()),
        pending=int(pending.sum()),
        findings=findings(
            promos[bad],
            key="promo_id",
            observed=observed,
            limit=limit,
            message=pd.Series(message, index=promos.index),
            dataset="promotions",
            channel="channel",
            when=promos["start_at"],
        ),
    )


@rule("PRM-001", "promotions")
def plan_lead_time(ctx: Context) -> Outcome:
    """Promotion plan submitted at least the limit before the start (001 第五节 2).

    Scope: promotions starting in the month.
    Clock: calendar days.
    Spec choice: a plan never submitted is pending until as_of reaches the start minus the limit."""
    rp = ctx.policy["PRM-001"]
    promos = month_promotions(ctx)
    lead = (promos["start_at"] - promos["plan_submitted_at"]) / rp.step
    deadline = promos["start_at"] - rp.limit * rp.step
    missing = promos["plan_submitted_at"].isna()
    pending = missing & (ctx.as_of <= deadline)
    bad = (lead < rp.limit) | (missing & ~pending)
    message = np.where(
        missing,
        "no plan submitted; due " + deadline.dt.strftime("%Y-%m-%d %H:%M"),
        "plan submitted " + num(lead) + f" days before the start (needs {num(pd.Series([rp.limit]))[0]})",
    )
    return _plan_outcome(promos, bad, message, observed=lead, limit=rp.limit, pending=pending)


@rule("PRM-002", "promotions")
def manager_approval(ctx: Context) -> Outcome:
    """Approved by the department manager: not after the start, not before the plan (001 第五节 1–2).

    Scope: promotions starting in the month.
    Clock: none.
    Spec choice: a missing approval is pending while as_of is before the start, a finding after it."""
    promos = month_promotions(ctx)
    missing = promos["approved_at"].isna()
    pending = _before_start(ctx, promos, missing)
    late = promos["approved_at"] > promos["start_at"]
    early = promos["approved_at"] < promos["plan_submitted_at"]
    bad = (missing & ~pending) | late | early
    message = np.select(
        [missing, late],
        [
            "no manager approval recorded",
            "approved " + promos["approved_at"].dt.strftime("%Y-%m-%d %H:%M").fillna("") + ", after the start",
        ],
        "approved before the plan was submitted",
    )
    return _plan_outcome(promos, bad, message, pending=pending)


@rule("PRM-003", "promotions")
def departments_confirmed(ctx: Context) -> Outcome:
    """Confirmed by sales-ops and marketing, both not after the start (004 出货管理 5).

    Scope: promotions starting in the month.
    Clock: none.
    Spec choice: a missing confirmation is pending while as_of is before the start."""
    promos = month_promotions(ctx)
    text = pd.Series("", index=promos.index)
    missing_any = pd.Series(False, index=promos.index)
    late_any = pd.Series(False, index=promos.index)
    for column, who in (("confirmed_salesops_at", "sales-ops"), ("confirmed_marketing_at", "marketing")):
        missing, late = promos[column].isna(), promos[column] > promos["start_at"]
        text = (
            text
            + np.where(missing, f"no {who} confirmation; ", "")
            + np.where(late, f"{who} confirmed after the start; ", "")
        )
        missing_any, late_any = missing_any | missing, late_any | late
    pending = _before_start(ctx, promos, missing_any) & ~late_any
    bad = (missing_any | late_any) & ~pending
    return _plan_outcome(promos, bad, text.str.rstrip("; "), pending=pending)


@rule("PRM-004", "promotions")
def plan_complete(ctx: Context) -> Outcome:
    """Plan complete: goal, channels and scope SKUs present and a budget above 0 (001 第五节 2, 003 二(五) 1).

    Scope: promotions starting in the month.
    Clock: none.
    Spec choice: observed is the number of missing parts."""
    promos = month_promotions(ctx)
    gaps = {
        "goal": promos["goal"].isna(),
        "channels": promos["channels"].isna(),
        "scope_skus": promos["scope_skus"].isna(),
        "budget": ~(promos["budget"] > 0),
    }
    count = sum(m.astype("int64") for m in gaps.values())
    text = pd.Series("plan lacks: ", index=promos.index)
    for name, mask in gaps.items():
        text = text + np.where(mask, name + ", ", "")
    bad = count > 0
    return _plan_outcome(promos, bad, text.str.rstrip(", "), observed=count, limit=0.0)


@rule("PRM-005", "promotions")
def review_submitted(ctx: Context) -> Outcome:
    """Post-activity review submitted within the limit after the end (003 二(五) 5).

    Scope: promotions of the month that have ended by as_of.
    Clock: calendar days.
    Spec choice: no review recorded is pending until as_of is past the limit."""
    rp = ctx.policy["PRM-005"]
    promos = month_promotions(ctx)
    items = promos[_ended(ctx, promos)]
    d = measure(ctx, rp, items["end_at"], items["review_submitted_at"])
    bad = items[d.breached]
    obs, lim = num(d.observed[d.breached]), num(d.limit[d.breached])
    message = np.where(
        d.recorded[d.breached],
        "review submitted " + obs + " days after the end (limit " + lim + ")",
        "no review by as_of, " + obs + " days after the end (limit " + lim + ")",
    )
    return Outcome(
        checked=int((~d.pending).sum()),
        pending=int(d.pending.sum()) + int((~_ended(ctx, promos)).sum()),
        findings=findings(
            bad,
            key="promo_id",
            observed=d.observed,
            limit=d.limit,
            message=pd.Series(message, index=bad.index),
            dataset="promotions",
            channel="channel",
            when=bad["end_at"],
            open=~d.recorded,
        ),
    )


@rule("PRM-006", "promotions", "order_lines", "orders", "finance_writeoffs")
def gifts_written_off(ctx: Context) -> Outcome:
    """Gift quantity shipped equals the gift quantity finance wrote off, per promotion and SKU (004 出货管理 6).

    Scope: gift lines of the month's promotions on shipped orders, refunded or not.
    Clock: none.
    Spec choice: all of the promotion's gift write-offs count, whatever month finance booked them in."""
    rp = ctx.policy["PRM-006"]
    lines = promo_lines(ctx)
    shipped = lines[lines["gift"] & lines["shipped_at"].notna()]
    out = shipped["qty"].astype("float64").groupby([shipped["promo_id"], shipped["sku"]]).sum()
    wo = ctx.data["finance_writeoffs"]
    wo = wo[(wo["kind"] == "gift") & wo["promo_id"].isin(month_promotions(ctx)["promo_id"])]
    written = wo["qty"].astype("float64").groupby([wo["promo_id"], wo["sku"]]).sum()
    both = pd.concat([out.rename("shipped"), written.rename("written")], axis=1).fillna(0.0)
    diff = both["shipped"] - both["written"]
    bad = both[diff.abs() > rp.limit].reset_index()
    bad.columns = ["promo_id", "sku", "shipped", "written"]
    bad["_row"] = pd.array([pd.NA] * len(bad), dtype="Int64")
    bad["diff"] = bad["shipped"] - bad["written"]
    message = "gifts shipped " + num(bad["shipped"]) + ", written off by finance " + num(bad["written"])
    return Outcome(
        checked=len(both),
        findings=findings(
            bad,
            key=bad["promo_id"] + "/" + bad["sku"],
            observed=bad["diff"],
            limit=rp.limit,
            message=message,
            dataset="promotions",
        ),
    )


def _per_promo(ctx: Context, column: str) -> pd.Series:
    lines = promo_lines(ctx)
    return lines[column].groupby(lines["promo_id"]).sum()


@rule("PRM-007", "promotions", "order_lines", "orders", "products")
def cost_within_budget(ctx: Context) -> Outcome:
    """Promotion cost within budget (003 二(五) 2).

    Scope: the month's promotions; cost = discount below retail on non-gift lines + gifts at retail,
    on orders not refunded.
    Clock: none.
    Spec choice: observed is the cost, limit the budget."""
    promos = month_promotions(ctx)
    items = promos[promos["budget"].notna()]
    cost = items["promo_id"].map(_per_promo(ctx, "discount_cost") + _per_promo(ctx, "gift_cost")).astype("float64")
    cost = cost.fillna(0.0)
    bad = items[cost > items["budget"]]
    message = "cost " + num(cost[bad.index], 2) + " above budget " + num(bad["budget"], 2)
    return Outcome(
        checked=len(items),
        findings=findings(
            bad,
            key="promo_id",
            observed=cost,
            limit=items["budget"],
            message=message,
            amount=cost - items["budget"],
            dataset="promotions",
            channel="channel",
            when=bad["start_at"],
        ),
    )


@rule("PRM-008", "promotions", "order_lines", "orders")
def revenue_reaches_target(ctx: Context) -> Outcome:
    """Promotion revenue reaches target_sales (003 二(五) 4).

    Scope: the month's promotions that have ended by as_of; paid, not refunded, non-gift lines.
    Clock: none.
    Spec choice: running promotions are pending."""
    promos = month_promotions(ctx)
    with_target = promos[promos["target_sales"].notna()]
    ended = _ended(ctx, with_target)
    items = with_target[ended]
    revenue = items["promo_id"].map(_per_promo(ctx, "revenue")).astype("float64").fillna(0.0)
    bad = items[revenue < items["target_sales"]]
    message = "revenue " + num(revenue[bad.index], 2) + " below target " + num(bad["target_sales"], 2)
    return Outcome(
        checked=len(items),
        pending=int((~ended).sum()),
        findings=findings(
            bad,
            key="promo_id",
            observed=revenue,
            limit=items["target_sales"],
            message=message,
            amount=items["target_sales"] - revenue,
            dataset="promotions",
            channel="channel",
            when=bad["start_at"],
        ),
    )

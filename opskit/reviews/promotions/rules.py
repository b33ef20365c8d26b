"""Promotion rules PRM-001..PRM-008 (seed 001 第五节, 003 二(五), 004 出货管理 5–6).

A promotion belongs to the month of its `start_at`. Its lines are the order lines carrying its
`promo_id`, on each order's first occurrence, whatever month the order was created in.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ...rule import Context, Measurement, deadline, rule

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


def _plan(promos: pd.DataFrame, message: pd.Series | np.ndarray | str, **kw) -> Measurement:
    """A plan-governance measurement (PRM-001..004): one item per promotion, dated by its start."""
    if not isinstance(message, str):
        message = pd.Series(message, index=promos.index)
    return Measurement(
        promos, key="promo_id", message=message, dataset="promotions", channel="channel", when="start_at", **kw
    )


@rule("PRM-001", "promotions", params={"due": "time"})
def plan_lead_time(ctx: Context) -> Measurement:
    """Promotion plan submitted at least the limit before the start (001 第五节 2).

    Scope: promotions starting in the month.
    Clock: calendar days.
    Spec choice: a plan never submitted is pending until as_of reaches the start minus the limit."""
    rp = ctx.policy["PRM-001"]
    promos = month_promotions(ctx)
    deadline_at = promos["start_at"] - rp.limit * rp.step
    missing = promos["plan_submitted_at"].isna()
    pending = missing & (ctx.as_of <= deadline_at)
    return _plan(
        promos,
        np.where(missing, "missing", "late"),
        observed=(promos["start_at"] - promos["plan_submitted_at"]) / rp.step,
        limit=rp.limit,
        breached=missing,
        pending=pending,
        params={"due": deadline_at},
    )


@rule("PRM-002", "promotions", params={"approved": "time"})
def manager_approval(ctx: Context) -> Measurement:
    """Approved by the department manager: not after the start, not before the plan (001 第五节 1–2).

    Scope: promotions starting in the month.
    Clock: none.
    Spec choice: a missing approval is pending while as_of is before the start, a finding after it."""
    promos = month_promotions(ctx)
    missing = promos["approved_at"].isna()
    late = promos["approved_at"] > promos["start_at"]
    early = promos["approved_at"] < promos["plan_submitted_at"]
    return _plan(
        promos,
        np.select([missing, late], ["missing", "late"], "early"),
        breached=missing | late | early,
        pending=_before_start(ctx, promos, missing),
        params={"approved": "approved_at"},
    )


CONFIRMATIONS = (("confirmed_salesops_at", "salesops"), ("confirmed_marketing_at", "marketing"))


@rule("PRM-003", "promotions", params={"problems": "codes:confirmations"})
def departments_confirmed(ctx: Context) -> Measurement:
    """Confirmed by sales-ops and marketing, both not after the start (004 出货管理 5).

    Scope: promotions starting in the month.
    Clock: none.
    Spec choice: a missing confirmation is pending while as_of is before the start."""
    promos = month_promotions(ctx)
    problems = pd.Series("", index=promos.index)
    missing_any = pd.Series(False, index=promos.index)
    late_any = pd.Series(False, index=promos.index)
    for column, who in CONFIRMATIONS:
        missing, late = promos[column].isna(), promos[column] > promos["start_at"]
        problems = problems + np.where(missing, f"no_{who},", "") + np.where(late, f"{who}_late,", "")
        missing_any, late_any = missing_any | missing, late_any | late
    return _plan(
        promos,
        "unconfirmed",
        breached=missing_any | late_any,
        pending=_before_start(ctx, promos, missing_any) & ~late_any,
        params={"problems": problems},
    )


PLAN_FIELDS = ("goal", "channels", "scope_skus")


@rule("PRM-004", "promotions", params={"gaps": "codes:plan_fields"})
def plan_complete(ctx: Context) -> Measurement:
    """Plan complete: goal, channels and scope SKUs present and a budget above 0 (001 第五节 2, 003 二(五) 1).

    Scope: promotions starting in the month.
    Clock: none.
    Spec choice: observed is the number of missing parts."""
    promos = month_promotions(ctx)
    gaps = {name: promos[name].isna() for name in PLAN_FIELDS} | {"budget": ~(promos["budget"] > 0)}
    codes = pd.Series("", index=promos.index)
    for name, mask in gaps.items():
        codes = codes + np.where(mask, name + ",", "")
    return _plan(
        promos,
        "incomplete",
        observed=sum(m.astype("int64") for m in gaps.values()),
        limit=ctx.policy["PRM-004"].limit,
        params={"gaps": codes},
    )


@rule("PRM-005", "promotions")
def review_submitted(ctx: Context) -> Measurement:
    """Post-activity review submitted within the limit after the end (003 二(五) 5).

    Scope: promotions of the month that have ended by as_of.
    Clock: calendar days.
    Spec choice: no review recorded is pending until as_of is past the limit."""
    promos = month_promotions(ctx)
    ended = _ended(ctx, promos)
    d = deadline(
        ctx,
        "PRM-005",
        promos,
        "end_at",
        "review_submitted_at",
        key="promo_id",
        dataset="promotions",
        channel="channel",
        scope=ended,
    )
    running = promos[~ended]
    items = pd.concat([d.items, running])
    return replace(d, items=items, pending=d.pending.reindex(items.index, fill_value=True))


@rule(
    "PRM-006", "promotions", "order_lines", "orders", "finance_writeoffs", params={"shipped": "qty", "written": "qty"}
)
def gifts_written_off(ctx: Context) -> Measurement:
    """Gift quantity shipped equals the gift quantity finance wrote off, per promotion and SKU (004 出货管理 6).

    Scope: gift lines of the month's promotions on shipped orders, refunded or not.
    Clock: none.
    Spec choice: all of the promotion's gift write-offs count, whatever month finance booked them in."""
    lines = promo_lines(ctx)
    shipped = lines[lines["gift"] & lines["shipped_at"].notna()]
    out = shipped["qty"].astype("float64").groupby([shipped["promo_id"], shipped["sku"]]).sum()
    wo = ctx.data["finance_writeoffs"]
    wo = wo[(wo["kind"] == "gift") & wo["promo_id"].isin(month_promotions(ctx)["promo_id"])]
    written = wo["qty"].astype("float64").groupby([wo["promo_id"], wo["sku"]]).sum()
    both = pd.concat([out.rename("shipped"), written.rename("written")], axis=1).fillna(0.0).reset_index()
    both.columns = ["promo_id", "sku", "shipped", "written"]
    both["_row"] = pd.array([pd.NA] * len(both), dtype="Int64")
    return Measurement(
        both,
        key=both["promo_id"] + "/" + both["sku"],
        message="mismatch",
        dataset="promotions",
        observed=both["shipped"] - both["written"],
        limit=ctx.policy["PRM-006"].limit,
        params={"shipped": "shipped", "written": "written"},
    )


def _per_promo(ctx: Context, column: str) -> pd.Series:
    lines = promo_lines(ctx)
    return lines[column].groupby(lines["promo_id"]).sum()


@rule("PRM-007", "promotions", "order_lines", "orders", "products")
def cost_within_budget(ctx: Context) -> Measurement:
    """Promotion cost within budget (003 二(五) 2).

    Scope: the month's promotions; cost = discount below retail on non-gift lines + gifts at retail,
    on orders not refunded.
    Clock: none.
    Spec choice: observed is the cost, limit the budget."""
    promos = month_promotions(ctx)
    items = promos[promos["budget"].notna()]
    cost = items["promo_id"].map(_per_promo(ctx, "discount_cost") + _per_promo(ctx, "gift_cost")).astype("float64")
    cost = cost.fillna(0.0)
    return Measurement(
        items,
        key="promo_id",
        message="over_budget",
        dataset="promotions",
        observed=cost,
        limit=items["budget"],
        amount=cost - items["budget"],
        channel="channel",
        when="start_at",
    )


@rule("PRM-008", "promotions", "order_lines", "orders")
def revenue_reaches_target(ctx: Context) -> Measurement:
    """Promotion revenue reaches target_sales (003 二(五) 4).

    Scope: the month's promotions that have ended by as_of; paid, not refunded, non-gift lines.
    Clock: none.
    Spec choice: running promotions are pending."""
    promos = month_promotions(ctx)
    items = promos[promos["target_sales"].notna()]
    revenue = items["promo_id"].map(_per_promo(ctx, "revenue")).astype("float64").fillna(0.0)
    return Measurement(
        items,
        key="promo_id",
        message="below_target",
        dataset="promotions",
        observed=revenue,
        limit=items["target_sales"],
        pending=~_ended(ctx, items),
        amount=items["target_sales"] - revenue,
        channel="channel",
        when="start_at",
    )

"""Order rules ORD-001..ORD-010 (seed 002 七, 004 出货管理 / 客户管理 / 资金管理, 003 二(四)).

Every rule looks at the month's orders by `created_at`, first occurrence of each `order_id`
(a changed order is ORD-010's business; the others use what was first recorded).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...rule import Context, Outcome, duration_rule, findings, num, rule

SIGN_OFFS = ["sign_ecommerce", "sign_marketing", "sign_salesops"]
VERSION_FIELDS = ["customer_id", "amount", "created_at"]


def month_orders(ctx: Context) -> pd.DataFrame:
    return ctx.first_in_month("orders", "order_id", "created_at", " (changes are ORD-010)")


def _accounts(values: pd.Series) -> pd.Series:
    """Pay accounts compared without the spaces and dashes people type into them."""
    return values.str.replace(r"[\s\-]", "", regex=True).str.upper()


def registration(ctx: Context) -> pd.DataFrame:
    """Orders of registered-customer channels joined to the customer file (ORD-006..008)."""

    def make() -> pd.DataFrame:
        channels = ctx.policy["ORD-006"].param("channels")
        orders = month_orders(ctx)
        scoped = orders[orders["channel"].isin(channels)]
        customers = ctx.data["customers"].drop_duplicates("customer_id", keep="first")
        reg = customers[["customer_id", "registered_at", "pay_account"]].rename(
            columns={"pay_account": "registered_account"}
        )
        joined = scoped.reset_index().merge(reg, on="customer_id", how="left").set_index("index")
        joined["unknown"] = joined["customer_id"].isna() | joined["registered_at"].isna()
        joined["late"] = ~joined["unknown"] & (joined["registered_at"] > joined["created_at"])
        both = joined["pay_account"].notna() & joined["registered_account"].notna() & ~joined["unknown"]
        joined["account_checked"] = both
        joined["foreign_account"] = both & (_accounts(joined["pay_account"]) != _accounts(joined["registered_account"]))
        return joined

    return ctx.cached("registration", make)


@rule("ORD-001", "orders", columns={"orders": ("accepted_at", "contacted_at")})
def contact_after_acceptance(ctx: Context) -> Outcome:
    """Customer contacted within the limit after acceptance (002 七 2).

    Scope: the month's orders (by created_at, first occurrence of each order_id) with accepted_at.
    Clock: the rule's clock, calendar by default (`clock: business` counts service hours only).
    Spec choice: an order never contacted is pending until as_of is past the limit, then a finding."""
    return duration_rule(
        ctx,
        "ORD-001",
        month_orders(ctx),
        "accepted_at",
        "contacted_at",
        key="order_id",
        event="contacted",
        after="acceptance",
        dataset="orders",
    )


@rule("ORD-002", "orders", columns={"orders": ("confirmed_at", "handed_off_at")})
def hand_off_after_confirmation(ctx: Context) -> Outcome:
    """Handed off for tracking within the limit after confirmation (002 七 3).

    Scope: the month's orders with confirmed_at.
    Clock: the rule's clock, calendar by default.
    Spec choice: no hand-off recorded is pending until as_of is past the limit."""
    return duration_rule(
        ctx,
        "ORD-002",
        month_orders(ctx),
        "confirmed_at",
        "handed_off_at",
        key="order_id",
        event="handed off",
        after="confirmation",
        dataset="orders",
    )


@rule("ORD-003", "orders", columns={"orders": ("paid_at", "shipped_at", "refunded_at")})
def ship_after_payment(ctx: Context) -> Outcome:
    """Shipped within the limit after payment (004 出货管理 1).

    Scope: the month's paid orders; a refunded order never shipped is exempt.
    Clock: the rule's clock, calendar by default; `by_channel` sets a platform's own deadline.
    Spec choice: a duration equal to the limit complies; unshipped is pending until as_of passes the limit."""
    orders = month_orders(ctx)
    refunded_unshipped = orders["refunded_at"].notna() & orders["shipped_at"].isna()
    return duration_rule(
        ctx,
        "ORD-003",
        orders,
        "paid_at",
        "shipped_at",
        key="order_id",
        event="shipped",
        after="payment",
        dataset="orders",
        scope=~refunded_unshipped,
    )


@rule("ORD-004", "orders", columns={"orders": ("shipped_at", "special_case", *SIGN_OFFS)})
def dealer_sign_offs(ctx: Context) -> Outcome:
    """A shipped order of a sign-off channel carries the three sign-offs, two when special_case (004 出货管理 2).

    Scope: the month's shipped orders of `params.channels` (distributor by default).
    Clock: none (a count of signatures).
    Spec choice: a sign-off is any non-blank name; observed is the number present."""
    rp = ctx.policy["ORD-004"]
    orders = month_orders(ctx)
    scope = orders[orders["shipped_at"].notna() & orders["channel"].isin(rp.param("channels"))]
    signed = scope[SIGN_OFFS].notna().sum(axis=1)
    special = scope["special_case"].fillna(False).astype(bool)
    need = pd.Series(np.where(special, rp.param("special_case_limit"), rp.limit), index=scope.index)
    bad = scope[signed < need]
    missing = pd.Series("", index=bad.index)
    for column in SIGN_OFFS:
        missing = missing + np.where(bad[column].isna(), column.removeprefix("sign_") + " ", "")
    message = (
        num(signed[bad.index])
        + " of 3 sign-offs (needs "
        + num(need[bad.index])
        + np.where(special[bad.index], ", special case", "")
        + "); missing: "
        + missing.str.strip()
    )
    return Outcome(
        checked=len(scope),
        findings=findings(
            bad,
            key="order_id",
            observed=signed,
            limit=need,
            message=message,
            dataset="orders",
            channel="channel",
            when=scope["shipped_at"],
        ),
    )


@rule("ORD-005", "orders", columns={"orders": ("paid_at", "shipped_at")})
def paid_before_shipping(ctx: Context) -> Outcome:
    """Never shipped before payment (004 出货管理 2, 资金管理 2).

    Scope: the month's shipped orders.
    Clock: calendar hours between shipment and a later payment.
    Spec choice: observed is those hours, blank when the order was never paid."""
    orders = month_orders(ctx)
    scope = orders[orders["shipped_at"].notna()]
    late = (scope["paid_at"] - scope["shipped_at"]) / pd.Timedelta(hours=1)
    bad = scope[scope["paid_at"].isna() | (late > 0)]
    message = np.where(
        bad["paid_at"].isna(),
        "shipped but no payment recorded",
        "shipped " + num(late[bad.index]) + " h before payment",
    )
    return Outcome(
        checked=len(scope),
        findings=findings(
            bad,
            key="order_id",
            observed=late,
            limit=0.0,
            message=pd.Series(message, index=bad.index),
            dataset="orders",
            channel="channel",
            when=scope["shipped_at"],
        ),
    )


@rule("ORD-006", "orders", "customers")
def registered_customer(ctx: Context) -> Outcome:
    """The ordering customer is in the customer file, registered no later than the order (004 客户管理 1, 3).

    Scope: the month's orders of `params.channels` (distributor, wechat by default).
    Clock: none.
    Spec choice: observed is the hours registered after the order, blank when the customer is unknown."""
    scope = registration(ctx)
    reg = scope[scope["unknown"] | scope["late"]]
    late_h = (reg["registered_at"] - reg["created_at"]) / pd.Timedelta(hours=1)
    message = np.select(
        [reg["customer_id"].isna(), reg["unknown"]],
        ["no customer id on the order", "customer " + reg["customer_id"].fillna("") + " not in the customer file"],
        "customer registered " + num(late_h) + " h after the order",
    )
    return Outcome(
        checked=len(scope),
        findings=findings(
            reg,
            key="order_id",
            observed=late_h.where(reg["late"]),
            limit=None,
            message=pd.Series(message, index=reg.index),
            dataset="orders",
            channel="channel",
            when=reg["created_at"],
        ),
    )


@rule("ORD-007", "orders", "customers")
def registered_pay_account(ctx: Context) -> Outcome:
    """Paid from the registered pay account (004 客户管理 1).

    Scope: ORD-006's orders whose own and registered pay accounts are both given.
    Clock: none.
    Spec choice: accounts are compared without spaces and dashes, case-insensitively."""
    reg = registration(ctx)
    checked = reg[reg["account_checked"]]
    bad = checked[checked["foreign_account"]]
    message = "paid from account " + bad["pay_account"] + ", registered " + bad["registered_account"]
    return Outcome(
        checked=len(checked),
        findings=findings(
            bad,
            key="order_id",
            observed=np.nan,
            limit=None,
            message=message,
            dataset="orders",
            channel="channel",
            when=bad["created_at"],
        ),
    )


@rule("ORD-008", "orders", "customers", "order_lines", "products")
def retail_price_when_unregistered(ctx: Context) -> Outcome:
    """An order breaking ORD-006 or ORD-007 is charged retail (004 客户管理 1).

    Scope: the non-gift lines of those orders, priced against the product's retail_price.
    Clock: none.
    Spec choice: observed is the order's total shortfall below retail."""
    reg = registration(ctx)
    offenders = reg[reg["unknown"] | reg["late"] | reg["foreign_account"]]
    lines = ctx.data["order_lines"]
    lines = lines[lines["order_id"].isin(offenders["order_id"]) & ~lines["is_gift"].fillna(False)]
    retail = ctx.data["products"].drop_duplicates("sku").set_index("sku")["retail_price"]
    price = lines["sku"].map(retail).astype("float64")
    unpriced = price.isna()
    if unpriced.any():
        ctx.notice(
            f"ORD-008: {int(unpriced.sum())} order lines have SKUs without a retail price "
            f"in {ctx.data.files['products']} and were not valued"
        )
    gap = ((price - lines["unit_price"]).clip(lower=0) * lines["qty"].astype("float64")).fillna(0)
    shortfall = gap.groupby(lines["order_id"]).sum()
    short = offenders["order_id"].map(shortfall).astype("float64").fillna(0.0)
    bad = offenders[short > 0]
    message = (
        "charged "
        + num(short[short > 0], 2)
        + " below retail although "
        + np.where(bad["foreign_account"], "paid from an unregistered account", "the customer was not registered")
    )
    return Outcome(
        checked=len(offenders),
        findings=findings(
            bad,
            key="order_id",
            observed=short,
            limit=0.0,
            message=message,
            amount=short,
            dataset="orders",
            channel="channel",
            when=bad["created_at"],
        ),
    )


@rule("ORD-009", "orders", columns={"orders": ("paid_at", "shipped_at", "delivered_at")})
def possible_timestamps(ctx: Context) -> Outcome:
    """Timestamps in a possible order: paid/shipped not before created, delivered not before shipped (003 二(四) 2).

    Scope: the month's orders.
    Clock: none.
    Spec choice: delivered without any shipment is a finding too."""
    orders = month_orders(ctx)
    problems = {
        "paid before created": orders["paid_at"] < orders["created_at"],
        "shipped before created": orders["shipped_at"] < orders["created_at"],
        "delivered before shipped": orders["delivered_at"] < orders["shipped_at"],
        "delivered but never shipped": orders["delivered_at"].notna() & orders["shipped_at"].isna(),
    }
    count = sum(mask.astype("int64") for mask in problems.values())
    bad = orders[count > 0]
    text = pd.Series("", index=bad.index)
    for label, mask in problems.items():
        text = text + np.where(mask[bad.index], label + "; ", "")
    return Outcome(
        checked=len(orders),
        findings=findings(
            bad,
            key="order_id",
            observed=count,
            limit=0.0,
            message=text.str.rstrip("; "),
            dataset="orders",
            channel="channel",
            when=orders["created_at"],
        ),
    )


@rule("ORD-010", "orders")
def order_never_changed(ctx: Context) -> Outcome:
    """An order is never changed: one order_id with different customer, amount or creation time (002 七 5).

    Scope: every order_id of the month that appears more than once.
    Clock: none.
    Spec choice: exact repeats are duplicates (dropped on load), not changes; other rules use the first occurrence."""
    orders = ctx.data["orders"]
    first = orders.drop_duplicates("order_id", keep="first")
    checked = int(ctx.in_month(first["created_at"]).sum())
    repeated = orders[orders["order_id"].duplicated(keep=False)]  # only ids seen twice can have changed
    first = repeated.drop_duplicates("order_id", keep="first")
    ids = first.loc[ctx.in_month(first["created_at"]), "order_id"]
    rows = repeated[repeated["order_id"].isin(ids)]
    versions = rows.drop_duplicates(["order_id", *VERSION_FIELDS])
    count = versions.groupby("order_id").size()
    changed = count[count > 1]
    second = versions[versions["order_id"].duplicated(keep="first")].drop_duplicates("order_id")
    second = second[second["order_id"].isin(changed.index)].set_index("order_id")
    differs = rows[rows["order_id"].isin(changed.index)].groupby("order_id")[VERSION_FIELDS].nunique(dropna=False) > 1
    fields = pd.Series("", index=differs.index)
    for column in VERSION_FIELDS:
        fields = fields + np.where(differs[column], column + ", ", "")
    bad = second.reset_index()
    bad.index = bad["order_id"]
    message = "order recorded in " + num(changed) + " versions; changed: " + fields.str.rstrip(", ")
    return Outcome(
        checked=checked,
        findings=findings(
            bad,
            key="order_id",
            observed=changed,
            limit=ctx.policy["ORD-010"].limit,
            message=message,
            dataset="orders",
            channel="channel",
            when=bad["created_at"],
        ),
    )

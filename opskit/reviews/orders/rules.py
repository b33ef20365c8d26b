"""Order rules ORD-001..ORD-010 (seed 002 七, 004 出货管理 / 客户管理 / 资金管理, 003 二(四)).

Every rule looks at the month's orders by `created_at`, first occurrence of each `order_id`
(a changed order is ORD-010's business; the others use what was first recorded).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ... import keys
from ...errors import Notice
from ...rule import Context, Measurement, deadline, message_ids, rule

SIGN_OFFS = ["sign_ecommerce", "sign_marketing", "sign_salesops"]
VERSION_FIELDS = ["customer_id", "amount", "created_at"]


def month_orders(ctx: Context, *columns: str) -> pd.DataFrame:
    """The month's orders, first occurrence of each order_id; with `columns`, only those (and the
    id, `created_at`, `_row`): what the rule reads, not a copy of every column."""
    return ctx.first_in_month("orders", "order_id", "created_at", changes="ORD-010", columns=columns or None)


# Python's `\s` spelled for Arrow's RE2 (whose own `\s` is ASCII only), and the dash: what people type into accounts
SPACE_OR_DASH = r"[\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\-]"


def _accounts(values: pd.Series) -> pd.Series:
    r"""Pay accounts compared without the spaces and dashes people type into them.

    On Arrow text the characters are removed by Arrow's regex kernel: pandas sends a pattern with
    `\s` to Python's `re`, one Python string per value, several times the column's size in memory."""
    arrow = getattr(values.array, "_pa_array", None)
    if arrow is None:
        return values.str.replace(r"[\s\-]", "", regex=True).str.upper()
    import pyarrow.compute as pc

    stripped = pc.replace_substring_regex(arrow, SPACE_OR_DASH, "")
    return pd.Series(stripped, index=values.index, dtype=values.dtype).str.upper()


def registration(ctx: Context) -> pd.DataFrame:
    """Orders of registered-customer channels joined to the customer file (ORD-006..008)."""

    def make() -> pd.DataFrame:
        channels = ctx.policy["ORD-006"].param("channels")
        orders = month_orders(ctx, "channel", "customer_id", "pay_account")
        scoped = orders[orders["channel"].isin(channels)]
        customers = ctx.data["customers"].drop_duplicates("customer_id", keep="first")
        # a left join on a unique key, as one row lookup: the orders are not copied by a merge
        at = keys.positions(scoped["customer_id"], customers["customer_id"])
        joined = scoped.assign(
            registered_at=pd.Series(customers["registered_at"].array.take(at, allow_fill=True), index=scoped.index),
            registered_account=pd.Series(customers["pay_account"].array.take(at, allow_fill=True), index=scoped.index),
        )
        joined["unknown"] = joined["customer_id"].isna() | joined["registered_at"].isna()
        joined["late"] = ~joined["unknown"] & (joined["registered_at"] > joined["created_at"])
        both = joined["pay_account"].notna() & joined["registered_account"].notna() & ~joined["unknown"]
        joined["account_checked"] = both
        foreign = pd.Series(False, index=joined.index)
        paired = joined.loc[both, ["pay_account", "registered_account"]]
        foreign[both] = _accounts(paired["pay_account"]) != _accounts(paired["registered_account"])
        joined["foreign_account"] = foreign
        return joined

    return ctx.cached("registration", make)


@rule("ORD-001", "orders", columns={"orders": ("accepted_at", "contacted_at")}, month_first=("orders",))
def contact_after_acceptance(ctx: Context) -> Measurement:
    """Customer contacted within the limit after acceptance (002 七 2).

    Scope: the month's orders (by created_at, first occurrence of each order_id) with accepted_at.
    Clock: the rule's clock, calendar by default (`clock: business` counts service hours only).
    Spec choice: an order never contacted is pending until as_of is past the limit, then a finding."""
    return deadline(
        ctx,
        "ORD-001",
        month_orders(ctx, "channel", "accepted_at", "contacted_at"),
        "accepted_at",
        "contacted_at",
        key="order_id",
        dataset="orders",
        channel="channel",
    )


@rule("ORD-002", "orders", columns={"orders": ("confirmed_at", "handed_off_at")}, month_first=("orders",))
def hand_off_after_confirmation(ctx: Context) -> Measurement:
    """Handed off for tracking within the limit after confirmation (002 七 3).

    Scope: the month's orders with confirmed_at.
    Clock: the rule's clock, calendar by default.
    Spec choice: no hand-off recorded is pending until as_of is past the limit."""
    return deadline(
        ctx,
        "ORD-002",
        month_orders(ctx, "channel", "confirmed_at", "handed_off_at"),
        "confirmed_at",
        "handed_off_at",
        key="order_id",
        dataset="orders",
        channel="channel",
    )


@rule("ORD-003", "orders", columns={"orders": ("paid_at", "shipped_at", "refunded_at")}, month_first=("orders",))
def ship_after_payment(ctx: Context) -> Measurement:
    """Shipped within the limit after payment (004 出货管理 1).

    Scope: the month's paid orders; a refunded order never shipped is exempt.
    Clock: the rule's clock, calendar by default; `by_channel` sets a platform's own deadline.
    Spec choice: a duration equal to the limit complies; unshipped is pending until as_of passes the limit."""
    orders = month_orders(ctx, "channel", "paid_at", "shipped_at", "refunded_at")
    refunded_unshipped = orders["refunded_at"].notna() & orders["shipped_at"].isna()
    return deadline(
        ctx,
        "ORD-003",
        orders,
        "paid_at",
        "shipped_at",
        key="order_id",
        dataset="orders",
        channel="channel",
        scope=~refunded_unshipped,
    )


@rule(
    "ORD-004",
    "orders",
    columns={"orders": ("shipped_at", "special_case", *SIGN_OFFS)},
    params={"missing": "codes:signoffs"},
    month_first=("orders",),
)
def dealer_sign_offs(ctx: Context) -> Measurement:
    """A shipped order of a sign-off channel carries the three sign-offs, two when special_case (004 出货管理 2).

    Scope: the month's shipped orders of `params.channels` (distributor by default).
    Clock: none (a count of signatures).
    Spec choice: a sign-off is any non-blank name; observed is the number present."""
    rp = ctx.policy["ORD-004"]
    orders = month_orders(ctx, "channel", "shipped_at", "special_case", *SIGN_OFFS)
    scope = orders[orders["shipped_at"].notna() & orders["channel"].isin(rp.param("channels"))]
    special = scope["special_case"].fillna(False).astype(bool)
    missing = pd.Series("", index=scope.index)
    for column in SIGN_OFFS:
        missing = missing + np.where(scope[column].isna(), column.removeprefix("sign_") + ",", "")
    return Measurement(
        scope,
        key="order_id",
        message=pd.Series(np.where(special, "missing_special", "missing"), index=scope.index),
        dataset="orders",
        observed=scope[SIGN_OFFS].notna().sum(axis=1),
        limit=pd.Series(np.where(special, rp.param("special_case_limit"), rp.limit), index=scope.index),
        params={"missing": missing},
        channel="channel",
        when="shipped_at",
    )


@rule("ORD-005", "orders", columns={"orders": ("paid_at", "shipped_at")}, month_first=("orders",))
def paid_before_shipping(ctx: Context) -> Measurement:
    """Never shipped before payment (004 出货管理 2, 资金管理 2).

    Scope: the month's shipped orders.
    Clock: calendar hours between shipment and a later payment.
    Spec choice: observed is those hours, blank when the order was never paid."""
    orders = month_orders(ctx, "channel", "paid_at", "shipped_at")
    scope = orders[orders["shipped_at"].notna()]
    unpaid = scope["paid_at"].isna()
    return Measurement(
        scope,
        key="order_id",
        message=message_ids(scope.index, "early", (unpaid, "unpaid")),
        dataset="orders",
        observed=(scope["paid_at"] - scope["shipped_at"]) / pd.Timedelta(hours=1),
        limit=0.0,
        breached=unpaid,
        channel="channel",
        when="shipped_at",
    )


@rule("ORD-006", "orders", "customers", params={"customer": "customer", "late": "hours"}, month_first=("orders",))
def registered_customer(ctx: Context) -> Measurement:
    """The ordering customer is in the customer file, registered no later than the order (004 客户管理 1, 3).

    Scope: the month's orders of `params.channels` (distributor, wechat by default).
    Clock: none.
    Spec choice: observed is the hours registered after the order, blank when the customer is unknown."""
    scope = registration(ctx)
    late_h = (scope["registered_at"] - scope["created_at"]) / pd.Timedelta(hours=1)
    unknown = (scope["customer_id"].isna(), "no_customer"), (scope["unknown"], "unknown_customer")
    message = message_ids(scope.index, "registered_late", *unknown)
    return Measurement(
        scope,
        key="order_id",
        message=message,
        dataset="orders",
        observed=late_h.where(scope["late"]),
        breached=scope["unknown"] | scope["late"],
        params={"customer": "customer_id", "late": late_h},
        channel="channel",
        when="created_at",
    )


@rule("ORD-007", "orders", "customers", params={"paid": "account", "registered": "account"}, month_first=("orders",))
def registered_pay_account(ctx: Context) -> Measurement:
    """Paid from the registered pay account (004 客户管理 1).

    Scope: ORD-006's orders whose own and registered pay accounts are both given.
    Clock: none.
    Spec choice: accounts are compared without spaces and dashes, case-insensitively."""
    reg = registration(ctx)
    checked = reg[reg["account_checked"]]
    return Measurement(
        checked,
        key="order_id",
        message="foreign_account",
        dataset="orders",
        breached=checked["foreign_account"],
        params={"paid": "pay_account", "registered": "registered_account"},
        channel="channel",
        when="created_at",
    )


@rule("ORD-008", "orders", "customers", "order_lines", "products", month_first=("orders",))
def retail_price_when_unregistered(ctx: Context) -> Measurement:
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
        ctx.notice(Notice("unpriced_lines", count=int(unpriced.sum()), file=ctx.data.files["products"]))
    gap = ((price - lines["unit_price"]).clip(lower=0) * lines["qty"].astype("float64")).fillna(0)
    shortfall = gap.groupby(lines["order_id"]).sum()
    short = offenders["order_id"].map(shortfall).astype("float64").fillna(0.0)
    return Measurement(
        offenders,
        key="order_id",
        message=pd.Series(
            np.where(offenders["foreign_account"], "foreign_account", "unregistered"), index=offenders.index
        ),
        dataset="orders",
        observed=short,
        limit=ctx.policy["ORD-008"].limit,
        amount=short,
        channel="channel",
        when="created_at",
    )


ORDER_PROBLEMS = {
    "paid_before_created": lambda o: o["paid_at"] < o["created_at"],
    "shipped_before_created": lambda o: o["shipped_at"] < o["created_at"],
    "delivered_before_shipped": lambda o: o["delivered_at"] < o["shipped_at"],
    "delivered_unshipped": lambda o: o["delivered_at"].notna() & o["shipped_at"].isna(),
}


@rule(
    "ORD-009",
    "orders",
    columns={"orders": ("paid_at", "shipped_at", "delivered_at")},
    params={"problems": "codes:order_problems"},
    month_first=("orders",),
)
def possible_timestamps(ctx: Context) -> Measurement:
    """Timestamps in a possible order: paid/shipped not before created, delivered not before shipped (003 二(四) 2).

    Scope: the month's orders.
    Clock: none.
    Spec choice: delivered without any shipment is a finding too."""
    orders = month_orders(ctx, "channel", "paid_at", "shipped_at", "delivered_at")
    problems = {code: test(orders) for code, test in ORDER_PROBLEMS.items()}
    observed = sum(mask.astype("int64") for mask in problems.values())
    codes = pd.Series("", index=orders.index)
    odd = observed.to_numpy() > 0  # codes are spelled out only where some problem is: a new string per row costs
    spelled = pd.Series("", index=orders.index[odd])
    for code, mask in problems.items():
        spelled = spelled + np.where(mask[odd], code + ",", "")
    codes[odd] = spelled
    return Measurement(
        orders,
        key="order_id",
        message="impossible",
        dataset="orders",
        observed=observed,
        limit=ctx.policy["ORD-009"].limit,
        params={"problems": codes},
        channel="channel",
        when="created_at",
    )


@rule("ORD-010", "orders", params={"fields": "codes:order_fields"})
def order_never_changed(ctx: Context) -> Measurement:
    """An order is never changed: one order_id with different customer, amount or creation time (002 七 5).

    Scope: every order_id of the month that appears more than once.
    Clock: none.
    Spec choice: exact repeats are duplicates (dropped on load), not changes; other rules use the first occurrence."""
    orders = ctx.data["orders"]
    later = keys.repeated(orders["order_id"])  # on the key alone: the orders are not copied
    checked = int((~later & ctx.in_month(orders["created_at"]).to_numpy()).sum())  # the month's first occurrences
    twice = orders["order_id"].isin(orders["order_id"][later].unique())  # only ids seen twice can have changed
    repeated = orders[twice]
    first = repeated.drop_duplicates("order_id", keep="first")
    ids = first.loc[ctx.in_month(first["created_at"]), "order_id"]
    rows = repeated[repeated["order_id"].isin(ids)]
    versions = rows.drop_duplicates(["order_id", *VERSION_FIELDS])
    count = versions.groupby("order_id").size()
    second = versions[versions["order_id"].duplicated(keep="first")].drop_duplicates("order_id")
    differs = (
        rows[rows["order_id"].isin(second["order_id"])].groupby("order_id")[VERSION_FIELDS].nunique(dropna=False) > 1
    )
    fields = pd.Series("", index=differs.index)
    for column in VERSION_FIELDS:
        fields = fields + np.where(differs[column], column + ",", "")
    changed = second.set_index("order_id", drop=False)
    return Measurement(
        changed,
        key="order_id",
        message="changed",
        dataset="orders",
        observed=count,
        limit=ctx.policy["ORD-010"].limit,
        params={"fields": fields},
        channel="channel",
        when="created_at",
        checked=checked,
    )

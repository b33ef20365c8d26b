"""Sample orders and order lines: compliant background activity and the planted ORD cases."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import MANAGERS, MONTHS, D, H, M, _ids
from .promotions import _planted_gift_excess, apply_promotions


def background_orders(month: str, n: int, prods: pd.DataFrame, custs: pd.DataFrame, seed: int):
    """`n` compliant orders and their lines, vectorised so `--scale` reaches millions of rows."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp(month + "-01")
    days = start.days_in_month
    created = (
        start
        + pd.to_timedelta(rng.integers(0, days, n), unit="D")
        + pd.to_timedelta(rng.integers(8 * 60, 22 * 60, n), unit="min")
    )
    channel = rng.choice(["tmall", "wechat", "distributor"], n, p=[0.5, 0.3, 0.2])
    regs = {c: custs[(custs["channel"] == c) & (custs["registered_at"] < start)] for c in ("wechat", "distributor")}
    cust = pd.Series("tb_" + pd.Series(rng.integers(10000, 99999, n)).astype("str"))
    account = pd.Series(pd.NA, index=cust.index, dtype="str")
    for c, reg in regs.items():
        mask = channel == c
        pick = rng.integers(0, len(reg), mask.sum())
        cust[mask] = reg["customer_id"].to_numpy()[pick]
        account[mask] = reg["pay_account"].to_numpy()[pick]
    accepted = created + pd.to_timedelta(rng.integers(1, 6, n), unit="min")
    contacted = accepted + pd.to_timedelta(rng.integers(1, 10, n), unit="min")
    confirmed = contacted + pd.to_timedelta(rng.integers(1, 30, n), unit="min")
    handed = confirmed + pd.to_timedelta(rng.integers(30, 20 * 60, n), unit="min")
    paid = created + pd.to_timedelta(rng.integers(0, 60, n), unit="min")
    shipped = paid + pd.to_timedelta(rng.integers(60, 20 * 60, n), unit="min")
    refunded = rng.random(n) < 0.02
    orders = pd.DataFrame(
        {
            "order_id": np.where(channel == "tmall", "TM", np.where(channel == "wechat", "WX", "JX"))
            + start.strftime("%y%m")
            + _ids("", n, 6),
            "channel": channel,
            "customer_id": cust.to_numpy(),
            "pay_account": account.to_numpy(),
            "created_at": created,
            "paid_at": paid,
            "accepted_at": accepted,
            "contacted_at": contacted,
            "confirmed_at": confirmed,
            "handed_off_at": handed,
            "shipped_at": pd.Series(shipped).where(~refunded),
            "delivered_at": pd.Series(shipped + pd.to_timedelta(rng.integers(20, 72, n), unit="h")).where(~refunded),
            "refunded_at": pd.Series(paid + 2 * H).where(refunded),
            "status": np.where(refunded, "已退款", "已签收"),
            "special_case": False,
            "waybill_no": "SF" + pd.Series(rng.integers(10**9, 10**10, n)).astype("str"),
        }
    )
    dealer = (channel == "distributor") & ~refunded
    for column, name in MANAGERS.items():
        orders[column] = pd.Series(np.where(dealer, name, None), dtype="str")
    lines = _lines(orders, prods, rng).drop_duplicates(["order_id", "sku"], ignore_index=True)
    return orders, lines


def _lines(orders: pd.DataFrame, prods: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    per = rng.integers(1, 4, len(orders))
    idx = np.repeat(np.arange(len(orders)), per)
    sku_idx = rng.integers(0, len(prods), len(idx))
    dealer = orders["channel"].to_numpy()[idx] == "distributor"
    retail = prods["retail_price"].to_numpy()[sku_idx]
    return pd.DataFrame(
        {
            "order_id": orders["order_id"].to_numpy()[idx],
            "sku": prods["sku"].to_numpy()[sku_idx],
            "qty": rng.integers(1, 5, len(idx)),
            "unit_price": np.round(np.where(dealer, retail * 0.8, retail), 2),
            "is_gift": False,
            "promo_id": pd.Series(pd.NA, index=range(len(idx)), dtype="str"),
        }
    )


def _order(order_id: str, channel: str, created: pd.Timestamp, **changes) -> dict:
    """A compliant order at `created`; `changes` plant the case."""
    row = dict(
        order_id=order_id,
        channel=channel,
        customer_id="tb_planted",
        pay_account=None,
        created_at=created,
        paid_at=created + 5 * M,
        accepted_at=created + 2 * M,
        contacted_at=created + 7 * M,
        confirmed_at=created + 10 * M,
        handed_off_at=created + 3 * H,
        shipped_at=created + 6 * H,
        delivered_at=created + 2 * D,
        refunded_at=pd.NaT,
        status="已签收",
        special_case=False,
        waybill_no="SF0000000000",
        sign_ecommerce=None,
        sign_marketing=None,
        sign_salesops=None,
    )
    if channel == "distributor":
        row.update(MANAGERS)
    row.update(changes)
    return row


def planted_orders(month: str, custs: pd.DataFrame, prods: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Order cases named after the rule they break (or the boundary they sit on)."""
    s = pd.Timestamp(month + "-01")
    last = (pd.Period(month, "M") + 1).start_time
    dealer = custs[custs["channel"] == "distributor"].iloc[0]
    wechat = custs[custs["channel"] == "wechat"].iloc[0]
    reg = dict(customer_id=dealer["customer_id"], pay_account=dealer["pay_account"])
    t = s + 4 * D + 10 * H
    rows = [
        _order("ORD001-LATE", "tmall", t, contacted_at=t + 2 * M + 11 * M),
        _order("ORD001-EXACT", "tmall", t, contacted_at=t + 2 * M + 10 * M),
        _order("ORD001-NEVER", "tmall", t, contacted_at=pd.NaT),
        _order(
            "ORD001-PENDING",
            "tmall",
            last - 8 * M,
            contacted_at=pd.NaT,
            paid_at=pd.NaT,
            shipped_at=pd.NaT,
            delivered_at=pd.NaT,
            confirmed_at=pd.NaT,
            handed_off_at=pd.NaT,
            status="待付款",
        ),
        _order("ORD002-LATE", "tmall", t, handed_off_at=t + 10 * M + 25 * H),
        _order("ORD002-EXACT", "tmall", t, handed_off_at=t + 10 * M + 24 * H),
        _order("ORD002-NEVER", "tmall", t, handed_off_at=pd.NaT),
        _order(
            "ORD002-PENDING",
            "tmall",
            last - 14 * H,
            handed_off_at=pd.NaT,
            shipped_at=pd.NaT,
            delivered_at=pd.NaT,
            status="待发货",
        ),
        _order("ORD003-LATE", "wechat", t, **_reg(wechat), shipped_at=t + 5 * M + 30 * H, delivered_at=t + 3 * D),
        _order("ORD003-EXACT", "tmall", t, shipped_at=t + 5 * M + 24 * H, delivered_at=t + 3 * D),
        _order("ORD003-NEVER", "tmall", t, shipped_at=pd.NaT, delivered_at=pd.NaT, status="待发货"),
        _order(
            "ORD003-PENDING",
            "tmall",
            last - 4 * H,
            shipped_at=pd.NaT,
            delivered_at=pd.NaT,
            handed_off_at=pd.NaT,
            status="待发货",
        ),
        _order(
            "ORD003-REFUNDED",
            "tmall",
            t,
            shipped_at=pd.NaT,
            delivered_at=pd.NaT,
            refunded_at=t + 2 * H,
            status="已退款",
        ),
        _order("ORD004-TWO", "distributor", t, **reg, sign_marketing=None),
        _order("ORD004-SPECIAL-OK", "distributor", t, **reg, sign_salesops=None, special_case=True),
        _order(
            "ORD004-SPECIAL-ONE", "distributor", t, **reg, sign_salesops=None, sign_marketing=None, special_case=True
        ),
        _order("ORD005-EARLY", "tmall", t, paid_at=t + 8 * H, shipped_at=t + 6 * H),
        _order("ORD005-UNPAID", "tmall", t, paid_at=pd.NaT),
        _order("ORD006-UNKNOWN", "wechat", t, customer_id="C9999", pay_account="6222 0000 0000 0000"),
        _order("ORD006-LATE-REG", "distributor", s + 9 * D, customer_id="C0901", pay_account="6222 0210 9010 9010"),
        _order("ORD006-BLANK", "wechat", t, customer_id=None),
        _order(
            "ORD007-ACCOUNT", "distributor", t, customer_id=dealer["customer_id"], pay_account="6228 4800 1111 2222"
        ),
        _order("ORD009-PAID-EARLY", "tmall", t, paid_at=t - 30 * M),
        _order(
            "ORD009-GHOST",
            "tmall",
            t,
            shipped_at=pd.NaT,
            handed_off_at=t + 3 * H,
            paid_at=t + 5 * M,
            delivered_at=t + 2 * D,
            status="已签收",
        ),
        _order("ORD010-CHANGED", "tmall", t),
    ]
    if month != MONTHS[-1]:
        rows = [r for r in rows if r["order_id"].startswith(("ORD003-LATE", "ORD001-LATE", "ORD004-TWO"))]
    orders = pd.DataFrame(rows)
    orders["order_id"] = orders["order_id"] + "-" + s.strftime("%y%m")
    sku = prods.set_index("sku")
    lines = []
    for oid in orders["order_id"]:
        pick = prods["sku"].iloc[[10, 11]]
        price = sku.loc[pick, "retail_price"].to_numpy()
        if oid.startswith(("ORD006-UNKNOWN", "ORD007-ACCOUNT")) or oid.startswith(("ORD004", "ORD006-LATE")):
            price = np.round(price * 0.8, 2)  # dealer price: ORD-008 when the customer does not qualify
        if oid.startswith("ORD006-LATE"):
            price = sku.loc[pick, "retail_price"].to_numpy()  # charged retail: complies with ORD-008
        lines += [
            dict(order_id=oid, sku=k, qty=2, unit_price=p, is_gift=False, promo_id=None)
            for k, p in zip(pick, price, strict=True)
        ]
    return orders, pd.DataFrame(lines)


def _reg(customer: pd.Series) -> dict:
    return dict(customer_id=customer["customer_id"], pay_account=customer["pay_account"])


def orders_month(month: str, n: int, prods: pd.DataFrame, custs: pd.DataFrame, promos: pd.DataFrame, seed: int):
    orders, lines = background_orders(month, n, prods, custs, seed)
    planted, planted_lines = planted_orders(month, custs, prods)
    orders = pd.concat([orders, planted], ignore_index=True)
    lines = pd.concat([lines, planted_lines], ignore_index=True)
    lines = apply_promotions(orders, lines, promos, prods)
    lines = _planted_gift_excess(month, orders, lines, promos)
    orders["amount"] = (
        orders["order_id"]
        .map((lines["qty"] * lines["unit_price"]).groupby(lines["order_id"]).sum())
        .round(2)
        .fillna(0.0)
    )
    changed = orders[orders["order_id"].str.startswith("ORD010-CHANGED")].assign(amount=lambda f: f["amount"] + 100)
    duplicate = orders.iloc[[3]]  # an exact duplicate row: reported and dropped by the loader
    return pd.concat([orders, changed, duplicate], ignore_index=True), lines

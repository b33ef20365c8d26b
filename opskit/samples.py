"""Deterministic sample exports with planted violations of every rule.

Background activity is generated vectorised and complies with every rule; each planted case
then breaks (or sits exactly on the boundary of) one rule, under an id that says which, so the
tests can assert the exact findings. Files are written the way the team's exports look:
Chinese headers and values, a GB18030 CSV, xlsx sheets with a title row, mixed date spellings.

    opskit samples data_samples           # the committed samples (2026-09 and 2026-10)
    opskit samples /tmp/big --scale 1000000
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .schema import CHANNELS, CS_CHANNELS, DATASETS, TICKET_TYPES, WRITEOFF_KINDS

MONTHS = ("2026-09", "2026-10")
SEED = 20261001
CATEGORIES = {"茶叶": 1.0, "坚果": 0.5, "果干": 0.4, "礼盒": 2.5}
AGENTS = ["小王", "小李", "小陈", "小赵"]
MANAGERS = {"sign_ecommerce": "周敏", "sign_marketing": "吴强", "sign_salesops": "郑丽"}
H, M = pd.Timedelta(hours=1), pd.Timedelta(minutes=1)
D = pd.Timedelta(days=1)


# --------------------------------------------------------------------------- reference data


def products(n_skus: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    cats = list(CATEGORIES)
    cat = np.array(cats)[np.arange(n_skus) % len(cats)]
    base = np.array([CATEGORIES[c] for c in cat])
    retail = (np.round(rng.uniform(40, 160, n_skus) * base / 2) * 2).astype(float)
    sku = "SKU" + pd.Series(np.arange(1, n_skus + 1)).astype("str").str.zfill(4)
    names = pd.Series(cat) + "-" + pd.Series(np.arange(1, n_skus + 1)).astype("str")
    return pd.DataFrame(
        {
            "sku": sku,
            "name": names,
            "category": cat,
            "retail_price": retail,
            "cost_price": np.round(retail * rng.uniform(0.45, 0.6, n_skus), 2),
        }
    )


def customers(n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(SEED + 1)
    ids = "C" + pd.Series(np.arange(1, n + 1)).astype("str").str.zfill(4)
    channel = np.where(np.arange(n) % 3 == 0, "distributor", "wechat")
    registered = pd.Timestamp("2025-03-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")
    account = (
        "6222 0210 "
        + pd.Series(rng.integers(1000, 9999, n)).astype("str")
        + " "
        + pd.Series(rng.integers(1000, 9999, n)).astype("str")
    )
    surnames = np.array(list("张王李赵刘陈杨黄吴周"))
    names = pd.Series(surnames[np.arange(n) % 10]) + np.where(channel == "distributor", "记商行", "女士")
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "name": names,
            "channel": channel,
            "registered_at": registered,
            "pay_account": account,
            "price_tier": np.where(channel == "distributor", "经销价", "会员价"),
        }
    )
    late = pd.DataFrame(
        [
            {  # registers only after its first October order: ORD-006
                "customer_id": "C0901",
                "name": "迟建档商行",
                "channel": "distributor",
                "registered_at": pd.Timestamp("2026-10-20 09:00"),
                "pay_account": "6222 0210 9010 9010",
                "price_tier": "经销价",
            }
        ]
    )
    return pd.concat([frame, late], ignore_index=True)


# --------------------------------------------------------------------------- one month


@dataclass
class Month:
    """The canonical frames of one month, before they are dressed up as exports."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)


def _ids(prefix: str, n: int, width: int = 5) -> pd.Series:
    return prefix + pd.Series(np.arange(1, n + 1)).astype("str").str.zfill(width)


def promotions(month: str, prods: pd.DataFrame) -> pd.DataFrame:
    """Four promotions per month; the first complies, the others carry planted PRM breaches."""
    start = pd.Timestamp(month + "-01")
    yymm = start.strftime("%y%m")
    skus = prods["sku"]
    rows = [
        dict(
            promo_id=f"P{yymm}-01",
            name="茶叶节",
            channel="tmall",
            start_at=start + 1 * D,
            end_at=start + 8 * D - M,
            plan_submitted_at=start + 1 * D - 14 * D,  # exactly 14 days: complies
            approved_at=start - 12 * D,
            confirmed_salesops_at=start - 11 * D,
            confirmed_marketing_at=start - 11 * D,
            goal="提升茶叶销量",
            budget=20000.0,
            channels="天猫首页,直播",
            scope_skus="、".join(skus[[0, 4, 8]]),
            target_sales=500.0,
            gift_rule="",
            review_submitted_at=start + 8 * D - M + 7 * D,
        ),  # exactly 7 days: complies
        dict(
            promo_id=f"P{yymm}-02",
            name="双十一预热",
            channel="wechat",
            start_at=start + 19 * D,
            end_at=start + 27 * D + 20 * H,
            plan_submitted_at=start + 9 * D,  # 10 days ahead: PRM-001
            approved_at=start + 20 * D,  # after the start: PRM-002
            confirmed_salesops_at=start + 15 * D,
            confirmed_marketing_at=start + 15 * D,
            goal="预热拉新",
            budget=15000.0,
            channels="微信社群",
            scope_skus=" ".join(skus[[1, 5]]),
            target_sales=300.0,
            gift_rule="",
            review_submitted_at=pd.NaT,
        ),  # ends day 28: pending
        dict(
            promo_id=f"P{yymm}-03",
            name="坚果买二送一",
            channel="tmall",
            start_at=start + 9 * D,
            end_at=start + 16 * D - M,
            plan_submitted_at=start - 10 * D,
            approved_at=start - 8 * D,
            confirmed_salesops_at=start - 7 * D,
            confirmed_marketing_at=pd.NaT,  # PRM-003
            goal="坚果清库存",
            budget=30000.0,
            channels="天猫",
            scope_skus=",".join(skus[[2, 6]]),
            target_sales=200.0,
            gift_rule="买2件送1件",
            review_submitted_at=start + 16 * D + 10 * D,
        ),  # 10 days after the end: PRM-005
        dict(
            promo_id=f"P{yymm}-04",
            name="果干折扣周",
            channel="tmall",
            start_at=start + 14 * D,
            end_at=start + 21 * D - M,
            plan_submitted_at=start - 5 * D,
            approved_at=start - 3 * D,
            confirmed_salesops_at=start - 2 * D,
            confirmed_marketing_at=start - 2 * D,
            goal="",
            budget=10.0,  # PRM-004 (no goal) and PRM-007 (cost above budget)
            channels="天猫",
            scope_skus="；".join(skus[[3, 7]]),
            target_sales=9_000_000.0,  # PRM-008
            gift_rule="",
            review_submitted_at=start + 24 * D,
        ),
    ]
    return pd.DataFrame(rows)


def _scope(promos: pd.DataFrame) -> pd.DataFrame:
    skus = promos["scope_skus"].str.split(r"[,，、;；\s]+", regex=True)
    return promos.assign(sku=skus).explode("sku")[["promo_id", "sku", "start_at", "end_at", "gift_rule"]]


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


def apply_promotions(orders: pd.DataFrame, lines: pd.DataFrame, promos: pd.DataFrame, prods: pd.DataFrame):
    """Lines of scope SKUs ordered inside a promotion's window get its price, and gifts where it gives them."""
    scope = _scope(promos)
    created = lines["order_id"].map(orders.set_index("order_id")["created_at"])
    joined = lines.drop(columns="promo_id").assign(created=created, line=lines.index).merge(scope, on="sku")
    joined = joined[(joined["created"] >= joined["start_at"]) & (joined["created"] <= joined["end_at"])]
    joined = joined.drop_duplicates("line")
    retail = lines["sku"].map(prods.set_index("sku")["retail_price"])
    lines.loc[joined["line"], "promo_id"] = joined["promo_id"].to_numpy()
    lines.loc[joined["line"], "unit_price"] = np.round(retail[joined["line"]] * 0.85, 2).to_numpy()
    lines.loc[joined["line"], "qty"] *= 2  # a promotion sells: twice the units in its window
    buy2 = joined[(joined["gift_rule"].str.contains("送1")) & (lines.loc[joined["line"], "qty"].to_numpy() >= 2)]
    gifts = lines.loc[buy2["line"]].assign(qty=lambda f: f["qty"] // 2, unit_price=0.0, is_gift=True)
    return pd.concat([lines, gifts], ignore_index=True)


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


def _planted_gift_excess(month: str, orders: pd.DataFrame, lines: pd.DataFrame, promos: pd.DataFrame):
    """Two extra gift units on a shipped order of the buy-2-get-1 promotion, never written off: PRM-006."""
    promo = promos.iloc[2]
    sku = _scope(promos.iloc[[2]])["sku"].iloc[0]
    order = orders[orders["order_id"].str.startswith("ORD001-LATE")]["order_id"].iloc[0]
    extra = pd.DataFrame(
        [dict(order_id=order, sku=sku, qty=2, unit_price=0.0, is_gift=True, promo_id=promo["promo_id"])]
    )
    return pd.concat([lines, extra], ignore_index=True)


def gift_writeoffs(month: str, orders: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """What finance wrote off for gifts: every shipped gift except the planted excess."""
    shipped = orders.drop_duplicates("order_id").set_index("order_id")["shipped_at"].notna()
    gifts = lines[lines["is_gift"] & lines["order_id"].map(shipped).fillna(False).astype(bool)]
    gifts = gifts[~gifts["order_id"].str.startswith("ORD001-LATE")]
    out = gifts.groupby(["promo_id", "sku"], as_index=False)["qty"].sum()
    return out.assign(month=month, kind="gift")


# --------------------------------------------------------------------------- service


def tickets_month(month: str, n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    s = pd.Timestamp(month + "-01")
    created = (
        s
        + pd.to_timedelta(rng.integers(0, s.days_in_month - 3, n), unit="D")
        + pd.to_timedelta(rng.integers(7 * 60, 23 * 60, n), unit="min")
    )
    channel = rng.choice(list(CS_CHANNELS), n, p=[0.3, 0.5, 0.1, 0.1])
    kind = rng.choice(list(TICKET_TYPES), n, p=[0.6, 0.15, 0.25])
    reply = created + pd.to_timedelta(rng.integers(2, 20 * 60, n), unit="min")
    resolved = reply + pd.to_timedelta(rng.integers(10, 20 * 60, n), unit="min")
    categories = np.array(["物流", "商品质量", "价格", "发票", "退换货", "活动规则"])
    tickets = pd.DataFrame(
        {
            "ticket_id": "T" + s.strftime("%y%m") + _ids("", n),
            "channel": channel,
            "type": kind,
            "category": categories[rng.integers(0, 6, n)],
            "customer_id": "tb_" + pd.Series(rng.integers(10000, 10400, n)).astype("str"),
            "order_id": None,
            "created_at": created,
            "first_reply_at": reply,
            "resolved_at": resolved,
            "feedback_at": resolved + pd.to_timedelta(rng.integers(1, 60, n), unit="min"),
            "agent": np.array(AGENTS)[rng.integers(0, len(AGENTS), n)],
        }
    )
    c = s + 5 * D + 9 * H
    last = (pd.Period(month, "M") + 1).start_time
    planted = [
        dict(ticket_id="CS001-LATE", first_reply_at=c + 30 * H, resolved_at=c + 31 * H, feedback_at=c + 32 * H),
        dict(ticket_id="CS001-EXACT", first_reply_at=c + 24 * H),
        dict(ticket_id="CS001-NEVER", first_reply_at=pd.NaT, resolved_at=pd.NaT, feedback_at=pd.NaT),
        dict(
            ticket_id="CS001-PENDING",
            created_at=last - 12 * H,
            first_reply_at=pd.NaT,
            resolved_at=pd.NaT,
            feedback_at=pd.NaT,
        ),
        dict(ticket_id="CS002-SLOW", type="after_sales", resolved_at=c + 50 * H, feedback_at=c + 51 * H),
        dict(ticket_id="CS002-NO-FEEDBACK", type="after_sales", resolved_at=c + 40 * H, feedback_at=pd.NaT),
        dict(ticket_id="CS002-EXACT", type="after_sales", resolved_at=c + 48 * H, feedback_at=c + 49 * H),
        dict(ticket_id="CS003-LATE", type="complaint", resolved_at=c + 30 * H, feedback_at=c + 60 * H),
        dict(
            ticket_id="CS003-PENDING",
            type="complaint",
            created_at=last - 20 * H,
            first_reply_at=last - 19 * H,
            resolved_at=pd.NaT,
            feedback_at=pd.NaT,
        ),
        dict(ticket_id="CS004-BLANK", category=None),
        dict(ticket_id="CS005-NO-GREETING", channel="online_chat"),
        dict(ticket_id="CS006-NO-CLOSING", channel="online_chat"),
        dict(ticket_id="CS007-IMPOLITE", channel="online_chat"),
        dict(ticket_id="CHAT-SILENT", channel="online_chat"),  # no agent message: CS-005..007 skip it
    ]
    if month != MONTHS[-1]:
        planted = [p for p in planted if p["ticket_id"] in ("CS001-LATE", "CS004-BLANK")]
    base = dict(
        channel="phone",
        type="inquiry",
        category="物流",
        customer_id="tb_20001",
        order_id=None,
        created_at=c,
        first_reply_at=c + 1 * H,
        resolved_at=c + 2 * H,
        feedback_at=c + 3 * H,
        agent="小王",
    )
    rows = pd.DataFrame([{**base, **p} for p in planted])
    rows["ticket_id"] = rows["ticket_id"] + "-" + s.strftime("%y%m")
    tickets = pd.concat([tickets, rows], ignore_index=True)
    return tickets, _messages(tickets)


def _messages(tickets: pd.DataFrame) -> pd.DataFrame:
    chats = tickets[tickets["channel"] == "online_chat"]
    chats = chats[~chats["ticket_id"].str.startswith("CHAT-SILENT")]
    t0 = chats["first_reply_at"].fillna(chats["created_at"] + 5 * M)
    greeting = pd.Series("您好，欢迎光临旗舰店，请问有什么可以帮您？", index=chats.index)
    closing = pd.Series("感谢您的咨询，祝您生活愉快，再见！", index=chats.index)
    tid = chats["ticket_id"]
    greeting[tid.str.startswith("CS005")] = "请问有什么问题？"
    closing[tid.str.startswith("CS006")] = "好的，请您稍后留意物流信息。"
    greeting[tid.str.startswith("CS007")] = "你好，什么事？"
    closing[tid.str.startswith("CS007")] = "已经处理了，谢谢，再见。"
    reply = pd.Series("已为您查询，订单正在配送中，请耐心等待。", index=chats.index)
    reply[tid.str.startswith("CS007")] = "查了，在路上。"
    parts = [
        pd.DataFrame(
            {
                "ticket_id": tid,
                "sent_at": chats["created_at"],
                "sender": "customer",
                "text": "在吗？我的订单什么时候发货？",
            }
        ),
        pd.DataFrame({"ticket_id": tid, "sent_at": t0, "sender": "agent", "text": greeting}),
        pd.DataFrame({"ticket_id": tid, "sent_at": t0 + 2 * M, "sender": "agent", "text": reply}),
        pd.DataFrame({"ticket_id": tid, "sent_at": t0 + 4 * M, "sender": "customer", "text": "好的"}),
        pd.DataFrame({"ticket_id": tid, "sent_at": t0 + 5 * M, "sender": "agent", "text": closing}),
    ]
    silent = tickets[tickets["ticket_id"].str.startswith("CHAT-SILENT")]
    parts.append(
        pd.DataFrame(
            {
                "ticket_id": silent["ticket_id"],
                "sent_at": silent["created_at"],
                "sender": "customer",
                "text": "你好，有人吗？",
            }
        )
    )
    return pd.concat(parts, ignore_index=True).sort_values(["ticket_id", "sent_at"], kind="stable")


# --------------------------------------------------------------------------- stock


def stock_month(month: str, prods: pd.DataFrame, opening: pd.Series, seed: int):
    """Daily ledger rows that roll forward, the count sheets, and finance's purchase write-off."""
    rng = np.random.default_rng(seed)
    s = pd.Timestamp(month + "-01")
    days = pd.date_range(s, periods=s.days_in_month, freq="D")
    skus = prods["sku"].to_numpy()
    n = len(skus)
    quiet = s + 17 * D  # nothing moves that day; its rows are then left out: STK-006
    slow = np.arange(n) % 13 == 12  # slow movers: no outbound at all
    rows, stock = [], opening.to_numpy().astype("int64")
    for day in days:  # one step per day, vectorised over SKUs
        moves = day != quiet
        inbound = np.where(moves & (rng.random(n) < 0.15), rng.integers(20, 60, n), 0)
        out = np.where(moves & ~slow, rng.integers(0, 6, n), 0)
        out = np.minimum(out, stock + inbound)
        ret = np.where(moves & (rng.random(n) < 0.05), 1, 0)
        close = stock + inbound + ret - out
        rows.append(
            pd.DataFrame(
                {
                    "date": day,
                    "sku": skus,
                    "opening_qty": stock,
                    "in_qty": inbound,
                    "out_qty": out,
                    "gift_qty": 0,
                    "return_qty": ret,
                    "closing_qty": close,
                }
            )
        )
        stock = close
    ledger = pd.concat(rows, ignore_index=True)
    purchases = ledger.groupby("sku", as_index=False)["in_qty"].sum().rename(columns={"in_qty": "qty"})
    purchases = purchases[purchases["qty"] > 0].assign(month=month, kind="purchase", promo_id=None)
    ledger = ledger[ledger["date"] != quiet]
    ledger, purchases, counts = _plant_stock(month, ledger, purchases, prods)
    return ledger, counts, purchases, pd.Series(stock, index=skus)


def _plant_stock(month: str, ledger: pd.DataFrame, purchases: pd.DataFrame, prods: pd.DataFrame):
    s = pd.Timestamp(month + "-01")
    sku = prods["sku"]
    at = ledger.set_index(["sku", "date"])

    def book(k: str, day: pd.Timestamp) -> int:
        return int(at.loc[(k, day), "closing_qty"])

    def hit(k: str, day: pd.Timestamp) -> pd.Series:
        return (ledger["sku"] == k) & (ledger["date"] == day)

    full = month == MONTHS[-1]
    if full:
        # STK-007: an arithmetic slip on day 8 (carried on consistently), and a broken carry on day 15
        slip = hit(sku[20], s + 7 * D)
        ledger.loc[slip, "closing_qty"] += 5
        ledger.loc[(ledger["sku"] == sku[20]) & (ledger["date"] > s + 7 * D), ["opening_qty", "closing_qty"]] += 5
        carry = (ledger["sku"] == sku[21]) & (ledger["date"] >= s + 14 * D)
        ledger.loc[carry, ["opening_qty", "closing_qty"]] += 3
        # STK-009: a day that sends a SKU below zero, restocked the next day
        neg = sku[22]
        day, nxt = s + 21 * D, s + 22 * D
        level = book(neg, day - D)
        ledger.loc[hit(neg, day), ["out_qty", "closing_qty"]] = [level + 2, -2]
        ledger.loc[hit(neg, day), ["in_qty", "return_qty", "gift_qty"]] = 0
        ledger.loc[hit(neg, nxt), "opening_qty"] = -2
        ledger.loc[hit(neg, nxt), "closing_qty"] = (
            -2
            + ledger.loc[hit(neg, nxt), "in_qty"]
            + ledger.loc[hit(neg, nxt), "return_qty"]
            - ledger.loc[hit(neg, nxt), "out_qty"]
            - ledger.loc[hit(neg, nxt), "gift_qty"]
            + 30
        )
        ledger.loc[hit(neg, nxt), "in_qty"] += 30
        later = (ledger["sku"] == neg) & (ledger["date"] > nxt)
        shift = int(ledger.loc[hit(neg, nxt), "closing_qty"].iloc[0]) - book(neg, nxt)
        ledger.loc[later, ["opening_qty", "closing_qty"]] += shift
        purchases = _recount_purchases(ledger, purchases, month)
        # STK-008: finance wrote off 10 fewer units of one SKU, and a purchase the ledger never received
        purchases.loc[purchases["sku"] == purchases["sku"].iloc[0], "qty"] -= 10
        purchases = pd.concat(
            [purchases, pd.DataFrame([dict(sku="SKU9001", qty=12, month=month, kind="purchase", promo_id=None)])],
            ignore_index=True,
        )
    at = ledger.set_index(["sku", "date"])
    count_day = s + (min(30, s.days_in_month) - 1) * D
    yymm = s.strftime("%y%m")
    main = pd.DataFrame(
        {
            "count_id": f"PD{yymm}-A",
            "count_date": count_day,
            "sku": sku[:30],
            "counters": "张三、李四",
            "is_recount": False,
        }
    )
    main["counted_qty"] = [book(k, count_day) for k in main["sku"]]
    if not full:
        main.loc[0, "counted_qty"] -= 1
        recount = pd.DataFrame(
            [
                dict(
                    count_id=f"PD{yymm}-R1",
                    count_date=count_day + D,
                    sku=sku[0],
                    counted_qty=book(sku[0], count_day) - 1,
                    counters="张三,李四",
                    is_recount=True,
                )
            ]
        )
        return ledger, purchases, pd.concat([main, recount], ignore_index=True)
    # STK-003: a shortage (recounted next day, confirmed: STK-005), a surplus (recounted exactly
    # 3 days later: complies), and a SKU counted that the ledger does not hold (recount pending)
    short, surplus = sku[0], sku[1]
    main.loc[main["sku"] == short, "counted_qty"] -= 3
    main.loc[main["sku"] == surplus, "counted_qty"] += 2
    ghost = pd.DataFrame(
        [
            dict(
                count_id=f"PD{yymm}-A",
                count_date=count_day,
                sku="SKU9002",
                counted_qty=5,
                counters="张三、李四",
                is_recount=False,
            )
        ]
    )
    # STK-001 and STK-002: a second sheet counted early by one person; its variance is recounted
    # 4 days later (STK-004), and the recount confirms a shortage (STK-005)
    early_day = s + 25 * D
    late = sku[35]
    early = pd.DataFrame(
        {"count_id": f"PD{yymm}-B", "count_date": early_day, "sku": sku[30:40], "counters": "王五", "is_recount": False}
    )
    early["counted_qty"] = [book(k, early_day) for k in early["sku"]]
    early.loc[early["sku"] == late, "counted_qty"] -= 4
    recounts = pd.DataFrame(
        [
            dict(
                count_id=f"PD{yymm}-R1",
                count_date=count_day + D,
                sku=short,
                counted_qty=book(short, count_day + D) - 3,
                counters="张三/李四",
                is_recount=True,
            ),
            dict(
                count_id=f"PD{yymm}-R2",
                count_date=count_day + 3 * D,
                sku=surplus,
                counted_qty=book(surplus, count_day) + 2,
                counters="张三 李四",
                is_recount=True,
            ),
            dict(
                count_id=f"PD{yymm}-R3",
                count_date=early_day + 4 * D,
                sku=late,
                counted_qty=book(late, early_day + 4 * D) - 1,
                counters="王五,赵六",
                is_recount=True,
            ),
        ]
    )
    return ledger, purchases, pd.concat([main, ghost, early, recounts], ignore_index=True)


def _recount_purchases(ledger: pd.DataFrame, purchases: pd.DataFrame, month: str) -> pd.DataFrame:
    total = ledger.groupby("sku", as_index=False)["in_qty"].sum().rename(columns={"in_qty": "qty"})
    return total[total["qty"] > 0].assign(month=month, kind="purchase", promo_id=None)


# --------------------------------------------------------------------------- writing exports


def generate(scale: int | None = None, months: tuple[str, ...] = MONTHS) -> dict[str, dict[str, pd.DataFrame]]:
    """Canonical frames per month; `scale` sets the number of orders a month (tickets: half)."""
    # a big store's catalogue grows with its orders: 1,000 SKUs up to 1M orders a month, then one per 1,000
    n_skus = max(1000, (scale or 0) // 1000) if scale and scale >= 100_000 else 40
    prods = products(n_skus)
    custs = customers()
    opening = pd.Series(np.random.default_rng(SEED + 7).integers(40, 200, n_skus), index=prods["sku"])
    out = {}
    for month in MONTHS:
        i = MONTHS.index(month)
        n = scale or (200 if i == 0 else 260)
        if month not in months:  # only the stock carries over to the next month; its orders are not needed
            opening = stock_month(month, prods, opening, SEED + 10 * i + 2)[3]
            continue
        promos = promotions(month, prods)
        orders, lines = orders_month(month, n, prods, custs, promos, SEED + 10 * i)
        tickets, messages = tickets_month(month, max(n // 2, 40), SEED + 10 * i + 1)
        ledger, counts, purchases, opening = stock_month(month, prods, opening, SEED + 10 * i + 2)
        writeoffs = pd.concat([purchases, gift_writeoffs(month, orders, lines)], ignore_index=True)
        out[month] = dict(
            orders=orders,
            order_lines=lines,
            customers=custs,
            products=prods,
            promotions=promos,
            cs_tickets=tickets,
            cs_messages=messages,
            stock_ledger=ledger,
            stock_counts=counts,
            finance_writeoffs=writeoffs[["month", "sku", "kind", "qty", "promo_id"]],
        )
    return out


def _zh_headers(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    ds = DATASETS[name]
    return frame.rename(columns={c.name: c.aliases[0] for c in ds.columns if c.aliases and c.name in frame})


def _zh_values(frame: pd.DataFrame, column: str, values: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    return frame.assign(**{column: frame[column].map({k: v[0] for k, v in values.items()})})


def _mixed_times(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Most rows `2026-10-05 14:03:00`; every 7th `2026/10/5 14:03`; every 11th `2026年10月5日 14:03`."""
    out = frame.copy()
    pos = np.arange(len(frame))
    for column in columns:
        ts = pd.to_datetime(frame[column])
        text = ts.dt.strftime("%Y-%m-%d %H:%M:%S")
        y, m, d = (part.astype("Int64").astype("str") for part in (ts.dt.year, ts.dt.month, ts.dt.day))
        clock = ts.dt.strftime("%H:%M")
        slash = y + "/" + m + "/" + d + " " + clock
        han = y + "年" + m + "月" + d + "日 " + clock
        text = text.where(pos % 7 != 3, slash).where(pos % 11 != 5, han)
        out[column] = text.where(ts.notna())
    return out


def _xlsx(path: Path, frame: pd.DataFrame, title: str | None = None, sheet: str = "Sheet1") -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.properties.created = wb.properties.modified = dt.datetime(2026, 11, 1)  # same bytes on every run
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append([title])
    ws.append(list(frame.columns))
    for row in frame.astype("object").where(frame.notna(), None).itertuples(index=False):
        ws.append([v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in row])
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(_stable_zip(buffer.getvalue()))


def _stable_zip(data: bytes) -> bytes:
    """The same workbook bytes on every run: zip entries get a fixed date instead of now."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 11, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-11-01T00:00:00Z", content)
            dst.writestr(fixed, content)
    return out.getvalue()


def write_month(folder: Path, frames: dict[str, pd.DataFrame], month: str) -> None:
    """Dress one month's frames up as the team's exports (formats vary on purpose)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file():
            old.unlink()
    ts_cols = [c.name for c in DATASETS["orders"].columns if c.kind == "timestamp"]
    orders = _zh_values(
        frames["orders"],
        "channel",
        {"tmall": ("天猫旗舰店",), "wechat": ("微店",), "distributor": ("经销商",), "other": ("其他",)},
    )
    orders = _mixed_times(orders, ts_cols)
    orders["special_case"] = orders["special_case"].map({True: "是", False: "否"})
    orders["amount"] = "¥" + orders["amount"].map("{:,.2f}".format)
    _zh_headers("orders", orders).to_csv(folder / "orders.csv", index=False, encoding="gb18030")
    lines = frames["order_lines"].assign(is_gift=frames["order_lines"]["is_gift"].map({True: "Y", False: "N"}))
    _zh_headers("order_lines", lines).to_csv(folder / "order_lines.csv", index=False, encoding="utf-8-sig")
    custs = _zh_values(frames["customers"], "channel", CHANNELS)
    _xlsx(folder / "customers.xlsx", _zh_headers("customers", custs), title="客户档案")
    frames["products"].to_csv(folder / "products.csv", index=False)
    promos = _zh_values(frames["promotions"], "channel", CHANNELS)
    _xlsx(folder / "promotions.xlsx", _zh_headers("promotions", promos), sheet="活动方案")
    tickets = _zh_values(_zh_values(frames["cs_tickets"], "channel", CS_CHANNELS), "type", TICKET_TYPES)
    _zh_headers(
        "cs_tickets", _mixed_times(tickets, ["created_at", "first_reply_at", "resolved_at", "feedback_at"])
    ).to_csv(folder / "cs_tickets.csv", index=False)
    frames["cs_messages"].to_parquet(folder / "cs_messages.parquet", index=False)
    ledger = _zh_headers("stock_ledger", frames["stock_ledger"])
    y, m = month.split("-")
    _xlsx(folder / "电商台帐表.xlsx", ledger, title=f"电商台帐表 {y}年{int(m)}月", sheet="台帐")
    counts = frames["stock_counts"].assign(
        count_date=frames["stock_counts"]["count_date"].dt.strftime("%Y/%m/%d"),
        is_recount=frames["stock_counts"]["is_recount"].map({True: "是", False: "否"}),
    )
    _zh_headers("stock_counts", counts).to_csv(folder / "盘点表.csv", index=False, encoding="gb18030")
    writeoffs = _zh_values(frames["finance_writeoffs"], "kind", WRITEOFF_KINDS)
    writeoffs["month"] = f"{y}年{int(m)}月"
    _xlsx(folder / "finance_writeoffs.xlsx", _zh_headers("finance_writeoffs", writeoffs), sheet="核销")
    manifest = {"datasets": {"stock_ledger": {"file": "电商台帐表.xlsx", "sheet": "台帐"}}}
    (folder / "opskit.yaml").write_text(
        "# Files whose names do not say their dataset are mapped here.\n"
        + yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )


def write_scale(folder: Path, frames: dict[str, pd.DataFrame]) -> list[Path]:
    """Benchmark data: the same month as plain CSV (canonical headers, ISO times) and as Parquet."""
    written = []
    for fmt in ("csv", "parquet"):
        target = folder / fmt / "2026-10"
        target.mkdir(parents=True, exist_ok=True)
        for name, frame in frames.items():
            if fmt == "csv":
                frame.to_csv(target / f"{name}.csv", index=False, date_format="%Y-%m-%d %H:%M:%S")
            else:
                frame.to_parquet(target / f"{name}.parquet", index=False)
        written.append(target)
    return written


def write_samples(root: str | Path, scale: int | None = None) -> list[Path]:
    """Write `root/2026-09/` and `root/2026-10/`; with `scale`, `root/{csv,parquet}/2026-10/` of that size."""
    root = Path(root)
    if scale:
        return write_scale(root, generate(scale, months=("2026-10",))["2026-10"])
    written = []
    for month, frames in generate().items():
        write_month(root / month, frames, month)
        written.append(root / month)
    return written

"""Sample promotions: plans (planted PRM cases), their effect on sales, and gift write-offs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import D, H, M


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

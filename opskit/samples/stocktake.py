"""Sample stock ledger, counts and purchases: a rolling ledger and the planted STK cases."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import MONTHS, D


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

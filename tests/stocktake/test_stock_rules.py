"""STK-001..STK-009 at their boundaries."""

import pandas as pd
import pytest
from helpers import audit, keys, summary_row, write

import opskit


def ledger_rows(sku, start, days, opening=10, out=1, **changes):
    rows, stock = [], opening
    for day in pd.date_range(start, periods=days, freq="D"):
        rows.append(
            dict(
                date=day.strftime("%Y-%m-%d"),
                sku=sku,
                opening_qty=stock,
                in_qty=0,
                out_qty=out,
                gift_qty=0,
                return_qty=0,
                closing_qty=stock - out,
            )
        )
        stock -= out
    return rows


def count(count_id, date, sku, qty, counters="张三、李四", recount="否"):
    return dict(count_id=count_id, count_date=date, sku=sku, counted_qty=qty, counters=counters, is_recount=recount)


def test_stk_001_count_on_the_last_day_of_february(tmp_path):
    write(
        tmp_path,
        stock_counts=[
            count("FEB", "2027-02-28", "A", 1),
            count("FEB-EARLY", "2027-02-27", "B", 1),
            count("RE", "2027-02-26", "A", 1, recount="是"),
        ],
    )
    found = audit(tmp_path, month="2027-02", rules="STK-001")
    assert keys(found, "STK-001") == {"FEB-EARLY"}
    assert found["limit"].iloc[0] == 28


def test_stk_001_month_without_a_count_is_one_finding(tmp_path):
    november_ledger = [{"date": "2026-11-05", "sku": "A", "opening_qty": 1, "closing_qty": 1}]  # November has data
    write(tmp_path, stock_counts=[count("OCT", "2026-10-30", "A", 1)], stock_ledger=november_ledger)
    found = audit(tmp_path, month="2026-11", rules="STK-001")
    assert keys(found, "STK-001") == {"2026-11"}
    early = audit(tmp_path, month="2026-11", rules="STK-001", as_of="2026-11-20")
    assert early.empty and summary_row(early, "STK-001")["pending"] == 1


def test_stk_002_two_distinct_counters_per_count(tmp_path):
    write(
        tmp_path,
        stock_counts=[
            count("TWO", "2026-10-30", "A", 1, "张三,李四"),
            count("TWO", "2026-10-30", "B", 1, "张三"),
            count("SAME", "2026-10-30", "C", 1, "张三 / 张三"),
            count("ONE", "2026-10-30", "D", 1, "王五"),
            count("NONE", "2026-10-30", "E", 1, None),
            count("RE", "2026-10-31", "A", 1, "赵六", recount="是"),
        ],
    )
    assert keys(audit(tmp_path, rules="STK-002"), "STK-002") == {"SAME", "ONE", "NONE", "RE"}


def stock_folder(tmp_path, recounts=(), counts=None, as_of=None):
    ledger = ledger_rows("A", "2026-10-01", 31, opening=100) + ledger_rows("B", "2026-10-01", 31, opening=50)
    counts = counts or [
        count("PD", "2026-10-30", "A", 71),
        count("PD", "2026-10-30", "B", 21),
        count("PD", "2026-10-30", "GHOST", 4),
    ]
    write(
        tmp_path,
        stock_ledger=ledger,
        stock_counts=[*counts, *recounts],
        products=[dict(sku="A", retail_price=12.5), dict(sku="B", retail_price=3)],
    )
    return audit(tmp_path, rules="STK-003,STK-004,STK-005", as_of=as_of)


def test_stk_003_variance_against_the_book_on_the_count_date(tmp_path):
    # book on 10-30: A closes at 100 - 30 = 70, B at 50 - 30 = 20; GHOST has no ledger row, book 0
    found = stock_folder(tmp_path)
    assert keys(found, "STK-003") == {"A", "B", "GHOST"}
    assert found[found["rule_id"] == "STK-003"].set_index("key")["observed"].to_dict() == {"A": 1, "B": 1, "GHOST": 4}


def test_stk_003_latest_first_count_wins_and_tolerance_applies(tmp_path):
    counts = [count("P1", "2026-10-20", "A", 5), count("P2", "2026-10-30", "A", 70)]
    write(tmp_path, stock_ledger=ledger_rows("A", "2026-10-01", 31, opening=100), stock_counts=counts)
    assert audit(tmp_path, rules="STK-003").empty
    counts[1]["counted_qty"] = 72
    write(tmp_path, stock_counts=counts)
    assert keys(audit(tmp_path, rules="STK-003", policy={"rules": {"STK-003": {"limit": 2}}}), "STK-003") == set()


def test_stk_004_recount_exactly_three_days_later_complies(tmp_path):
    recounts = [count("R1", "2026-11-02", "A", 71, recount="是"), count("R2", "2026-11-03", "B", 21, recount="是")]
    found = stock_folder(tmp_path, recounts, as_of="2026-11-10")
    assert keys(found, "STK-004") == {"B", "GHOST"}
    assert found.set_index(["rule_id", "key"]).loc[("STK-004", "B"), "observed"] == 4


def test_stk_004_missing_recount_pending_until_past_the_limit(tmp_path):
    assert keys(stock_folder(tmp_path, as_of="2026-11-02"), "STK-004") == set()
    assert keys(stock_folder(tmp_path, as_of="2026-11-02 00:01"), "STK-004") == {"A", "B", "GHOST"}


def test_stk_004_a_recount_before_the_count_does_not_count(tmp_path):
    recounts = [count("R0", "2026-10-29", "A", 71, recount="是")]
    assert "A" in keys(stock_folder(tmp_path, recounts, as_of="2026-11-10"), "STK-004")


def test_stk_005_shortage_confirmed_by_the_latest_recount_is_charged_at_retail(tmp_path):
    # A: book on 10-31 is 69; first recount 69 (fine), latest 66 → short 3 at 12.5
    recounts = [
        count("R1", "2026-10-31", "A", 69, recount="是"),
        count("R2", "2026-10-31", "B", 18, recount="是"),
        count("R3", "2026-10-31", "A", 66, recount="是"),
    ]
    found = stock_folder(tmp_path, recounts)
    stk5 = found[found["rule_id"] == "STK-005"].set_index("key")
    assert set(stk5.index) == {"A", "B"}
    assert (stk5.loc["A", "observed"], stk5.loc["A", "amount"]) == (3, 37.5)
    assert (stk5.loc["B", "observed"], stk5.loc["B", "amount"]) == (1, 3)


def test_stk_006_ledger_every_day_that_has_ended(tmp_path):
    rows = [r for r in ledger_rows("A", "2026-10-01", 31) if r["date"] != "2026-10-18"]
    write(tmp_path, stock_ledger=rows)
    assert keys(audit(tmp_path, rules="STK-006"), "STK-006") == {"2026-10-18"}
    mid = audit(tmp_path, rules="STK-006", as_of="2026-10-18 23:59")
    assert mid.empty and summary_row(mid, "STK-006")["checked"] == 17


def test_stk_007_roll_forward_and_continuity_across_a_missing_day(tmp_path):
    rows = ledger_rows("A", "2026-10-01", 10, opening=100)
    by_date = {r["date"]: r for r in rows}
    by_date["2026-10-03"]["closing_qty"] += 7  # arithmetic slip; 10-04 then opens 7 below that close
    for day in ("2026-10-05", "2026-10-06", "2026-10-07", "2026-10-08", "2026-10-09", "2026-10-10"):
        by_date[day]["opening_qty"] += 1  # 10-05 moved nothing, so the days after hold one more...
        by_date[day]["closing_qty"] += 1
    by_date["2026-10-05"]["out_qty"] = 0
    del by_date["2026-10-05"]  # ...and 10-05 is missing: 10-06 follows 10-04 without a break
    for day in ("2026-10-08", "2026-10-09", "2026-10-10"):
        by_date[day]["opening_qty"] -= 2  # 10-08 opens 2 below 10-07's close, then rolls on
        by_date[day]["closing_qty"] -= 2
    write(tmp_path, stock_ledger=list(by_date.values()))
    found = audit(tmp_path, rules="STK-007", lang="en")
    assert found.set_index("key")["observed"].to_dict() == {"A/2026-10-03": 7, "A/2026-10-04": -7, "A/2026-10-08": -2}
    assert found.set_index("key").loc["A/2026-10-08", "message"] == "opening 92 ≠ closing 94 of 2026-10-07"


def test_stk_008_purchases_equal_finance_write_off(tmp_path):
    rows = ledger_rows("A", "2026-10-01", 3) + ledger_rows("B", "2026-10-01", 3)
    rows[0]["in_qty"], rows[0]["closing_qty"] = 10, rows[0]["closing_qty"] + 10
    rows[1]["opening_qty"] += 10
    rows[1]["closing_qty"] += 10
    rows[2]["opening_qty"] += 10
    rows[2]["closing_qty"] += 10
    write(
        tmp_path,
        stock_ledger=rows,
        finance_writeoffs=[
            dict(month="2026年10月", sku="A", kind="进货", qty=10),
            dict(month="2026-10", sku="C", kind="purchase", qty=5),
            dict(month="2026-10", sku="A", kind="gift", qty=3),
            dict(month="2026-09", sku="B", kind="purchase", qty=8),
        ],
    )
    found = audit(tmp_path, rules="STK-008")
    assert keys(found, "STK-008") == {"C"}
    assert found["observed"].iloc[0] == -5


def test_stk_009_negative_stock(tmp_path):
    rows = ledger_rows("A", "2026-10-01", 5, opening=2)
    write(tmp_path, stock_ledger=rows)
    found = audit(tmp_path, rules="STK-009")
    assert keys(found, "STK-009") == {"A/2026-10-03", "A/2026-10-04", "A/2026-10-05"}
    assert found["observed"].tolist() == [-1, -2, -3]


@pytest.mark.parametrize("rule", ["STK-003", "STK-007", "STK-009"])
def test_stk_003_007_009_rows_of_other_months_are_left_out(tmp_path, rule):
    rows = ledger_rows("A", "2026-09-25", 5, opening=1) + ledger_rows("A", "2026-10-01", 1, opening=-4, out=0)
    write(tmp_path, stock_ledger=rows, stock_counts=[count("SEP", "2026-09-30", "A", 99)])
    found = audit(tmp_path, rules=rule)
    assert all(not k.startswith("A/2026-09") for k in found["key"])
    assert rule != "STK-003" or found.empty


SEPTEMBER_LEDGER = [
    {"date": "2026-09-29", "sku": "A", "opening_qty": 10, "closing_qty": 10},
    {"date": "2026-09-30", "sku": "A", "opening_qty": 10, "closing_qty": 8, "out_qty": 2},
    {"date": "2026-09-30", "sku": "B", "opening_qty": 5, "closing_qty": 5},
]
OCTOBER_LEDGER = [
    {"date": "2026-10-01", "sku": "A", "opening_qty": 10, "closing_qty": 10},  # September closed at 8
    {"date": "2026-10-01", "sku": "B", "opening_qty": 5, "closing_qty": 5},
    {"date": "2026-10-02", "sku": "A", "opening_qty": 10, "closing_qty": 10},
]


def test_stk_007_the_first_day_rolls_forward_from_the_previous_month_of_a_root(tmp_path):
    write(tmp_path / "2026-09", stock_ledger=SEPTEMBER_LEDGER)
    write(tmp_path / "2026-10", stock_ledger=OCTOBER_LEDGER)
    result = opskit.run_checks(opskit.load(tmp_path, month="2026-10"), month="2026-10", rules="STK-007")
    found = result.findings
    assert keys(found, "STK-007") == {"A/2026-10-01"}
    row = found.set_index("key").loc["A/2026-10-01"]
    assert row["observed"] == 2 and row["message"] == "期初 10 ≠ 2026-09-30 期末 8"
    assert result.summary.set_index("rule_id").loc["STK-007", "checked"] == 3
    alone = opskit.check(opskit.load(tmp_path / "2026-10"), month="2026-10", rules="STK-007")
    assert alone.empty  # a single month folder has no previous row for its first day


def test_stk_007_an_unreadable_previous_month_is_a_notice_not_a_failure(tmp_path):
    write(tmp_path / "2026-10", stock_ledger=OCTOBER_LEDGER)
    (tmp_path / "2026-09").mkdir()
    (tmp_path / "2026-09" / "stock_ledger.csv").write_text(
        "日期,商品编码,期初,期末\n2026-09-30,A,x,8\n", encoding="utf-8"
    )
    data = opskit.load(tmp_path, month="2026-10")
    assert data.prior == {}
    assert any(n.startswith("2026-09/stock_ledger.csv, row 2, column 期初") for n in data.notices)
    assert opskit.check(data, month="2026-10", rules="STK-007").empty

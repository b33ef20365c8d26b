"""A check of a few month-scoped rules cuts orders and tickets to the month's first records before
parsing (see `loader.MonthFirst`): the findings, the summary and the notices must be exactly those
of the whole load, and a bad cell the rules read is still named by file, row and column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import write

import opskit
from opskit import keys
from opskit.errors import DataError
from opskit.runner import run_checks

RULES = "ORD-001,ORD-003,ORD-005,ORD-009,CS-001,CS-002,CS-004"


def _orders() -> list[dict]:
    def order(order_id, created, paid=None, shipped=None, **kw):
        return {
            "order_id": order_id,
            "channel": kw.pop("channel", "tmall"),
            "customer_id": kw.pop("customer_id", "C1"),
            "created_at": created,
            "paid_at": paid,
            "accepted_at": kw.pop("accepted_at", None),
            "contacted_at": kw.pop("contacted_at", None),
            "shipped_at": shipped,
            "delivered_at": kw.pop("delivered_at", None),
            "refunded_at": kw.pop("refunded_at", None),
            "amount": kw.pop("amount", 100.0),
        }

    return [
        order("S-OLD", "2026-09-20 10:00:00", "2026-09-20 10:05:00", "2026-09-21 09:00:00"),
        order("LATE", "2026-10-02 10:00:00", "2026-10-02 10:00:00", "2026-10-04 10:00:00"),
        # first recorded in September: its October version is a change (ORD-010), not an October order
        order("S-OLD", "2026-10-03 10:00:00", "2026-10-03 10:00:00", "2026-10-09 10:00:00", amount=90.0),
        order("OK", "2026-10-05 10:00:00", "2026-10-05 11:00:00", "2026-10-05 20:00:00"),
        # a later row of an October order: the first one is judged (late), not this one
        order("LATE", "2026-10-02 10:00:00", "2026-10-02 10:00:00", "2026-10-02 12:00:00"),
        order("NEVER", "2026-10-20 10:00:00", "2026-10-20 10:00:00", accepted_at="2026-10-20 10:00:00"),
        order("EARLY", "2026-10-21 10:00:00", None, "2026-10-21 09:00:00", delivered_at="2026-10-22 10:00:00"),
        order("NOV", "2026-11-01 00:00:00", "2026-11-01 00:00:00"),
        order("  PADDED ", "2026-10-22 10:00:00", "2026-10-22 10:00:00", "2026-10-25 10:00:00"),
        order("PADDED", "2026-10-23 10:00:00", "2026-10-23 10:00:00", "2026-10-23 11:00:00"),
    ]


def _tickets() -> list[dict]:
    def ticket(ticket_id, created, reply=None, **kw):
        return {
            "ticket_id": ticket_id,
            "channel": "phone",
            "type": kw.pop("type", "inquiry"),
            "category": kw.pop("category", "物流"),
            "created_at": created,
            "first_reply_at": reply,
            "resolved_at": kw.pop("resolved_at", None),
            "feedback_at": kw.pop("feedback_at", None),
        }

    return [
        ticket("T1", "2026-10-01 09:00:00", "2026-10-03 09:00:00"),
        ticket("T2", "2026-09-30 09:00:00", "2026-09-30 10:00:00"),
        ticket("T2", "2026-10-01 09:00:00"),
        ticket("T3", "2026-10-10 09:00:00", "2026-10-10 10:00:00", type="after_sales", category=None),
        ticket("T4", "2026-10-31 23:00:00"),  # no reply yet, but only an hour old at as_of: pending
    ]


def _folder(tmp_path, fmt: str):
    orders, tickets = pd.DataFrame(_orders()), pd.DataFrame(_tickets())
    folder = tmp_path / fmt / "2026-10"
    if fmt == "csv":
        return write(folder, orders=orders, cs_tickets=tickets)
    folder.mkdir(parents=True)
    for name, frame in (("orders", orders), ("cs_tickets", tickets)):
        for column in [c for c in frame.columns if c.endswith("_at")]:
            frame[column] = pd.to_datetime(frame[column])
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_month_cut_finds_what_the_whole_load_finds(tmp_path, fmt):
    folder = _folder(tmp_path, fmt)
    whole = run_checks(opskit.load(folder), "2026-10", rules=RULES)
    cut = run_checks(folder, "2026-10", rules=RULES)
    pd.testing.assert_frame_equal(cut.findings, whole.findings)
    pd.testing.assert_frame_equal(cut.summary, whole.summary)
    assert cut.notices == whole.notices
    assert set(zip(cut.findings["rule_id"], cut.findings["key"], strict=True)) == {
        ("ORD-003", "LATE"),
        ("ORD-003", "NEVER"),
        ("ORD-003", "PADDED"),  # the padded id is the same order as `PADDED`: its first row is judged
        ("ORD-001", "NEVER"),
        ("ORD-005", "EARLY"),
        ("ORD-009", "EARLY"),
        ("CS-001", "T1"),
        ("CS-002", "T3"),
        ("CS-004", "T3"),
    }
    assert any("3 later rows of repeated order_id values set aside" in n for n in cut.notices)
    assert any("1 later rows of repeated ticket_id values set aside" in n for n in cut.notices)
    # the source points at the first record's line in the file, not at its place among the month's rows
    late = cut.findings.set_index(["rule_id", "key"]).loc[("ORD-003", "LATE")]
    assert late["source"] == (f"orders.{fmt}:3" if fmt == "csv" else f"orders.{fmt}:2")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_loader_converts_only_the_month_first_records(tmp_path, fmt):
    folder = _folder(tmp_path, fmt)
    data = opskit.load(
        folder,
        datasets={"orders"},
        columns={"orders": {"paid_at", "shipped_at"}},
        month_first={
            "orders": opskit.loader.MonthFirst(
                "order_id", "created_at", pd.Timestamp("2026-10-01"), pd.Timestamp("2026-11-01"), "2026-10"
            )
        },
    )
    orders = data["orders"]
    assert list(orders["order_id"]) == ["LATE", "OK", "NEVER", "EARLY", "PADDED"]
    assert list(orders["_row"]) == ([3, 5, 7, 8, 10] if fmt == "csv" else [2, 4, 6, 7, 9])
    assert data.month_first == {
        "orders": ("order_id", "created_at", "2026-10", 3, {"2026-09": 1, "2026-10": 8, "2026-11": 1})
    }


def test_a_bad_cell_outside_the_month_does_not_stop_a_month_check(tmp_path):
    rows = _orders()
    rows[0]["channel"] = "淘宝"  # a September order: no month-scoped rule reads it
    folder = write(tmp_path / "2026-10", orders=rows)
    with pytest.raises(DataError, match="淘宝"):
        opskit.load(folder)  # the analyst's whole load still names it
    found = run_checks(folder, "2026-10", rules="ORD-003")
    assert set(found.findings["key"]) == {"LATE", "NEVER", "PADDED"}


def test_a_bad_cell_in_the_month_is_named_by_its_file_row_and_column(tmp_path):
    rows = _orders()
    rows[5]["channel"] = "淘宝"  # NEVER, an October order on line 7 of the file
    folder = write(tmp_path / "2026-10", orders=rows)
    with pytest.raises(DataError) as err:
        run_checks(folder, "2026-10", rules="ORD-003")
    text = str(err.value)
    assert "orders.csv" in text and "row 7" in text and "channel" in text and "淘宝" in text


def test_a_blank_key_falls_back_to_the_whole_load_and_its_message(tmp_path):
    rows = _orders()
    rows[1]["order_id"] = None
    folder = write(tmp_path / "2026-10", orders=rows)
    with pytest.raises(DataError) as err:
        run_checks(folder, "2026-10", rules="ORD-003")
    assert "order_id is blank but required" in str(err.value) and "row 3" in str(err.value)


# --------------------------------------------------------------------------- repeated keys


def _strings(values) -> pd.Series:
    return pd.Series(values, dtype="str")


@pytest.mark.parametrize(
    "values",
    [
        ["A", "B", "A", "C", "B", "A"],
        ["JX2610000001", "WX2610000002", "JX2610000001-R", "JX2610000001"],
        ["订单1", "订单2", "订单1"],  # not ASCII: compared by pandas
        ["x" * 70, "x" * 70, "x" * 69],  # longer than the word path takes
        ["A", "A\x00", "A"],  # zero padding must not make these equal
        [],
        ["only"],
    ],
)
def test_repeated_is_duplicated_keep_first(values):
    series = _strings(values)
    assert keys.repeated(series).tolist() == series.duplicated(keep="first").tolist()


def test_repeated_with_missing_values_matches_pandas():
    series = _strings(["A", None, "A", None])
    assert keys.repeated(series).tolist() == [False, False, True, True]


def test_repeated_tells_colliding_numbers_apart(monkeypatch):
    # every id mixes to the same number: only the text comparison can answer
    monkeypatch.setattr(keys, "_mix", lambda words, lengths: np.zeros(len(lengths), dtype=np.uint64))
    series = _strings(["K1", "K2", "K1", "K3", "K2"])
    assert keys.repeated(series).tolist() == [False, False, True, False, True]


def test_repeated_on_a_million_generated_ids_matches_pandas():
    ids = pd.Series(np.random.default_rng(1).integers(0, 600_000, 1_000_000)).astype("str")
    series = ("JX26" + ids.str.zfill(7)).astype("str")
    assert (keys.repeated(series) == series.duplicated(keep="first").to_numpy()).all()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_chinese_order_ids_are_cut_alike(tmp_path, fmt):
    orders = pd.DataFrame(_orders())
    orders["order_id"] = [v.replace(v.strip(), "订单-" + v.strip()) for v in orders["order_id"]]  # padding kept
    folder = tmp_path / "2026-10"
    if fmt == "csv":
        write(folder, orders=orders)
    else:
        folder.mkdir()
        for column in [c for c in orders.columns if c.endswith("_at")]:
            orders[column] = pd.to_datetime(orders[column])
        orders.to_parquet(folder / "orders.parquet", index=False)
    whole = run_checks(opskit.load(folder), "2026-10", rules="ORD-003")
    cut = run_checks(folder, "2026-10", rules="ORD-003")
    pd.testing.assert_frame_equal(cut.findings, whole.findings)
    assert cut.notices == whole.notices
    assert set(cut.findings["key"]) == {"订单-LATE", "订单-NEVER", "订单-PADDED"}


@pytest.mark.parametrize("bits", [24, 2])  # 2 bits: nearly every row is a candidate and is looked up exactly
def test_repeating_numbers_are_duplicated_keep_false(bits):
    rng = np.random.default_rng(7)
    numbers = rng.integers(0, 2**63, 200_000, dtype=np.int64).astype(np.uint64)
    numbers[rng.integers(0, len(numbers), 5_000)] = numbers[rng.integers(0, len(numbers), 5_000)]
    numbers[:3] = np.uint64(2**64 - 1)  # the largest number repeats too
    expected = pd.Series(numbers).duplicated(keep=False).to_numpy()
    assert expected.sum() > 5_000
    assert (keys.repeating(numbers, bits=bits) == expected).all()
    assert not keys.repeating(np.arange(1000, dtype=np.uint64)).any()
    assert keys.repeating(np.array([5, 5], dtype=np.uint64)).tolist() == [True, True]
    assert keys.repeating(np.array([], dtype=np.uint64)).tolist() == []


def test_repeated_across_chunks_of_different_widths():
    import pyarrow as pa

    arrow = pa.chunked_array([["AAAAA", "B"], ["C" * 20, "AAAAA"], [" AAAAA  ", "D"]])
    assert keys.repeated_arrow(arrow).tolist() == [False, False, False, True, False, False]
    assert keys.repeated_arrow(arrow, trim=True).tolist() == [False, False, False, True, True, False]


def test_month_notices_count_the_whole_file(tmp_path):
    rows = _orders()
    september = [dict(r, order_id=f"SEP{i}", created_at="2026-09-10 10:00:00") for i, r in enumerate(rows * 3)]
    folder = write(tmp_path / "export", orders=rows + september)  # not named by month: the month is asked for
    whole = run_checks(opskit.load(folder), "2026-10", rules="ORD-003")
    cut = run_checks(folder, "2026-10", rules="ORD-003")
    assert cut.notices == whole.notices
    assert any("most rows of this data fall in 2026-09 (31 rows), only 8 in 2026-10" in n for n in cut.notices)
    pd.testing.assert_frame_equal(cut.findings, whole.findings)


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_months_of_counts_rows_per_calendar_month(unit):
    from opskit.loader import months_of

    rng = np.random.default_rng(3)
    times = np.datetime64("2026-09-20", unit) + rng.integers(0, 45 * 86400, 50_000).astype("timedelta64[s]")
    times = times.astype(f"datetime64[{unit}]")
    times[::97] = np.datetime64("NaT")
    times[1] = np.datetime64("2026-10-01T00:00:00")  # a month's first instant belongs to that month
    times[2] = np.datetime64("2026-09-30T23:59:59")
    times[3] = np.datetime64("1999-12-31T23:59:59")  # far from the rest: the months between hold nothing
    months = times[~np.isnat(times)].astype("datetime64[M]").astype(str)
    expected = dict(zip(*np.unique(months, return_counts=True), strict=True))
    assert months_of(times) == {m: int(n) for m, n in expected.items()}
    assert "2026-01" not in months_of(times) and months_of(times)["1999-12"] == 1
    assert months_of(np.array(["NaT"], dtype="datetime64[ns]")) == {}
    assert months_of(np.array([], dtype="datetime64[ns]")) == {}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_month_kept_nearly_whole_is_cut_by_slices_and_finds_the_same(tmp_path, fmt, monkeypatch):
    """A month's export less a few repeated keys keeps nearly every row in a few runs: the loader
    slices the file instead of taking every row (`loader._take_rows`); the findings stay those of
    the whole load, and each kept row keeps its line in the file."""
    from opskit import loader

    many = [
        {**_orders()[3], "order_id": f"N{i:04d}", "created_at": f"2026-10-{1 + i % 28:02d} 10:00:00"} for i in range(60)
    ]
    rows = [*_orders(), *many]
    folder = tmp_path / fmt / "2026-10"
    frame = pd.DataFrame(rows)
    if fmt == "csv":
        write(folder, orders=frame)
    else:
        folder.mkdir(parents=True)
        for column in [c for c in frame.columns if c.endswith("_at")]:
            frame[column] = pd.to_datetime(frame[column])
        frame.to_parquet(folder / "orders.parquet", index=False)
    sliced = []
    real = loader.runs
    monkeypatch.setattr(loader, "runs", lambda positions: sliced.append(len(positions)) or real(positions))
    rules = "ORD-001,ORD-003,ORD-005,ORD-009"
    cut = run_checks(folder, "2026-10", rules=rules)
    assert sliced == [len(rows) - 5]  # S-OLD twice (September's, then a change), LATE and PADDED again, NOV
    whole = run_checks(opskit.load(folder), "2026-10", rules=rules)
    pd.testing.assert_frame_equal(cut.findings, whole.findings)
    pd.testing.assert_frame_equal(cut.summary, whole.summary)
    assert cut.notices == whole.notices


def test_slices_give_exactly_the_rows_a_take_gives():
    import pyarrow as pa

    from opskit import loader

    table = pa.table({"id": pa.array([f"k{i}" for i in range(100)]), "n": pa.array(range(100), pa.float64())})
    table = pa.concat_tables([table.slice(0, 37), table.slice(37)])  # chunked, as files are read
    positions = np.array([*range(0, 10), *range(12, 50), *range(51, 100)])
    assert [list(x) for x in loader.runs(positions)] == [[0, 12, 51], [10, 50, 100]]
    sliced = loader._take_rows([table], positions)
    assert sliced.num_rows == len(positions) and sliced.column("id").num_chunks > 1  # slices, not a copy
    assert sliced.equals(table.take(pa.array(positions)))
    few = positions[::7]  # far from nearly all: taken
    assert loader._take_rows([table], few).equals(table.take(pa.array(few)))
    assert [list(x) for x in loader.runs(np.array([5]))] == [[5], [6]]

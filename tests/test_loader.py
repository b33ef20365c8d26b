"""The loader reads real exports (encodings, title rows, Chinese headers, spellings) and refuses
bad ones with one message naming file, row and column."""

import pandas as pd
import pytest
from openpyxl import Workbook

import opskit
from opskit import DataError
from opskit.loader import load_dataset

ORDERS_ZH = "订单编号,渠道,下单时间,付款时间,订单金额,特殊情况\n"


def csv(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def xlsx(path, rows, sheet="Sheet1"):
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_chinese_headers_and_values_in_every_encoding(tmp_path, encoding):
    text = ORDERS_ZH + 'A1,天猫旗舰店,2026-10-05 14:03:00,2026/10/5 14:03,"￥1,234.50",是\n'
    text += "A2,微店,2026年10月5日 14:03,,12.0,否\nA3,经销商,2026-10-05,,,\n"
    frame = load_dataset(csv(tmp_path / "orders.csv", text, encoding), "orders")
    assert list(frame["channel"]) == ["tmall", "wechat", "distributor"]
    assert list(frame["created_at"]) == [pd.Timestamp("2026-10-05 14:03")] * 2 + [pd.Timestamp("2026-10-05")]
    assert frame["paid_at"].iloc[0] == pd.Timestamp("2026-10-05 14:03")
    assert list(frame["amount"].fillna(-1)) == [1234.5, 12.0, -1]
    assert list(frame["special_case"]) == [True, False, False]
    assert list(frame["_row"]) == [2, 3, 4]


def test_headers_ignore_case_spaces_and_full_width(tmp_path):
    text = " ORDER_ID ,Ｃｈａｎｎｅｌ,created_at\nA1,TMALL,2026-10-05 14:03\n"
    frame = load_dataset(csv(tmp_path / "orders.csv", text), "orders")
    assert frame.loc[0, "order_id"] == "A1" and frame.loc[0, "channel"] == "tmall"


def test_header_below_a_title_row_and_excel_dates(tmp_path):
    import datetime as dt

    rows = [
        ["电商台帐表 2026年10月"],
        [],
        ["日期", "商品编码", "期初", "入库", "期末"],
        [dt.datetime(2026, 10, 1), "SKU1", 10, None, 10],
        [dt.datetime(2026, 10, 2), 1001, 10.0, 5, 15],
    ]
    frame = load_dataset(xlsx(tmp_path / "ledger.xlsx", rows), "stock_ledger")
    assert list(frame["date"]) == [pd.Timestamp("2026-10-01"), pd.Timestamp("2026-10-02")]
    assert list(frame["sku"]) == ["SKU1", "1001"]
    assert list(frame["in_qty"]) == [0, 5] and list(frame["out_qty"]) == [0, 0]
    assert list(frame["_row"]) == [4, 5]


def test_manifest_maps_file_sheet_and_extra_aliases(tmp_path):
    xlsx(tmp_path / "十月盘点.xlsx", [["单号", "日期", "编码", "数量"], ["PD1", "2026/10/30", "S1", 3]], sheet="盘点")
    (tmp_path / "opskit.yaml").write_text(
        "datasets:\n  stock_counts:\n    file: 十月盘点.xlsx\n    sheet: 盘点\n"
        "    aliases: {count_id: 单号, count_date: 日期, sku: 编码, counted_qty: [数量]}\n",
        encoding="utf-8",
    )
    data = opskit.load(tmp_path)
    assert data["stock_counts"].loc[0, "counted_qty"] == 3
    assert data.files["stock_counts"] == "十月盘点.xlsx"


def test_parquet_with_typed_columns(tmp_path):
    pd.DataFrame(
        {"ticket_id": ["T1"], "sent_at": [pd.Timestamp("2026-10-05 10:00")], "sender": ["客服"], "text": ["您好"]}
    ).to_parquet(tmp_path / "cs_messages.parquet")
    frame = opskit.load(tmp_path)["cs_messages"]
    assert frame.loc[0, "sender"] == "agent" and frame.loc[0, "_row"] == 1


def test_exact_duplicates_are_reported_and_dropped(tmp_path):
    text = "order_id,channel,created_at\nA1,tmall,2026-10-05 10:00\nA1,天猫,2026/10/5 10:00\nA2,tmall,2026-10-05\n"
    csv(tmp_path / "orders.csv", text)
    data = opskit.load(tmp_path)
    assert list(data["orders"]["order_id"]) == ["A1", "A2"]
    assert data.notices == ["orders.csv: 1 exact duplicate rows dropped (rows 3)"]


def test_data_root_picks_the_month_folder(tmp_path):
    for month in ("2026-09", "2026-10"):
        (tmp_path / month).mkdir()
        csv(tmp_path / month / "orders.csv", "order_id,channel,created_at\nA,tmall,2026-10-05\n")
    assert opskit.load(tmp_path, month="2026-09").folder == tmp_path / "2026-09"
    assert opskit.load(tmp_path).month == "2026-10"
    with pytest.raises(DataError, match="no folder for month 2026-08"):
        opskit.load(tmp_path, month="2026-08")


# --------------------------------------------------------------------------- errors


def error(tmp_path, name, text, dataset="orders", encoding="utf-8"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        csv(path, text, encoding)
    with pytest.raises(DataError) as info:
        load_dataset(path, dataset)
    return info.value


def test_missing_required_column_lists_the_aliases_tried(tmp_path):
    e = error(tmp_path, "orders.csv", "订单编号,下单时间\nA1,2026-10-05\n")
    assert str(e).startswith("orders.csv: missing required column channel (channel, 渠道, 店铺, 来源)")


def test_unparseable_timestamp_names_file_row_and_column(tmp_path):
    e = error(tmp_path, "orders.csv", ORDERS_ZH + "A1,天猫,2026-10-05 10:00,,,\nA2,天猫,2026-13-45 10:00,,,\n")
    assert (e.file, e.row, e.column) == ("orders.csv", 3, "下单时间 (created_at)")
    assert "'2026-13-45 10:00'" in str(e) and "expected a time like" in str(e)


def test_row_numbers_count_the_title_rows(tmp_path):
    text = "订单导出 2026年10月\n\n" + ORDERS_ZH + "A1,天猫,2026-10-05 10:00,,abc,\n"
    e = error(tmp_path, "orders.csv", text)
    assert (e.row, e.column) == (4, "订单金额 (amount)")


def test_unparseable_number_and_fractional_quantity(tmp_path):
    e = error(tmp_path, "order_lines.csv", "order_id,sku,qty,unit_price\nA,S,1.5,10\n", "order_lines")
    assert (e.row, e.column) == (2, "qty") and "whole number" in str(e)


def test_unknown_enumeration_value(tmp_path):
    e = error(tmp_path, "orders.csv", "order_id,channel,created_at\nA,京东,2026-10-05\n")
    assert (e.row, e.column) == (2, "channel")
    assert "'京东'" in str(e) and "tmall (天猫/天猫旗舰店)" in str(e)


def test_unknown_boolean(tmp_path):
    e = error(tmp_path, "orders.csv", "order_id,channel,created_at,special_case\nA,tmall,2026-10-05,maybe\n")
    assert e.column == "special_case" and "是/否" in str(e)


def test_empty_file(tmp_path):
    assert "the file is empty" in str(error(tmp_path, "orders.csv", ""))


def test_no_header_row(tmp_path):
    e = error(tmp_path, "orders.csv", "a,b,c\n1,2,3\n")
    assert "no header row for orders within the first 10 rows" in str(e)


def test_missing_sheet(tmp_path):
    xlsx(tmp_path / "orders.xlsx", [["order_id", "channel", "created_at"]], sheet="十月")
    (tmp_path / "opskit.yaml").write_text("datasets:\n  orders: {file: orders.xlsx, sheet: 九月}\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"no sheet named '九月' \(expected one of 十月\)"):
        opskit.load(tmp_path)


def test_file_that_is_not_what_its_extension_says(tmp_path):
    e = error(tmp_path, "orders.xlsx", "order_id,channel\nA,tmall\n")
    assert "is not an Excel workbook" in str(e)
    e = error(tmp_path, "orders.parquet", b"PAR1 not really")
    assert "is not a Parquet file" in str(e)
    e = error(tmp_path, "orders.csv", b"\x00\x01\x02binary\x00")
    assert "is not a text file" in str(e)


def test_manifest_naming_a_missing_file(tmp_path):
    (tmp_path / "opskit.yaml").write_text("datasets:\n  orders: {file: 订单.xlsx}\n", encoding="utf-8")
    with pytest.raises(DataError, match="orders: file '订单.xlsx' does not exist"):
        opskit.load(tmp_path)


def test_manifest_may_not_point_outside_the_folder(tmp_path):
    (tmp_path / "month").mkdir()
    csv(tmp_path / "orders.csv", "order_id,channel,created_at\n")
    (tmp_path / "month" / "opskit.yaml").write_text("datasets:\n  orders: ../orders.csv\n", encoding="utf-8")
    with pytest.raises(DataError, match="lies outside the data folder"):
        opskit.load(tmp_path / "month")


def test_two_files_for_one_dataset(tmp_path):
    csv(tmp_path / "orders.csv", "order_id,channel,created_at\n")
    csv(tmp_path / "订单.csv", "order_id,channel,created_at\n")
    with pytest.raises(DataError, match="several files for orders"):
        opskit.load(tmp_path)


def test_malformed_csv_row(tmp_path):
    e = error(tmp_path, "orders.csv", "order_id,channel,created_at\nA,tmall,2026-10-05\nB,tmall,2026-10-05,x,y\n")
    assert "malformed CSV" in str(e) and e.row == 3


def test_two_headers_meaning_the_same_column(tmp_path):
    e = error(tmp_path, "orders.csv", "订单编号,订单号,渠道,下单时间\nA,A,tmall,2026-10-05\n")
    assert "both mean order_id" in str(e)


def test_malformed_row_below_a_title_row(tmp_path):
    e = error(tmp_path, "orders.csv", "订单导出\norder_id,channel,created_at\nA,tmall,2026-10-05\nB,tmall,x,y\n")
    assert e.row == 4


def test_blank_required_value_names_its_row(tmp_path):
    e = error(tmp_path, "orders.csv", "order_id,channel,created_at\nA,tmall,2026-10-05\nB,tmall,\n,,\nC,,2026-10-05\n")
    assert (e.row, e.column) == (3, "created_at")
    assert str(e).splitlines() == [
        "orders.csv: 2 bad cells",
        "  - row 3, column created_at: created_at is blank but required (expected a value in every row of orders)",
        "  - row 5, column channel: channel is blank but required (expected a value in every row of orders)",
    ]


def test_fully_blank_rows_are_ignored_with_a_notice(tmp_path):
    csv(tmp_path / "orders.csv", "order_id,channel,created_at\nA,tmall,2026-10-05\n,,\n ,, \nB,tmall,2026-10-06\n")
    data = opskit.load(tmp_path)
    assert list(data["orders"]["_row"]) == [2, 5]
    assert data.notices == ["orders.csv: 2 blank rows ignored"]


def test_blank_on_arrow_text_is_strip_then_empty_for_every_character():
    """`parsing.blank` asks Arrow whether every character is white space; it must agree with
    `str.strip() == ""` for every code point, alone and around text."""
    from opskit import parsing

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    values = pd.Series([*chars, "", None, " a ", "\u3000\u3000", "\t\n", "a\u3000"], dtype="str")
    assert parsing.arrow_text(values) is not None
    expected = values.isna() | (values.str.strip() == "")
    assert parsing.blank(values).tolist() == expected.tolist()
    as_objects = values.astype(object)
    assert parsing.blank(as_objects).tolist() == expected.tolist()  # the pandas spelling, for other storage


@pytest.mark.parametrize("key", ["合计", "  合计 ", "Total", "TOTAL", "grand total", " Grand Total\u3000", "小計"])
def test_a_totals_row_is_set_aside_however_its_key_is_spelled(tmp_path, key):
    """The totals test on Arrow text compares plain ASCII ids as they stand and strips only the others."""
    path = csv(
        tmp_path / "orders.csv",
        f'订单编号,渠道,下单时间,订单金额\nA1,天猫,2026-10-05 10:00,10\nTOTALX,天猫,2026-10-05 11:00,5\n"{key}",,,15\n',
    )
    notices = []
    orders = load_dataset(path, "orders", notices=notices)
    assert list(orders["order_id"]) == ["A1", "TOTALX"] and list(orders["_row"]) == [2, 3]
    assert [n.id for n in notices] == ["totals_rows"]


@pytest.mark.parametrize("fmt", ["clean csv", "messy csv", "parquet", "xlsx"])
def test_a_time_pandas_cannot_hold_is_a_bad_cell_not_a_crash(tmp_path, fmt):
    """A typed year like 3026 is past what pandas' nanosecond times hold (2262): it is named by file, row
    and column in every format, never an overflow traceback."""
    import datetime as dt

    good, typo = dt.datetime(2026, 10, 5, 10, 5), dt.datetime(3026, 10, 5, 10, 5)
    if fmt == "parquet":
        frame = pd.DataFrame({"订单编号": ["A1", "A2"], "渠道": ["天猫", "天猫"], "下单时间": [good, good]})
        frame["付款时间"] = pd.Series([good, typo], dtype="datetime64[us]")
        path = tmp_path / "orders.parquet"
        frame.to_parquet(path, index=False)
        row = 2
    elif fmt == "xlsx":
        path = xlsx(
            tmp_path / "orders.xlsx",
            [["订单编号", "渠道", "下单时间", "付款时间"], ["A1", "天猫", good, good], ["A2", "天猫", good, typo]],
        )
        row = 3
    else:
        odd = "2026/10/5 10:05" if fmt == "messy csv" else "2026-10-05 10:05"
        path = csv(
            tmp_path / "orders.csv",
            f"订单编号,渠道,下单时间,付款时间\nA1,天猫,{odd},2026-10-05 10:05\n"
            "A2,天猫,2026-10-05 10:05,3026-10-05 10:05\n",
        )
        row = 3
    with pytest.raises(DataError) as caught:
        load_dataset(path, "orders")
    assert caught.value.row == row and "付款时间 (paid_at)" in caught.value.column
    assert "3026-10-05 10:05" in str(caught.value)


@pytest.mark.parametrize("value", ["#N/A", "#DIV/0!"])
def test_an_excel_error_value_in_a_clean_csv_is_named(tmp_path, value):
    path = csv(
        tmp_path / "orders.csv",
        f"订单编号,渠道,下单时间,客户编号\nA1,天猫,2026-10-05 10:00,C1\nA2,天猫,2026-10-05 10:00,{value}\n",
    )
    with pytest.raises(DataError, match=f"row 3, column 客户编号 \\(customer_id\\): '{value}' is an Excel error"):
        load_dataset(path, "orders")
    path.write_text("订单编号,渠道,下单时间,客户编号\nA1,天猫,2026-10-05 10:00,C#1\n", encoding="utf-8")
    assert list(load_dataset(path, "orders")["customer_id"]) == ["C#1"]  # a `#` inside a value is a value


@pytest.mark.parametrize(
    "spelling",
    [
        "2026-02-30 10:05",
        "2026-02-29",
        "2026-04-31 00:00:00",
        "2026/2/30 10:05",
        "2026-10-05 10:05:60",
        "2026/10/5 25:00",
    ],
)
def test_an_impossible_time_is_named_not_rolled_into_the_next_month(tmp_path, spelling):
    """February 30th used to become March 2nd without a word (Arrow's strptime rolls the day over), and
    `2026/10/5 25:00` the 6th at 01:00 (pandas adds the hours): each is a bad cell, in the plain spelling
    (a clean file) and the others (the tolerant path) alike."""
    path = csv(
        tmp_path / "orders.csv",
        f"订单编号,渠道,下单时间,付款时间\nA1,天猫,2026-10-05 10:05,2026-10-05 10:06\n"
        f"A2,天猫,2026-10-05 10:05,{spelling}\n",
    )
    with pytest.raises(DataError) as caught:
        load_dataset(path, "orders")
    assert caught.value.row == 3 and "付款时间 (paid_at)" in caught.value.column
    assert spelling in str(caught.value)


def test_plain_times_read_what_pandas_reads():
    """The CSV fast path for `YYYY-MM-DD[ HH:MM[:SS]]` against pandas, over the whole range of
    nanosecond times, with missing values and chunks as Arrow's CSV reader makes them."""
    import numpy as np
    import pyarrow as pa

    from opskit.parsing import plain_times

    rng = np.random.default_rng(7)
    low, high = pd.Timestamp("1678-01-01").value // 10**9, pd.Timestamp("2261-12-31 23:59:59").value // 10**9
    times = pd.Series(pd.to_datetime(rng.integers(low, high, 30_000), unit="s"))
    for fmt, cut in (("%Y-%m-%d %H:%M:%S", "s"), ("%Y-%m-%d %H:%M", "min"), ("%Y-%m-%d", "D")):
        text = times.dt.strftime(fmt).where(rng.random(len(times)) > 0.1)
        column = pa.chunked_array(
            [pa.array(p, pa.string(), from_pandas=True) for p in np.array_split(text.to_numpy(object), 7)]
        )
        parsed = plain_times(column)
        expected = times.dt.floor(cut).where(text.notna()).astype("datetime64[ns]")
        assert parsed is not None
        pd.testing.assert_series_equal(pd.Series(parsed.to_pandas()), expected, check_names=False)
    assert plain_times(pa.chunked_array([pa.array(["2026-10-05", "2026-10-05 10:05"])])) is None  # mixed: tolerant


def test_a_repeated_header_row_is_dropped_however_it_is_padded_and_only_when_whole(tmp_path):
    """A pasted page's header row is dropped when every required text cell is its header once
    stripped; a row where only some cells are, or a cell merely contains its header, is data."""
    path = csv(
        tmp_path / "orders.csv",
        ORDERS_ZH
        + "A1,天猫,2026-10-05 10:00,2026-10-05 10:05,100,\n"
        + '" 订单编号\u3000",  渠道 ,下单时间,付款时间,订单金额,特殊情况\n'
        + "订单编号,天猫,2026-10-05 11:00,2026-10-05 11:05,50,\n"
        + "旧订单编号,微店,2026-10-06 11:00,2026-10-06 11:01,50,\n",
    )
    notices = []
    orders = load_dataset(path, "orders", notices=notices)
    assert list(orders["order_id"]) == ["A1", "订单编号", "旧订单编号"]
    assert list(orders["_row"]) == [2, 4, 5]
    assert [str(n) for n in notices] == ["orders.csv: header row repeated at rows 3; those rows were dropped"]

"""Real Excel exports: title blocks, a header further down, data on another sheet, footers and totals
rows, read through python-calamine with the row numbers a person sees in Excel."""

import datetime as dt
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

import opskit
from opskit import DataError, OpskitNotice

HEADERS = ["订单编号", "渠道", "下单时间", "付款时间", "发货时间", "订单金额", "客户编号"]
EPOCH = dt.datetime(1899, 12, 30)


def _cell(ref: str, value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):  # an Excel date cell: a serial number in a date style
        return f'<c r="{ref}" s="1"><v>{(value - EPOCH) / dt.timedelta(days=1)!r}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def _column(index: int) -> str:
    name = ""
    while index >= 0:
        name = chr(65 + index % 26) + name
        index = index // 26 - 1
    return name


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    """A workbook written as its XML parts: fast enough for 100k rows inside a test (openpyxl takes ~20 s)."""
    letters = [_column(i) for i in range(64)]
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
            'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.styles+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-'
                f'officedocument.spreadsheetml.worksheet+xml"/>'
                for i in range(1, len(sheets) + 1)
            )
            + "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            + "".join(f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, 1))
            + "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                f'worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, len(sheets) + 1)
            )
            + f'<Relationship Id="rId{len(sheets) + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/styles" Target="styles.xml"/></Relationships>'
        ),
        "xl/styles.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            '2006/main"><fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/>'
            '</borders><cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0"/>'
            '<xf numFmtId="22" applyNumberFormat="1"/></cellXfs></styleSheet>'
        ),
    }
    for i, rows in enumerate(sheets.values(), 1):
        body = "".join(
            f'<row r="{r}">' + "".join(_cell(f"{letters[c]}{r}", v) for c, v in enumerate(row)) + "</row>"
            for r, row in enumerate(rows, 1)
        )
        parts[f"xl/worksheets/sheet{i}.xml"] = (
            '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            f'2006/main"><sheetData>{body}</sheetData></worksheet>'
        )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return path


def order_rows(n: int, start: dt.datetime = dt.datetime(2026, 10, 1, 9, 0)) -> list[list]:
    rows = []
    for i in range(n):
        created = start + dt.timedelta(minutes=i % 40_000)
        rows.append([f"T{i:06d}", "天猫旗舰店", created, created + dt.timedelta(minutes=5), None, 100 + i % 50, ""])
    return rows


def manifest(folder: Path, **entry) -> None:
    import yaml

    (folder / "opskit.yaml").write_text(
        yaml.safe_dump({"datasets": {"orders": {"file": "orders.xlsx", **entry}}}, allow_unicode=True), "utf-8"
    )


def test_a_100k_row_export_with_a_title_block_and_a_totals_row(tmp_path):
    rows = order_rows(100_000)
    total = sum(r[5] for r in rows)
    sheet = [
        ["订单导出 2026年10月"],
        ["导出时间：2026-11-01 08:00"],
        [],
        HEADERS,
        *rows,
        ["合计", "", "", "", "", total],
    ]
    write_xlsx(tmp_path / "orders.xlsx", {"订单": sheet})
    started = time.perf_counter()
    with pytest.warns(OpskitNotice, match=r"orders.xlsx: 1 totals rows set aside \(rows 100005\)"):
        data = opskit.load(tmp_path)
    seconds = time.perf_counter() - started
    orders = data["orders"]
    assert len(orders) == 100_000 and orders["amount"].sum() == total  # the totals row is not counted twice
    assert orders["_row"].iloc[0] == 5 and orders["_row"].iloc[-1] == 100_004  # as Excel numbers them
    assert orders["created_at"].iloc[0] == dt.datetime(2026, 10, 1, 9, 0)  # an Excel date cell, to the minute
    assert orders["paid_at"].iloc[-1] == rows[-1][3]
    assert set(orders["channel"]) == {"tmall"} and orders["shipped_at"].isna().all()
    print(f"\n100,000-row xlsx export loaded in {seconds:.1f} s")  # `make bench` measures it against openpyxl


def test_a_header_below_the_tenth_row_is_named_by_the_manifest(tmp_path):
    title = [[f"说明第{i}行"] for i in range(1, 13)]
    write_xlsx(tmp_path / "orders.xlsx", {"订单": [*title, HEADERS, *order_rows(3)]})
    with pytest.raises(DataError) as caught:
        opskit.load(tmp_path)
    assert "no header row for orders within the first 10 rows of sheet '订单'" in str(caught.value)
    assert "`header_row:` in opskit.yaml" in str(caught.value)
    manifest(tmp_path, header_row=13)
    orders = opskit.load(tmp_path)["orders"]
    assert list(orders["_row"]) == [14, 15, 16] and list(orders["order_id"]) == ["T000000", "T000001", "T000002"]


def test_data_on_another_sheet_names_the_sheet_read_and_the_sheets_present(tmp_path):
    write_xlsx(tmp_path / "orders.xlsx", {"说明": [["本表由系统导出"]], "订单": [HEADERS, *order_rows(2)]})
    with pytest.raises(DataError) as caught:
        opskit.load(tmp_path)
    assert "of sheet '说明' (the workbook also has: 订单; pick one with `sheet:`)" in str(caught.value)
    manifest(tmp_path, sheet="订单")
    assert list(opskit.load(tmp_path)["orders"]["_row"]) == [2, 3]
    manifest(tmp_path, sheet=2)
    assert len(opskit.load(tmp_path)["orders"]) == 2


def test_footer_rows_are_ignored_when_the_manifest_says_so(tmp_path):
    footer = [[], ["制表人：张三"], ["审核：李四"]]
    write_xlsx(tmp_path / "orders.xlsx", {"订单": [HEADERS, *order_rows(3), *footer]})
    with pytest.raises(DataError) as caught:
        opskit.load(tmp_path)  # without the manifest the signatures are rows with blank required values
    assert str(caught.value).startswith("orders.xlsx: 4 bad cells")
    assert [(p.row, p.column) for p in caught.value.problems] == [
        (6, "渠道 (channel)"),
        (6, "下单时间 (created_at)"),
        (7, "渠道 (channel)"),
        (7, "下单时间 (created_at)"),
    ]
    manifest(tmp_path, footer_rows=2)
    orders = opskit.load(tmp_path)["orders"]
    assert list(orders["_row"]) == [2, 3, 4]


def test_a_footer_larger_than_the_data_is_refused(tmp_path):
    write_xlsx(tmp_path / "orders.xlsx", {"订单": [HEADERS, *order_rows(2)]})
    manifest(tmp_path, footer_rows=5)
    with pytest.raises(DataError, match="footer_rows 5 is more than the 2 rows below the header"):
        opskit.load(tmp_path)


def test_unknown_manifest_keys_are_refused_by_name(tmp_path):
    write_xlsx(tmp_path / "orders.xlsx", {"订单": [HEADERS, *order_rows(2)]})
    manifest(tmp_path, footer=2)
    with pytest.raises(DataError, match="dataset 'orders': unknown key 'footer'.*footer_rows"):
        opskit.load(tmp_path)


def test_subtotal_rows_in_a_csv_are_set_aside_too(tmp_path):
    (tmp_path / "orders.csv").write_text(
        "订单编号,渠道,下单时间,订单金额\nA,天猫,2026-10-05 10:00,10\n小计,,,10\nB,微店,2026-10-06 10:00,20\n"
        "小计,,,20\n总计,,,30\n",
        encoding="utf-8",
    )
    with pytest.warns(OpskitNotice, match=r"orders.csv: 3 totals rows set aside \(rows 3, 5, 6\)"):
        orders = opskit.load(tmp_path)["orders"]
    assert list(orders["order_id"]) == ["A", "B"] and list(orders["_row"]) == [2, 4]


def test_a_row_labelled_total_with_a_key_is_a_record(tmp_path):
    """Only a row whose key is blank (or is the label itself) is a totals row; an order is never set aside."""
    (tmp_path / "orders.csv").write_text(
        "备注,订单编号,渠道,下单时间\n合计,A,天猫,2026-10-05 10:00\n", encoding="utf-8"
    )
    assert list(opskit.load(tmp_path)["orders"]["order_id"]) == ["A"]


def test_rows_above_the_data_keep_excels_numbering(tmp_path):
    sheet = [[], [], [None, *HEADERS], [None, *order_rows(1)[0]]]  # data from B3: rows 1-2 and column A empty
    write_xlsx(tmp_path / "orders.xlsx", {"订单": sheet})
    orders = opskit.load(tmp_path)["orders"]
    assert list(orders["_row"]) == [4]


def test_error_cells_of_an_export_are_named(tmp_path):
    path = write_xlsx(tmp_path / "orders.xlsx", {"订单": [HEADERS, *order_rows(2)]})
    with zipfile.ZipFile(path) as zf:  # a failed formula in F3, as Excel stores it
        parts = {n: zf.read(n) for n in zf.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b'<c r="F3"><v>101</v></c>', b'<c r="F3" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
    )
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    with pytest.raises(DataError, match=r"orders.xlsx, row 3, column 订单金额 \(amount\): '#DIV/0!' is an Excel error"):
        opskit.load(tmp_path)


def test_a_legacy_xls_export_reads_the_same_way(tmp_path):
    import xlwt  # a dev dependency: the one writer of .xls left

    wb = xlwt.Workbook()
    ws = wb.add_sheet("订单")
    ws.write(0, 0, "订单导出 2026年10月")
    for c, header in enumerate(["订单编号", "渠道", "下单时间", "订单金额"]):
        ws.write(2, c, header)
    ws.write(3, 0, "A1")
    ws.write(3, 1, "天猫")
    ws.write(3, 2, dt.datetime(2026, 10, 5, 14, 3), xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm"))
    ws.write(3, 3, 12.5)
    ws.write(4, 0, "合计")
    ws.write(4, 3, 12.5)
    wb.save(str(tmp_path / "orders.xls"))
    with pytest.warns(OpskitNotice, match=r"orders.xls: 1 totals rows set aside \(rows 5\)"):
        orders = opskit.load(tmp_path)["orders"]
    assert list(orders["_row"]) == [4] and orders["created_at"].iloc[0] == dt.datetime(2026, 10, 5, 14, 3)
    assert orders["amount"].tolist() == [12.5] and orders["channel"].tolist() == ["tmall"]

"""Write the bad-input corpus: one folder per case holding the file(s) and `expect.yaml`.

    python tests/bad_inputs/make_corpus.py      # rewrites tests/bad_inputs/cases/

`expect.yaml` says either `load: N` (the case loads, N rows of the dataset) with an optional
`notice`, or `error`, `row` and `column`: the message must contain `error` and name that row and
column. tests/test_bad_inputs.py runs the loader, `opskit check` and the CLI over every case.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import yaml
from openpyxl import Workbook

CASES = Path(__file__).resolve().parent / "cases"
ORDERS = "订单编号,渠道,下单时间,付款时间,订单金额\n"
GOOD = "A1,天猫,2026-10-05 10:00,2026-10-05 10:05,100\nA2,微店,2026-10-06 11:00,2026-10-06 11:01,50\n"
LINES = "订单编号,商品编码,数量,单价\n"


def case(name: str, expect: dict, files: dict[str, bytes | str] | None = None) -> Path:
    folder = CASES / name
    folder.mkdir(parents=True)
    for file, content in (files or {}).items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / file).write_bytes(data)
    (folder / "expect.yaml").write_text(yaml.safe_dump(expect, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


def workbook(folder: Path, file: str, rows: list[list], merge: str | None = None, sheet: str = "Sheet1") -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    if merge:
        ws.merge_cells(merge)
    wb.save(folder / file)


def zip_bomb(path: Path, gib: float = 2.0) -> None:
    """An xlsx whose one sheet unpacks to `gib` GiB (XML white space deflates ~1000:1: ~2 MiB on disk)."""
    chunk = b" " * 2**24
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b"<worksheet><sheetData>")
            for _ in range(int(gib * 2**30 // len(chunk))):
                sheet.write(chunk)
            sheet.write(b"</sheetData></worksheet>")


def build() -> list[Path]:
    shutil.rmtree(CASES, ignore_errors=True)
    CASES.mkdir(parents=True)
    made = []

    # -------------------------------------------------------------- files that are not what they say
    good_xlsx = CASES / "_tmp.xlsx"
    workbook(CASES, "_tmp.xlsx", [["order_id", "channel", "created_at"], ["A", "tmall", "2026-10-05"]] * 40)
    made.append(
        case(
            "truncated_xlsx",
            {"error": "damaged or truncated", "row": None, "column": None},
            {"orders.xlsx": good_xlsx.read_bytes()[: good_xlsx.stat().st_size // 2]},
        )
    )
    good_xlsx.unlink()
    page = "<!DOCTYPE html><html><body><table><tr><td>订单编号</td></tr></table></body></html>"
    made.append(
        case(
            "html_saved_as_xls",
            {"error": "web page saved with an Excel extension", "row": None, "column": None},
            {"orders.xls": page},
        )
    )
    made.append(
        case(
            "html_saved_as_xlsx",
            {"error": "web page saved with an Excel extension", "row": None, "column": None},
            {"orders.xlsx": page},
        )
    )
    made.append(
        case("html_saved_as_csv", {"error": "is a web page", "row": None, "column": None}, {"orders.csv": page})
    )
    made.append(
        case(
            "parquet_that_is_text",
            {"error": "is not a Parquet file", "row": None, "column": None},
            {"orders.parquet": ORDERS + GOOD},
        )
    )
    folder = case("zip_bomb_xlsx", {"error": "unpacks to 2.0 GiB", "row": None, "column": None})
    zip_bomb(folder / "orders.xlsx")
    made.append(folder)
    made.append(case("empty_file", {"error": "the file is empty", "row": None, "column": None}, {"orders.csv": ""}))

    # -------------------------------------------------------------- encodings and bytes
    made.append(
        case(
            "utf16_tab_export",
            {"load": 2},
            {"orders.csv": ("\ufeff" + (ORDERS + GOOD).replace(",", "\t")).encode("utf-16-le")},
        )
    )
    made.append(case("gbk_export", {"load": 2}, {"orders.csv": (ORDERS + GOOD).encode("gbk")}))
    made.append(
        case(
            "big5_export",
            {"error": "no header row for orders", "row": None, "column": None},
            {"orders.csv": "訂單編號,通路,建立時間\nA1,天貓,2026-10-05\n".encode("big5")},
        )
    )
    made.append(
        case(
            "nul_byte_mid_file",
            {"error": "is not a text file: it contains a NUL byte", "row": 4, "column": None},
            {"orders.csv": (ORDERS + GOOD).encode() + b"A3,\x00tmall,2026-10-07,,1\n"},
        )
    )
    made.append(
        case(
            "binary_junk",
            {"error": "is not a text file", "row": None, "column": None},
            {"orders.csv": bytes(range(256)) * 4},
        )
    )

    # -------------------------------------------------------------- layout
    made.append(
        case(
            "quoted_newlines",
            {"load": 3},
            {
                "orders.csv": 'order_id,channel,created_at,status\nA1,tmall,2026-10-05,"已发货\n待签收"\n'
                'A2,tmall,2026-10-05,"多行\n备注\n第三行"\nA3,tmall,2026-10-06,ok\n'
            },
        )
    )
    made.append(
        case(
            "quoted_newlines_then_bad_value",
            {"error": "'2026-13-01'", "row": 6, "column": "created_at"},
            {
                "orders.csv": 'order_id,channel,created_at,status\nA1,tmall,2026-10-05,"已发货\n待签收"\n'
                'A2,tmall,2026-10-05,"两行\n备注"\nA3,tmall,2026-13-01,ok\n'
            },
        )
    )
    made.append(
        case(
            "header_repeated_mid_file",
            {"load": 4, "notice": "header row repeated at rows 4"},
            {"orders.csv": ORDERS + GOOD + ORDERS + GOOD.replace("A1", "A3").replace("A2", "A4")},
        )
    )
    made.append(
        case(
            "title_rows_and_blank_rows",
            {"load": 2, "notice": "1 blank rows ignored"},
            {
                "orders.csv": "订单导出 2026年10月\n导出人: 周敏\n" + ORDERS + "A1,天猫,2026-10-05,,1\n,,,,\n"
                "A2,天猫,2026-10-06,,2\n"
            },
        )
    )
    made.append(
        case(
            "wrong_field_count",
            {"error": "malformed CSV", "row": 3, "column": None},
            {"orders.csv": ORDERS + "A1,天猫,2026-10-05,,1\nA2,天猫,2026-10-06,,2,extra,more\n"},
        )
    )
    made.append(
        case(
            "no_header_row",
            {"error": "no header row for orders within the first 10 rows", "row": None, "column": None},
            {"orders.csv": "a,b,c\n1,2,3\n"},
        )
    )
    # loads (no rows), but a month without a single record is not audited: the check is refused
    made.append(
        case(
            "only_header", {"load": 0, "check_error": "no row of any dataset falls in 2026-10"}, {"orders.csv": ORDERS}
        )
    )
    made.append(
        case(
            "missing_required_column",
            {"error": "missing required column channel (channel, 渠道, 店铺, 来源)", "row": None, "column": None},
            {"orders.csv": "订单编号,下单时间\nA1,2026-10-05\n"},
        )
    )
    made.append(
        case(
            "two_headers_same_column",
            {"error": "both mean order_id", "row": None, "column": "订单号"},
            {"orders.csv": "订单编号,订单号,渠道,下单时间\nA,A,tmall,2026-10-05\n"},
        )
    )
    made.append(
        case(
            "fullwidth_and_spaced_headers",
            {"load": 1},
            {"orders.csv": " ＯＲＤＥＲ_ＩＤ , Channel ,CREATED_AT\nA1,ＴＭＡＬＬ,２０２６-10-05 10:00\n"},
        )
    )
    made.append(
        case(
            "exact_duplicate_rows",
            {"load": 2, "notice": "1 exact duplicate rows dropped (rows 4)"},
            {"orders.csv": ORDERS + GOOD + GOOD.splitlines()[0].replace("2026-10-05 10:00", "2026/10/5 10:00") + "\n"},
        )
    )

    # -------------------------------------------------------------- values
    made.append(
        case(
            "zero_date",
            {"error": "'0000-00-00'", "row": 3, "column": "下单时间 (created_at)"},
            {"orders.csv": ORDERS + "A1,天猫,2026-10-05,,1\nA2,天猫,0000-00-00,,1\n"},
        )
    )
    made.append(
        case(
            "excel_serial_number_as_date",
            {"error": "'45935.5'", "row": 2, "column": "下单时间 (created_at)"},
            {"orders.csv": ORDERS + "A1,天猫,45935.5,,1\n"},
        )
    )
    made.append(
        case(
            "negative_quantity",
            {"error": "not below 0", "row": 3, "column": "数量 (qty)"},
            {"order_lines.csv": LINES + "A1,S1,2,10\nA1,S2,-2,10\n"},
        )
    )
    made.append(
        case(
            "fractional_quantity",
            {"error": "'1.5'", "row": 2, "column": "数量 (qty)"},
            {"order_lines.csv": LINES + "A1,S1,1.5,10\n"},
        )
    )
    made.append(
        case(
            "money_spellings",
            {"load": 3},
            {"order_lines.csv": LINES + 'A1,S1,1,"¥1,234.50"\nA1,S2,2,￥88元\nA1,S3,3,１２.０\n'},
        )
    )
    made.append(
        case(
            "unknown_channel",
            {"error": "'京东'", "row": 2, "column": "渠道 (channel)"},
            {"orders.csv": ORDERS + "A1,京东,2026-10-05,,1\n"},
        )
    )
    made.append(
        case(
            "unknown_boolean",
            {"error": "是/否", "row": 2, "column": "赠品 (is_gift)"},
            {"order_lines.csv": "订单编号,商品编码,数量,单价,赠品\nA1,S1,1,10,maybe\n"},
        )
    )
    made.append(
        case(
            "blank_required_value",
            {"error": "created_at is blank but required", "row": 3, "column": "下单时间 (created_at)"},
            {"orders.csv": ORDERS + "A1,天猫,2026-10-05,,1\nA2,天猫,,,1\n"},
        )
    )
    made.append(
        case(
            "cell_of_100000_characters",
            {"error": "longer than 32,767 characters", "row": 2, "column": "订单状态 (status)"},
            {"orders.csv": "订单编号,渠道,下单时间,订单状态\nA1,天猫,2026-10-05," + "长" * 100_000 + "\n"},
        )
    )

    # -------------------------------------------------------------- Excel specifics
    folder = case(
        "excel_error_cells", {"error": "'#N/A' is an Excel error value", "row": 3, "column": "客户编号 (customer_id)"}
    )
    workbook(
        folder,
        "orders.xlsx",
        [
            ["订单编号", "渠道", "下单时间", "客户编号"],
            ["A1", "天猫", "2026-10-05", "C1"],
            ["A2", "天猫", "2026-10-05", "#N/A"],
        ],
    )
    made.append(folder)
    folder = case(
        "excel_value_error_in_date",
        {"error": "'#VALUE!' is an Excel error value", "row": 2, "column": "下单时间 (created_at)"},
    )
    workbook(folder, "orders.xlsx", [["订单编号", "渠道", "下单时间"], ["A1", "天猫", "#VALUE!"]])
    made.append(folder)
    folder = case("merged_title_above_header", {"load": 2})
    workbook(
        folder,
        "orders.xlsx",
        [
            ["订单导出 2026年10月"],
            ["订单编号", "渠道", "下单时间"],
            ["A1", "天猫", "2026-10-05"],
            ["A2", "微店", "2026-10-06"],
        ],
        merge="A1:C1",
    )
    made.append(folder)
    folder = case("merged_header_group_cells", {"load": 1})
    workbook(
        folder,
        "orders.xlsx",
        [
            ["订单", None, "时间", None],
            ["订单编号", "渠道", "下单时间", "付款时间"],
            ["A1", "天猫", "2026-10-05 10:00", "2026-10-05 10:05"],
        ],
        merge="C1:D1",
    )
    made.append(folder)
    folder = case("mixed_types_in_id_column", {"load": 3})
    workbook(
        folder,
        "orders.xlsx",
        [
            ["订单编号", "渠道", "下单时间"],
            [1001, "天猫", "2026-10-05"],
            ["A-1002", "天猫", "2026-10-05"],
            [1003.0, "天猫", "2026-10-05"],
        ],
    )
    made.append(folder)
    folder = case("mixed_types_in_quantity", {"error": "'five'", "row": 4, "column": "数量 (qty)"})
    workbook(
        folder,
        "order_lines.xlsx",
        [
            ["订单编号", "商品编码", "数量", "单价"],
            ["A1", "S1", "3", 10],
            ["A1", "S2", 4, 10],
            ["A1", "S3", "five", 10],
        ],
    )
    made.append(folder)

    # -------------------------------------------------------------- manifests and links
    made.append(
        case(
            "manifest_points_outside",
            {"error": "lies outside the data folder", "row": None, "column": None},
            {"opskit.yaml": "datasets:\n  orders: {file: ../quoted_newlines/orders.csv}\n"},
        )
    )
    made.append(
        case(
            "manifest_names_missing_file",
            {"error": "file '订单.xlsx' does not exist", "row": None, "column": None},
            {"opskit.yaml": "datasets:\n  orders: {file: 订单.xlsx}\n"},
        )
    )
    made.append(
        case(
            "manifest_not_yaml",
            {"error": "cannot read the manifest", "row": None, "column": None},
            {"opskit.yaml": "datasets: [unclosed\n", "orders.csv": ORDERS + GOOD},
        )
    )
    folder = case(
        "manifest_missing_sheet",
        {"error": "no sheet named '九月'", "row": None, "column": None},
        {"opskit.yaml": "datasets:\n  orders: {file: 导出.xlsx, sheet: 九月}\n"},
    )
    workbook(folder, "导出.xlsx", [["订单编号", "渠道", "下单时间"]], sheet="十月")
    made.append(folder)
    folder = case(
        "symlink_outside_folder", {"error": "is a link to a file outside the data folder", "row": None, "column": None}
    )
    os.symlink("../gbk_export/orders.csv", folder / "orders.csv")
    made.append(folder)
    return made


if __name__ == "__main__":
    cases = build()
    print(f"wrote {len(cases)} cases to {CASES}")

"""What opskit writes is inert: formula look-alikes never reach a spreadsheet as formulas, control
characters never reach a terminal, and stray files in a data root never break a month."""

from __future__ import annotations

import json

import pandas as pd
from helpers import write
from openpyxl import load_workbook

from opskit.cli import main
from opskit.report.excel import write_workbook
from opskit.report.files import safe_cells, terminal_safe

LOOKALIKES = ["＝3+3", "＋cmd|' /C calc'!A0", "－1+1", "＠SUM(A1)", "﹦1", "﹢1", "﹣1", "−1", "–1", "—1", "⁼1", "﹫x"]
HARMLESS = ["价格＝3", "1－2", "a@b", "满100减20"]


def test_fullwidth_and_lookalike_formula_signs_are_neutralised_in_csv_and_excel(tmp_path):
    frame = pd.DataFrame({"text": LOOKALIKES + HARMLESS})
    cells = safe_cells(frame)["text"].tolist()
    assert cells == ["'" + v for v in LOOKALIKES] + HARMLESS
    wb = load_workbook(write_workbook(tmp_path / "x.xlsx", [("s", None, frame)]))
    stored = wb["s"]["A"][1:]
    assert [c.value for c in stored] == LOOKALIKES + HARMLESS
    assert all(c.data_type == "s" for c in stored)
    assert [c.quotePrefix for c in stored] == [True] * len(LOOKALIKES) + [False] * len(HARMLESS)


def test_findings_csv_from_the_cli_neutralises_fullwidth_signs(tmp_path, capsys):
    orders = [
        {
            "order_id": '＝HYPERLINK("http://x")',
            "channel": "tmall",
            "created_at": "2026-10-05 10:00",
            "paid_at": "2026-10-05 10:05",
            "shipped_at": "2026-10-07 10:05",
        },
    ]
    folder = write(tmp_path / "2026-10", orders=orders)
    assert main(["check", str(folder), "--rules", "ORD-003", "--format", "csv"]) == 0
    table = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert table["key"].tolist() == ['\'＝HYPERLINK("http://x")']


def test_terminal_escapes_are_stripped_from_table_output(tmp_path, capsys):
    evil = "A1\x1b]0;owned\x07\x1b[2J\x1b[31m\u202e\r\nX"
    orders = [
        {
            "order_id": evil,
            "channel": "tmall",
            "created_at": "2026-10-05 10:00",
            "paid_at": "2026-10-05 10:05",
            "shipped_at": "2026-10-07 10:05",
        },
    ]
    folder = write(tmp_path / "2026-10", orders=orders)
    assert main(["check", str(folder), "--rules", "ORD-003", "--format", "table"]) == 0
    out = capsys.readouterr().out
    assert "ORD-003" in out and "A1]0;owned[2J[31m X" in out
    assert not any(ord(ch) < 32 and ch != "\n" or 0x7F <= ord(ch) <= 0x9F or ch == "\u202e" for ch in out)
    assert out.count("\n") == 3  # header, one finding, the count line: the CR/LF in the id broke no row
    assert terminal_safe("ok\x1b[0m\x9b\u2066") == "ok[0m"


def test_stray_files_in_a_data_root_are_ignored_with_a_notice(tmp_path, capsys):
    orders = [{"order_id": "A1", "channel": "tmall", "created_at": "2026-10-05 10:00"}]
    write(tmp_path / "2026-10", orders=orders)
    write(tmp_path / "2026-09", orders=orders)
    (tmp_path / "说明.csv").write_text("说明,本目录按月份存放导出\n", encoding="utf-8")
    (tmp_path / "README.txt").write_text("exports by month\n", encoding="utf-8")
    (tmp_path / "old").mkdir()
    assert main(["check", str(tmp_path), "--month", "2026-10", "--rules", "ORD", "--summary"]) == 0
    err = capsys.readouterr().err
    assert "提示：" + tmp_path.name + "：已忽略 README.txt, old, 说明.csv（既不是 YYYY-MM 月份文件夹" in err
    assert main(["check", str(tmp_path), "--month", "2026-10", "--rules", "ORD", "--summary", "--lang", "en"]) == 0
    err = capsys.readouterr().err
    assert "notice: " + tmp_path.name + ": README.txt, old, 说明.csv ignored (not a YYYY-MM month folder" in err
    assert main(["check", str(tmp_path), "--rules", "ORD-003", "--format", "json"]) == 0  # latest month
    assert json.loads(capsys.readouterr().out) == []

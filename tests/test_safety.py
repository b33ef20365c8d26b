"""Masking in managers' outputs, analysts' raw view, the notebooks folder check, and a data folder
that opskit never writes into."""

import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from helpers import ROOT, SAMPLES
from openpyxl import load_workbook

from opskit import OpskitError
from opskit.batch import run_month
from opskit.month import open_review
from opskit.report.masking import mask_frame, mask_text
from opskit.reviews.orders.review import OrderSlaReview
from opskit.serve import check_notebooks_folder


def test_mask_text_keeps_only_the_ends_of_accounts_and_phones():
    text = pd.Series(
        [
            "paid from account 6228 4800 1111 2222, registered 6222-0210-4251-4975",
            "客户电话13812345678请回电",
            "order TM261000012 on 2026-10-05 10:05",
            None,
        ]
    )
    masked = mask_text(text)
    assert masked[0] == "paid from account 6228 **** 2222, registered 6222 **** 4975"
    assert masked[1] == "客户电话138****5678请回电"
    assert masked[2] == text[2] and pd.isna(masked[3])


def test_mask_frame_masks_personal_columns_by_name_or_label():
    frame = pd.DataFrame({"客户": ["tb_10350"], "pay_account": ["6222 0210 4251 4975"], "amount": [12.5]})
    masked = mask_frame(frame, {"customer_id": "客户"})
    assert masked.loc[0, "客户"] == "t*******" and masked.loc[0, "pay_account"] == "6222 **** 4975"
    assert masked.loc[0, "amount"] == 12.5


def test_analysts_see_raw_data_and_managers_masked(monkeypatch):
    monkeypatch.setenv("OPSKIT_AUDIENCE", "manager")  # the audience is a parameter, never read from the environment
    review = open_review(OrderSlaReview, SAMPLES, "2026-10", lang="en")
    raw = review.findings_view().set_index("Rule").loc["ORD-007", "Finding"]
    assert "6228 4800 1111 2222" in raw
    manager = OrderSlaReview(review.month_result, "en", audience="manager")
    assert "6228 **** 2222" in manager.findings_view().set_index("Rule").loc["ORD-007", "Finding"]
    unmasked = open_review(OrderSlaReview, SAMPLES, "2026-10", lang="en", audience="manager", policy={"masking": False})
    assert "6228 4800 1111 2222" in unmasked.findings_view().set_index("Rule").loc["ORD-007", "Finding"]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    assert run_month(SAMPLES, "2026-10", out, notebooks=["order_sla_audit", "service_stats"]) == 0
    return out / "2026-10"


def test_batch_outputs_are_masked(reports):
    assert "6228 **** 2222" in (reports / "findings.csv").read_text(encoding="utf-8")
    assert "6228 4800 1111 2222" not in (reports / "findings.csv").read_text(encoding="utf-8")
    assert "6228 4800 1111 2222" not in (reports / "order_sla_audit.html").read_text(encoding="utf-8")
    wb = load_workbook(reports / "opskit-2026-10.xlsx")
    cells = [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert any("6228 **** 2222" in c for c in cells) and not any("6228 4800 1111 2222" in c for c in cells)
    repeat = wb["客服统计-7天内重复咨询"]
    customers = [c.value for c in repeat["B"][3:]]
    assert customers and all(v.startswith("t") and set(v[1:]) == {"*"} for v in customers)


def test_analysts_check_output_is_raw():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "opskit.cli",
            "check",
            str(SAMPLES),
            "--month",
            "2026-10",
            "--rules",
            "ORD-007",
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert "6228 4800 1111 2222" in out.stdout


def test_serve_refuses_links_out_of_the_notebooks_folder(tmp_path):
    folder = tmp_path / "notebooks"
    shutil.copytree(ROOT / "opskit" / "notebooks", folder)
    check_notebooks_folder(folder)
    os.symlink("/etc", folder / "elsewhere")
    with pytest.raises(OpskitError, match="links outside"):
        check_notebooks_folder(folder)


def test_opskit_never_writes_into_a_data_folder(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(SAMPLES, data)
    before = {p: p.stat().st_mtime_ns for p in data.rglob("*")}
    subprocess.run(
        [sys.executable, "-m", "opskit.cli", "check", str(data), "--month", "2026-10", "--summary"],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    assert run_month(data, "2026-10", tmp_path / "out", notebooks=["stocktake_variance"]) == 0
    open_review(OrderSlaReview, data, "2026-10").kpis()
    assert {p: p.stat().st_mtime_ns for p in data.rglob("*")} == before


def test_every_formula_prefix_is_neutralised_in_csv_and_excel(tmp_path):
    from opskit.report.excel import write_workbook
    from opskit.report.files import safe_cells

    risky = ["=1+1", "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "plain", "1-2"]
    frame = pd.DataFrame({"text": risky})
    csv_cells = safe_cells(frame)["text"].tolist()
    assert csv_cells[:6] == ["'" + v for v in risky[:6]] and csv_cells[6:] == ["plain", "1-2"]
    wb = load_workbook(write_workbook(tmp_path / "x.xlsx", [("s", None, frame)]))
    cells = [c for c in wb["s"]["A"][1:]]
    stored = [v.replace("\r", "\n") for v in risky]  # XML keeps a carriage return as a line feed
    assert [c.value for c in cells] == stored and all(c.data_type == "s" for c in cells)
    assert [c.quotePrefix for c in cells] == [True] * 6 + [False, False]


def test_mask_text_finds_personal_data_in_its_common_spellings():
    from opskit.report.masking import clip_text, mask_account, scrub

    assert scrub("6228.4800.1111.2222 / 6228_4800_1111_2222") == "6228 **** 2222 / 6228 **** 2222"
    assert scrub("电话138-1234-5603或１３８１２３４５６０６") == "电话138-****-5603或１３８****５６０６"
    assert (
        scrub("+86 138 1234 5607, ＋８６－１３８－１２３４－５６０８")
        == "+86 138 **** 5607, ＋８６－１３８－****－５６０８"
    )
    assert scrub("zhang.san@163.com 或 sun.qi＠sina．com") == "z***@163.com 或 s***@sina．com"
    assert scrub("62284800111") == "622****0111" and scrub("010-62345601") == "010-******01"
    untouched = "order TM261000012 on 2026-10-05 14:03:00, ¥1,234,567.89, SKU-1001, 2026-10-05 2026"
    assert scrub(untouched) == untouched
    assert mask_account(pd.Series(["zhangsan_1988", "zhang.san@163.com"])).tolist() == ["z************", "z***@163.com"]
    line = pd.Series(["您好" * 28 + "电话13812345678"])  # the 60-character cut falls inside the number
    assert clip_text(line, 60)[0].endswith("电话13812345678") and clip_text(line, 10)[0] == "您好" * 5


def test_data_errors_quote_values_masked_for_managers(tmp_path, monkeypatch):
    from opskit.errors import DataError

    error = DataError(
        "orders.csv", "cannot read {value} as enum", row=2, column="渠道 (channel)", value="京东13812345698"
    )
    monkeypatch.delenv("OPSKIT_AUDIENCE", raising=False)
    assert str(error) == "orders.csv, row 2, column 渠道 (channel): cannot read '京东13812345698' as enum"
    monkeypatch.setenv("OPSKIT_AUDIENCE", "manager")
    assert str(error) == "orders.csv, row 2, column 渠道 (channel): cannot read '京东138****5698' as enum"
    personal = DataError("orders.csv", "{value} is an Excel error value", column="客户编号 (customer_id)", value="#N/A")
    assert str(personal) == "orders.csv, column 客户编号 (customer_id): '#***' is an Excel error value"


def test_executed_notebooks_for_managers_carry_no_paths_tracebacks_or_personal_data():
    from opskit.report.masking import scrub_notebook

    nb = {
        "metadata": {"papermill": {"input_path": "/work/x/notebooks/a.ipynb", "parameters": {"data_root": "/srv/d"}}},
        "cells": [
            {
                "cell_type": "code",
                "source": "data_root = '/srv/d'\noutput_dir = '/out/.2026-10.staging-1'",
                "outputs": [
                    {"output_type": "stream", "text": "客户电话 138 1234 5678\n"},
                    {
                        "output_type": "display_data",
                        "data": {"text/html": "<td>wang.wu@163.com</td>", "image/png": "AAA1"},
                    },
                    {
                        "output_type": "error",
                        "ename": "DataError",
                        "evalue": "/srv/d/2026-10/orders.csv: 13812345678",
                        "traceback": ["File /usr/lib/python3/site-packages/opskit/loader.py, line 3"],
                    },
                ],
            },
        ],
    }
    clean = scrub_notebook(nb, {"/srv/d": "data", "/out/.2026-10.staging-1": "."})
    cell = clean["cells"][0]
    assert cell["source"] == "data_root = 'data'\noutput_dir = '.'"
    assert cell["outputs"][0]["text"] == "客户电话 138 **** 5678\n"
    assert cell["outputs"][1]["data"] == {"text/html": "<td>w***@163.com</td>", "image/png": "AAA1"}
    assert cell["outputs"][2]["traceback"] == ["DataError: data/2026-10/orders.csv: 138****5678"]
    assert clean["metadata"]["papermill"]["input_path"] == "a.ipynb"

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

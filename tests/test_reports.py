"""Reviews, the dashboard app, the Excel workbook and the batch, on the samples."""

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from helpers import ROOT, SAMPLES, report_entries
from openpyxl import load_workbook

from opskit.batch import run_month
from opskit.month import open_review
from opskit.report.dashboard import ReviewApp
from opskit.report.excel import write_workbook
from opskit.report.html import error_html
from opskit.report.notebooks import REVIEWS
from opskit.reviews.orders.review import OrderSlaReview


@pytest.fixture(scope="module")
def review():
    return open_review(OrderSlaReview, SAMPLES, "2026-10", lang="en")


def test_headline_figures(review):
    kpis = review.kpis()
    assert (kpis["orders"], kpis["paid"], kpis["shipped"]) == (285, 283, 274)
    assert kpis["on_time_shipping"] == round(1 - 3 / 275, 4)
    assert kpis["contact_within_limit"] == round(1 - 2 / 284, 4)
    assert (kpis["findings"], kpis["open_breaches"]) == (20, 4)


def test_review_only_checks_its_rules_and_labels_by_language(review):
    assert set(review.findings["rule_id"]) == {f"ORD-{i:03d}" for i in range(1, 11)}
    # the finding's id and whether it recurs come first, the managers' follow-up columns last
    assert list(review.findings_view().columns[:5]) == ["Finding id", "Also last month", "Rule", "Item", "Observed"]
    zh = open_review(OrderSlaReview, SAMPLES, "2026-10", lang="zh")
    assert list(zh.findings_view().columns[:5]) == ["编号", "上月也出现", "规则", "对象", "实际值"]
    assert list(zh.findings_view().columns[-3:]) == ["责任人", "整改状态", "整改说明"]
    assert zh.rules_view().loc["ORD-003", "规则名称"] == "付款后24小时内发货"


def test_bad_data_becomes_a_plain_message_when_not_strict(tmp_path):
    (tmp_path / "2026-10").mkdir()
    (tmp_path / "2026-10" / "orders.csv").write_text("订单编号,渠道,下单时间\nA,京东,2026-10-05\n", encoding="utf-8")
    review = open_review(OrderSlaReview, tmp_path, "2026-10", strict=False)
    assert review.error.startswith("orders.csv, row 2, column 渠道 (channel)")
    assert "Traceback" not in error_html(review) and "京东" in error_html(review)
    with pytest.raises(Exception, match="row 2"):
        open_review(OrderSlaReview, tmp_path, "2026-10", strict=True)


def test_app_months_come_from_the_data_root_and_filters_narrow_the_table(review):
    app = ReviewApp(OrderSlaReview, SAMPLES, review=review, lang="en")
    assert list(app.month.options) == ["2026-09", "2026-10"] and app.month.value == "2026-10"
    assert len(app.filtered()) == 20
    app.rule.value = "ORD-003"
    assert set(app.filtered()["key"]) == {"ORD003-LATE-2610", "ORD003-NEVER-2610", "ORD009-GHOST-2610"}
    app.rule.value, app.channel.value = "", "distributor"
    assert set(app.filtered()["rule_id"]) == {"ORD-004", "ORD-006", "ORD-007", "ORD-008"}
    app.channel.value = ""
    app.start.value = app.end.value = pd.Timestamp("2026-10-10").date()
    assert set(app.filtered()["key"]) == {"ORD006-LATE-REG-2610"}


def test_app_switches_month(review):
    app = ReviewApp(OrderSlaReview, SAMPLES, review=review, lang="en")
    app.month.value = "2026-09"
    assert app.review.month == "2026-09"
    assert all(k.endswith("-2609") for k in app.filtered()["key"])


def test_workbook_layout_and_neutralised_cells(tmp_path):
    frame = pd.DataFrame(
        {
            "key": ['=HYPERLINK("http://x")', "+1", "@SUM(A1)", "-2", "plain"],
            "when": pd.to_datetime(["2026-10-05 10:00"] * 5),
            "amount": [1234.5, 2, 3, 4, 5],
        }
    )
    path = write_workbook(tmp_path / "book.xlsx", [("汇总", "2026-10 汇总", frame), ("订单时效审计", None, frame)])
    wb = load_workbook(path)
    assert wb.sheetnames == ["汇总", "订单时效审计"]
    ws = wb["汇总"]
    assert ws["A1"].value == "2026-10 汇总" and ws.freeze_panes == "A4" and ws.auto_filter.ref == "A3:C8"
    assert ws["A4"].value == '=HYPERLINK("http://x")' and ws["A4"].data_type == "s" and ws["A4"].quotePrefix
    assert ws["A5"].value == "+1" and ws["A5"].data_type == "s"
    assert ws["B4"].number_format == "yyyy-mm-dd hh:mm" and ws["C4"].number_format == '"¥"#,##0.00'  # money
    assert ws.column_dimensions["A"].width >= 20
    assert wb["订单时效审计"].freeze_panes == "A2"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    code = run_month(SAMPLES, "2026-10", out, lang="zh")
    return code, out / "2026-10"


def test_batch_writes_every_output(batch):
    code, folder = batch
    assert code == 0
    names = sorted(p.name for p in folder.iterdir())
    reviews = [f"{n}.{ext}" for n in REVIEWS for ext in ("html", "ipynb")]
    assert names == sorted(["findings.csv", "kpis.json", "opskit-2026-10.xlsx", *reviews])
    kpis = json.loads((folder / "kpis.json").read_text(encoding="utf-8"))
    assert kpis["reviews"]["order_sla_audit"]["orders"] == 285
    assert set(kpis["reviews"]) == set(REVIEWS)
    findings = pd.read_csv(folder / "findings.csv")
    assert len(findings) == 52 and {"rule_id", "key", "observed", "limit", "message", "source"} <= set(findings.columns)


@pytest.mark.parametrize("name", sorted(REVIEWS))
def test_batch_html_has_no_code_and_reads_offline(batch, name):
    html = (batch[1] / f"{name}.html").read_text(encoding="utf-8")
    assert "data:image/png;base64" in html
    for leak in ("import opskit", "review.report()", "Review.open", "Traceback"):
        assert leak not in html
    assert 'src="http' not in html


def test_batch_html_shows_the_findings(batch):
    assert "ORD003-LATE-2610" in (batch[1] / "order_sla_audit.html").read_text(encoding="utf-8")
    service = (batch[1] / "service_stats.html").read_text(encoding="utf-8")
    assert "CS005-NO-GREETING-2610" in service and "请问有什么问题" in service


def test_batch_workbook_sheets(batch):
    wb = load_workbook(batch[1] / "opskit-2026-10.xlsx")
    assert wb.sheetnames[:4] == ["汇总", "关键指标", "审计说明", "订单时效审计"]
    assert "客服统计" in wb.sheetnames and "客服统计-7天内重复咨询" in wb.sheetnames
    ws = wb["订单时效审计"]
    assert ws.freeze_panes == "A4" and ws.auto_filter.ref
    keys = [c.value for c in ws["D"][3:]]  # after 编号, 上月也出现 and 规则
    assert "ORD003-LATE-2610" in keys and len(keys) == 20
    assert ws["A3"].value == "编号" and ws["A4"].value == "ORD-001:ORD001-LATE-2610"


def test_rerun_replaces_the_month_and_leaves_no_staging(batch, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(batch[1], out / "2026-10")
    (out / "2026-10" / "stale.txt").write_text("old")
    assert run_month(SAMPLES, "2026-10", out, notebooks=["order_sla_audit"]) == 0
    assert not (out / "2026-10" / "stale.txt").exists()
    assert report_entries(out) == ["2026-10"] and (out / "opskit-history.sqlite").exists()


def test_broken_input_stops_before_any_report_naming_file_row_and_column(tmp_path):
    bad = tmp_path / "data" / "2026-10"
    shutil.copytree(SAMPLES / "2026-10", bad)
    text = (bad / "orders.csv").read_text(encoding="gb18030").replace("天猫旗舰店", "京东", 1)
    (bad / "orders.csv").write_text(text, encoding="gb18030")
    command = [sys.executable, "-m", "opskit.cli", "run", str(tmp_path / "data"), "--month", "2026-10"]
    out = subprocess.run([*command, "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT)
    # the month is computed once, before any notebook: bad data stops the run with one message
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("opskit run: orders.csv, row 2, column 渠道 (channel): cannot read '京东'")
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()

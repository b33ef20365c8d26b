"""A zh report shows no untranslated code: every table cell and header of the four reviews, and every
cell of the managers' workbook, reads Chinese names for channels, ticket types, units, clocks and
booleans; headline labels and titles state the limits of the policy in force; numbers read at a glance."""

import pandas as pd
import pytest
from helpers import SAMPLES
from openpyxl import load_workbook

from opskit.batch import write_month_outputs
from opskit.locale import catalogue
from opskit.month import MonthResult, open_review
from opskit.report.html import headline_html
from opskit.report.notebooks import REVIEWS

CODES = {
    code
    for part in ("codes", "message_codes")
    for table in catalogue("en")[part].values()
    for code in table
    if code not in ("datasets",)
} | {"none", "True", "False", "nan", "NaN", "None"}
SNAKE = r"^[a-z]+(?:_[a-z0-9]+)+$"  # a canonical column or code name shown as it is


def views(review):
    yield "summary", review.summary_view()
    yield "rules", review.rules_view().reset_index()
    yield "headline", review.kpi_view()
    yield "findings", review.findings_view()
    yield "browse", review.browse_view(review.browse())
    for title, frame in review.tables():
        yield title, review.shown(frame)


def untranslated(frame: pd.DataFrame) -> list:
    bad = [("header", str(c)) for c in frame.columns if str(c) in CODES or pd.Series([str(c)]).str.match(SNAKE)[0]]
    for column in frame.columns:
        text = frame[column].dropna().astype("str")
        hits = text[text.isin(CODES)]  # whole-cell codes; ids like tb_10350 are data, not codes
        bad += [(str(column), v) for v in hits.unique()]
    return bad


@pytest.fixture(scope="module", params=list(REVIEWS))
def review(request):
    return open_review(request.param, SAMPLES, "2026-10", lang="zh", cache=False, history=False)


def test_no_untranslated_code_in_any_zh_table(review):
    for title, frame in views(review):
        assert untranslated(frame) == [], f"{review.name} / {title}"


def test_zh_findings_read_chinese(review):
    view = review.findings_view()
    if len(view):
        assert view["说明"].str.contains(r"[\u4e00-\u9fff]").all()
        assert not view["说明"].str.contains(r"\b(?:after|before|limit|by as_of)\b").any()


def test_headline_labels_and_titles_state_the_policy_in_force():
    policy = {"rules": {"ORD-003": {"limit": 36, "by_channel": {"wechat": 48}}}}
    review = open_review("order_sla_audit", SAMPLES, "2026-10", lang="zh", policy=policy, cache=False, history=False)
    labels = review.kpi_view()["指标"].tolist()
    assert "36小时内发货率（微信48小时）" in labels and not any("24小时内发货" in x for x in labels)
    rules = review.rules_view()
    assert rules.loc["ORD-003", "规则名称"] == "付款后36小时内发货（微信48小时）"
    assert rules.loc["ORD-003", "标准"] == "36小时"
    summary = review.summary_view().set_index("规则")
    assert summary.loc["ORD-003", "规则名称"] == "付款后36小时内发货（微信48小时）"
    assert "36小时内发货率（微信48小时）" in headline_html(review)
    assert all("24小时内发货" not in title for title in review.findings["title"])


def test_headline_figures_read_at_a_glance(review):
    html = headline_html(review)
    if review.name == "order_sla_audit":
        assert "24小时内发货率" in html and "%" in html
    if review.name == "promotion_review":
        assert "¥" in html


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    staging = tmp_path_factory.mktemp("staging")
    write_month_outputs(staging, MonthResult.compute(SAMPLES, "2026-10"), "zh", list(REVIEWS))
    return staging


def test_no_untranslated_code_in_the_zh_workbook(workbook):
    wb = load_workbook(workbook / "opskit-2026-10.xlsx")
    for ws in wb.worksheets:
        cells = pd.Series([c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)], dtype="object")
        hits = cells[cells.isin(CODES)]
        assert hits.empty, (ws.title, hits.unique().tolist())


def test_workbook_formats_shares_as_percent_and_money_with_yuan(workbook):
    wb = load_workbook(workbook / "opskit-2026-10.xlsx")
    ws = wb["汇总"]
    header = [c.value for c in ws[3]]
    share = header.index("不合规率") + 1
    assert ws.cell(row=4, column=share).number_format == "0.0%"
    found = wb["订单时效审计"]
    formats = {c.number_format for row in found.iter_rows(min_row=2) for c in row if isinstance(c.value, float)}
    assert "#,##0.##" not in formats


def test_findings_file_rounds_and_drops_midnight(workbook):
    text = (workbook / "findings.csv").read_text(encoding="utf-8")
    assert "108.00000000000003" not in text and ",108.0," in text
    assert " 00:00" not in text
    findings = pd.read_csv(workbook / "findings.csv")
    assert findings["message"].str.contains(r"[\u4e00-\u9fff]").all()
    assert set(findings["channel"].dropna()) <= {"tmall", "wechat", "distributor", "other", "phone", "online_chat"}

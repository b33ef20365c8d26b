"""One month, one result: the batch's workbook, kpis.json, findings.csv and HTML state the same figures
and the same findings, because they render the same computed month."""

import json
from html.parser import HTMLParser

import pandas as pd
import pytest
from helpers import SAMPLES
from openpyxl import load_workbook

from opskit.batch import run_month
from opskit.policy import load_policy
from opskit.report.i18n import figure_text, t
from opskit.report.notebooks import REVIEWS
from opskit.reviews import BY_NOTEBOOK


class Page(HTMLParser):
    """Headline figures (`data-kpi`), and every table with the heading above it."""

    def __init__(self) -> None:
        super().__init__()
        self.kpis: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self._kpi = self._heading = None
        self._in_b = self._in_h4 = self._in_cell = False
        self._rows: list[list[str]] | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and "data-kpi" in attrs:
            self._kpi = attrs["data-kpi"]
        elif tag == "b" and self._kpi:
            self._in_b, self._text = True, ""
        elif tag == "h4":
            self._in_h4, self._text = True, ""
        elif tag == "table" and self._heading is not None:
            self._rows = []
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None:
            self._in_cell, self._text = True, ""

    def handle_endtag(self, tag):
        if tag == "b" and self._in_b:
            self.kpis[self._kpi], self._in_b, self._kpi = self._text, False, None
        elif tag == "h4" and self._in_h4:
            self._heading, self._in_h4 = self._text.strip(), False
        elif tag in ("td", "th") and self._in_cell:
            self._rows[-1].append(self._text.strip())
            self._in_cell = False
        elif tag == "table" and self._rows is not None:
            self.tables[self._heading], self._rows, self._heading = self._rows, None, None

    def handle_data(self, data):
        if self._in_b or self._in_h4 or self._in_cell:
            self._text += data


def cell_text(value) -> str:
    """A workbook value written the way the HTML tables write it."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


def same(text: str, value) -> bool:
    """An HTML cell states the workbook's value: ¥ and thousands separators, % for shares."""
    if cell_text(value) == text:
        return True
    if isinstance(value, (int, float)) and not isinstance(value, bool) and text:
        plain = text.replace("¥", "").replace(",", "").replace("−", "-")
        scale = 100 if plain.endswith("%") else 1
        try:
            return abs(float(plain.rstrip("%")) - value * scale) <= (0.051 if scale == 100 else 0.51)
        except ValueError:
            return False
    return False


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    assert run_month(SAMPLES, "2026-10", out, lang="zh") == 0
    folder = out / "2026-10"
    pages, html = {}, {}
    for name in REVIEWS:
        page = Page()
        html[name] = (folder / f"{name}.html").read_text(encoding="utf-8")
        page.feed(html[name])
        pages[name] = page
    return {
        "html": html,
        "kpis": json.loads((folder / "kpis.json").read_text(encoding="utf-8")),
        "workbook": load_workbook(folder / "opskit-2026-10.xlsx"),
        "findings": pd.read_csv(folder / "findings.csv"),
        "pages": pages,
    }


def sheet_rows(ws, header_row: int = 3) -> list[list]:
    return [list(row) for row in ws.iter_rows(min_row=header_row + 1, values_only=True)]


@pytest.mark.parametrize("name", REVIEWS)
def test_headline_figures_agree_in_html_workbook_and_kpis_json(month, name):
    figures = month["kpis"]["reviews"][name]
    shown = month["pages"][name].kpis
    expected = {k: v for k, v in figures.items() if k not in ("review", "month")}
    assert set(shown) == set(expected)
    for key, value in expected.items():
        assert shown[key] == figure_text(key, value, "zh"), key
    title = t(name, "zh")
    in_book = {
        (row[1], row[2]) for row in sheet_rows(month["workbook"]["关键指标"]) if row[0] == title and row[1] is not None
    }
    policy = load_policy(None)
    assert in_book == {(t(k, "zh", policy), v) for k, v in expected.items()}


@pytest.mark.parametrize("name", REVIEWS)
def test_the_same_findings_in_html_workbook_csv_and_kpis_json(month, name):
    family = BY_NOTEBOOK[name]
    csv = month["findings"]
    mine = csv[csv["rule_id"].str.startswith(family.prefix + "-")]
    keys = set(zip(mine["rule_id"], mine["key"].astype("str"), strict=True))
    assert month["kpis"]["reviews"][name]["findings"] == len(keys) > 0
    ws = month["workbook"][t(name, "zh")]
    header = [c.value for c in ws[3]]
    rule, key = header.index(t("rule_id", "zh")), header.index(t("key", "zh"))
    assert {(r[rule], str(r[key])) for r in sheet_rows(ws)} == keys
    page = month["pages"][name]
    listed = page.tables[f"{t('findings_table', 'zh')} ({len(keys)})"]
    rule, key = listed[0].index(t("rule_id", "zh")), listed[0].index(t("key", "zh"))
    assert {(r[rule], r[key]) for r in listed[1:]} == keys


def test_no_sheet_is_empty_apart_from_its_title(month):
    for ws in month["workbook"].worksheets:
        rows = [r for r in sheet_rows(ws) if any(v is not None for v in r)]
        assert rows, f"sheet {ws.title} holds only its title"


@pytest.mark.parametrize(
    ("name", "table"), [("promotion_review", "promotion_effect"), ("stocktake_variance", "accuracy_trend")]
)
def test_every_effect_and_trend_figure_in_the_html_is_in_the_workbook(month, name, table):
    title = t(table, "zh")
    html_rows = month["pages"][name].tables[title]
    book_rows = sheet_rows(month["workbook"][f"{t(name, 'zh')}-{title}"])
    assert len(html_rows) - 1 == len(book_rows) >= 2
    assert html_rows[0] == [str(c.value) for c in month["workbook"][f"{t(name, 'zh')}-{title}"][3]]
    for html_row, book_row in zip(html_rows[1:], book_rows, strict=True):
        assert all(same(text, value) for text, value in zip(html_row, book_row, strict=True)), (html_row, book_row)


def test_promotion_baselines_and_trend_come_from_the_other_months(month):
    effect = month["pages"]["promotion_review"].tables[t("promotion_effect", "zh")]
    header, rows = effect[0], {r[0]: r for r in effect[1:]}
    assert rows["P2610-01"][header.index(t("baseline_revenue", "zh"))] != ""  # its baseline lies in September
    trend = month["pages"]["stocktake_variance"].tables[t("accuracy_trend", "zh")]
    assert [r[0] for r in trend[1:]] == ["2026-09", "2026-10"]


def test_each_report_says_as_of_the_data_folder_its_files_and_what_was_skipped(month):
    for name in REVIEWS:
        html = month["html"][name]
        assert "审计时点</b> 2026-11-01 00:00" in html and "数据文件夹</b> data_samples/2026-10" in html
        assert "orders.csv (" in html and "未检查的规则</b> 无" in html
        assert "orders.csv：删除完全重复的行 1 行（第 288 行）" in html
        assert "较上月" in html  # the change of each headline figure against September
        assert '<html lang="zh">' in html and f"<title>{t(name, 'zh')} · 运营月度报表</title>" in html
    context = {r[0]: r[1] for r in sheet_rows(month["workbook"]["审计说明"])}
    assert context["审计时点"] == "2026-11-01 00:00"
    assert context["未检查的规则"] == "无"
    assert any(k.startswith("文件导出时间: orders.csv") for k in context)
    notices = [r[1] for r in sheet_rows(month["workbook"]["审计说明"]) if r[0] == "数据加载提示"]
    assert notices[0] == "orders.csv：删除完全重复的行 1 行（第 288 行）" and len(notices) == 2
    assert notices[1] == (
        "orders.csv：订单号 重复出现的后续行 1 行已剔除；规则只看每个编号的首次记录（变更由 ORD-010 检查）"
    )


def test_a_missing_dataset_shows_its_rules_as_skipped_everywhere(tmp_path):
    import shutil

    from opskit.month import open_review
    from opskit.report.dashboard import ReviewApp
    from opskit.reviews.stocktake.review import StocktakeReview

    data = tmp_path / "data" / "2026-10"
    shutil.copytree(SAMPLES / "2026-10", data)
    (data / "finance_writeoffs.xlsx").unlink()
    assert run_month(data.parent, "2026-10", tmp_path / "out", notebooks=["stocktake_variance"]) == 0
    folder = tmp_path / "out" / "2026-10"
    html = (folder / "stocktake_variance.html").read_text(encoding="utf-8")
    assert "<li>STK-008: 未检查：缺少 财务核销</li>" in html
    summary = {r[1]: r for r in sheet_rows(load_workbook(folder / "opskit-2026-10.xlsx")["汇总"])}
    assert summary["STK-008"][7] == "未检查：缺少 财务核销"
    assert summary["STK-003"][7] == "已检查"
    status = {r["rule_id"]: r for r in json.loads((folder / "kpis.json").read_text(encoding="utf-8"))["rules"]}
    assert status["STK-008"] == {"rule_id": "STK-008", "state": "skipped", "why": "no finance_writeoffs"}
    review = open_review(StocktakeReview, data.parent, "2026-10", lang="en")
    app = ReviewApp(StocktakeReview, data.parent, review=review, lang="en")
    assert "<li>STK-008: skipped: no finance write-offs</li>" in app.head_html(app.view())
    assert "STK-008" in app.tables_html(app.view())
    assert review.summary_view().set_index("Rule").loc["STK-008", "Status"] == "skipped: no finance write-offs"

"""What an analyst does with opskit from JupyterLab: findings behave like any DataFrame, audits that
cannot be true are refused, notices reach the notebook, and a bad file names every bad cell at once."""

import logging
import shutil
import warnings

import pandas as pd
import pytest
from helpers import SAMPLES, write

import opskit
from opskit import DataError, OpskitError, OpskitNotice
from opskit.parsing import to_period


@pytest.fixture(scope="module")
def months():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OpskitNotice)
        data = {m: opskit.load(SAMPLES, month=m) for m in ("2026-09", "2026-10")}
        results = {m: opskit.run_checks(d, month=m) for m, d in data.items()}
    return data, results


def test_findings_are_a_plain_dataframe_that_concatenates_merges_and_writes(months, tmp_path):
    _, results = months
    september, october = results["2026-09"].findings, results["2026-10"].findings
    assert october.attrs == {} and september.attrs == {}
    history = pd.concat([september.assign(month="2026-09"), october.assign(month="2026-10")], ignore_index=True)
    assert len(history) == len(september) + len(october)
    assert history["channel"].dtype == october["channel"].dtype  # still categorical after the concat
    per_month = history.pivot_table(index="rule_id", columns="month", values="key", aggfunc="count", fill_value=0)
    assert per_month.loc["ORD-003", "2026-10"] == 3
    assert per_month["2026-10"].sum() == 52
    both = september.merge(october, on=["rule_id", "key"], suffixes=("_sep", "_oct"))
    assert set(both["rule_id"]) <= set(october["rule_id"])
    october.to_parquet(tmp_path / "findings.parquet")
    back = pd.read_parquet(tmp_path / "findings.parquet")
    assert list(back.columns) == list(october.columns) and len(back) == 52


def test_columns_an_analyst_joins_on(months):
    data, results = months
    findings = results["2026-10"].findings
    late = findings[(findings.rule_id == "ORD-003") & (findings.key == "ORD003-LATE-2610")].iloc[0]
    assert late["row"] == 270 and late["source"] == "orders.csv:270"
    assert late["dataset"] == "orders" and late["clock"] == "calendar"
    orders = data["2026-10"]["orders"]
    assert late["channel"] == orders.loc[orders["_row"] == 270, "channel"].iloc[0] == "wechat"
    assert str(findings["row"].dtype) == "Int64"
    assert findings.loc[findings.rule_id == "STK-003", "clock"].isna().all()  # not a duration
    orders_channels = list(data["2026-10"]["orders"]["channel"].cat.categories)
    assert list(findings["channel"].cat.categories)[: len(orders_channels)] == orders_channels
    tmall = findings[findings.channel == "tmall"]
    assert set(tmall["dataset"]) == {"orders", "promotions"} and len(tmall) == 16


def test_summary_of_a_filtered_subset_counts_that_subset(months):
    _, results = months
    result = results["2026-10"]
    findings = result.findings
    tmall = findings[findings.channel == "tmall"]
    table = opskit.summary(tmall, result.checked).set_index("rule_id")
    assert table["failed"].sum() == len(tmall) == 16
    assert len(table) == 34  # rules that ran with no tmall finding are listed, with 0 failed
    assert table.loc["CS-001", "failed"] == 0 and table.loc["CS-001", "checked"] > 0
    assert table.loc["ORD-003", "failed"] == len(tmall[tmall.rule_id == "ORD-003"])
    whole = opskit.summary(findings, result).set_index("rule_id")  # a CheckResult is accepted too
    assert whole["failed"].sum() == 52 and whole.loc["ORD-003", "pending"] == 2
    bare = opskit.summary(tmall).set_index("rule_id")  # without the checked table: counts from findings only
    assert bare["checked"].isna().all() and bare["failed"].sum() == 16
    assert bare.loc["ORD-003", "source_clause"] == "004 出货管理 1"


def test_summary_refuses_findings_of_rules_it_was_not_told_about(months):
    _, results = months
    result = results["2026-10"]
    only_orders = result.checked[result.checked.rule_id.str.startswith("ORD")]
    with pytest.raises(OpskitError, match="findings of rules CS-001"):
        opskit.summary(result.findings, only_orders)


def test_rows_returns_the_source_rows_behind_findings(months):
    data, results = months
    findings = results["2026-10"].findings
    ord3 = opskit.rows(findings[findings.rule_id == "ORD-003"], data["2026-10"])
    assert list(ord3["key"]) == list(ord3["order_id"])
    assert set(ord3["order_id"]) == {"ORD003-LATE-2610", "ORD003-NEVER-2610", "ORD009-GHOST-2610"}
    assert "paid_at" in ord3 and list(ord3["row"]) == list(findings.loc[findings.rule_id == "ORD-003", "row"])
    mixed = opskit.rows(findings[findings.rule_id.isin(["ORD-003", "CS-001"])], data["2026-10"])
    assert set(mixed["dataset"]) == {"orders", "cs_tickets"} and len(mixed) == 5
    # a SKU's month total points at no single row: nothing to drill to
    assert opskit.rows(findings[findings.rule_id == "STK-008"], data["2026-10"]).empty


@pytest.mark.parametrize("spelling", ["2026-10", "2026/10", "2026年10月", "２０２６年１０月", " 2026-10 "])
def test_every_month_spelling_reads_the_same(spelling):
    assert to_period(spelling) == pd.Period("2026-10", "M")


def test_single_digit_month_everywhere():
    assert to_period("2026-9") == pd.Period("2026-09", "M")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OpskitNotice)
        assert opskit.load(SAMPLES, month="2026-9").month == "2026-09"
        assert opskit.load(SAMPLES, month="2026年10月").month == "2026-10"
        assert len(opskit.check(SAMPLES, month="2026/10")) == 52


@pytest.mark.parametrize("spelling", ["2026-13", "October", "2026", "2026-10-05x"])
def test_a_month_that_is_not_one_is_refused(spelling):
    with pytest.raises(OpskitError, match="is not a month"):
        to_period(spelling)


def test_auditing_another_month_than_the_datas_is_refused(months):
    data, _ = months
    with pytest.raises(OpskitError, match="the data is 2026-10's .* but the audit asks for 2026-09"):
        opskit.check(data["2026-10"], month="2026-09")
    with pytest.raises(DataError, match="this folder holds 2026-10, not 2026-09"):
        opskit.load(SAMPLES / "2026-10", month="2026-09")


def test_a_month_without_a_single_row_is_refused(tmp_path):
    shutil.copytree(SAMPLES / "2026-10", tmp_path / "export")  # October's data in a folder not named by month
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OpskitNotice)
        data = opskit.load(tmp_path / "export")
    assert data.month is None
    with pytest.raises(OpskitError, match=r"no row of any dataset falls in 2026-09.*2026-10 \(1,720 rows\)"):
        opskit.check(data, month="2026-09")
    assert len(opskit.check(data, month="2026-10")) == 52


def test_a_month_mostly_elsewhere_is_audited_with_a_warning(tmp_path):
    write(
        tmp_path,
        orders=[{"order_id": f"O{i}", "channel": "tmall", "created_at": "2026-10-05 10:00"} for i in range(5)]
        + [{"order_id": "S1", "channel": "tmall", "created_at": "2026-09-30 10:00"}],
    )
    with pytest.warns(OpskitNotice, match="most rows of this data fall in 2026-10 .5 rows., only 1 in 2026-09"):
        found = opskit.check(opskit.load(tmp_path), month="2026-09")
    assert found.empty


def test_as_of_before_the_month_is_refused(months):
    data, _ = months
    with pytest.raises(OpskitError, match="as_of 2026-09-30 23:59 is before 2026-10 starts"):
        opskit.check(data["2026-10"], month="2026-10", as_of="2026-09-30 23:59")
    assert len(opskit.check(data["2026-10"], month="2026-10", as_of="2026-10-01 00:00")) > 0  # the first instant


def test_notices_are_warnings_and_log_records(caplog):
    with caplog.at_level(logging.INFO, logger="opskit"), pytest.warns(OpskitNotice) as caught:
        data = opskit.load(SAMPLES, month="2026-10")
        opskit.check(data, month="2026-10")
    texts = [str(w.message) for w in caught]
    assert "orders.csv: 1 exact duplicate rows dropped (rows 288)" in texts
    assert any("later rows of repeated order_id values set aside" in t for t in texts)
    assert texts.count("orders.csv: 1 exact duplicate rows dropped (rows 288)") == 1  # the check does not repeat it
    assert "orders.csv: 1 exact duplicate rows dropped (rows 288)" in caplog.messages


def test_every_bad_cell_of_a_file_in_one_error(tmp_path):
    write(
        tmp_path,
        orders=pd.DataFrame(
            {
                "order_id": ["A", "B", "C", "D"],
                "channel": ["tmall", "淘宝", "tmall", "tmall"],
                "created_at": ["2026-10-05", "2026-10-05", "2026-13-01", "2026-10-05"],
                "amount": ["12", "12", "12", "¥abc"],
            }
        ),
    )
    with pytest.raises(DataError) as caught:
        opskit.load(tmp_path)
    error = caught.value
    assert (error.row, error.column) == (3, "channel") and error.total == 3
    assert str(error).splitlines() == [
        "orders.csv: 3 bad cells",
        "  - row 3, column channel: cannot read '淘宝' as enum "
        "(expected one of tmall (天猫/天猫旗舰店), wechat (微店/微信), distributor (经销商/經銷商), other (其他/其它))",
        "  - row 4, column created_at: cannot read '2026-13-01' as timestamp "
        "(expected a time like 2026-10-05 14:03, 2026/10/5 14:03 or 2026年10月5日 14:03)",
        "  - row 5, column amount: cannot read '¥abc' as money (expected an amount like 1234.50, ¥1,234.50 or 1,234)",
    ]
    assert list(error.table()["value"]) == ["淘宝", "2026-13-01", "¥abc"]


def test_bad_cells_are_listed_up_to_a_cap(tmp_path):
    write(tmp_path, orders=[{"order_id": f"O{i}", "channel": "tmall", "created_at": "bad"} for i in range(120)])
    with pytest.raises(DataError) as caught:
        opskit.load(tmp_path)
    lines = str(caught.value).splitlines()
    assert lines[0] == "orders.csv: 120 bad cells" and len(caught.value.problems) == 50
    assert lines[-1] == "  … and 70 more (the first 50 are listed)"
    assert lines[1].startswith("  - row 2, column created_at: cannot read 'bad' as timestamp")


def test_a_notebook_that_cannot_load_shows_every_bad_cell(tmp_path):
    from opskit.month import open_review
    from opskit.report.html import error_html
    from opskit.reviews.orders.review import OrderSlaReview

    month = tmp_path / "2026-10"
    write(month, orders=[{"order_id": f"O{i}", "channel": "tmall", "created_at": "bad"} for i in range(3)])
    review = open_review(OrderSlaReview, tmp_path, None, strict=False)
    assert "orders.csv: 3 bad cells" in error_html(review) and "row 4, column created_at" in error_html(review)
    with pytest.raises(DataError, match="orders.csv: 3 bad cells"):
        review.data["orders"]  # the load's own error, not a TypeError on None
    with pytest.raises(DataError, match="orders.csv: 3 bad cells"):
        _ = review.data.orders
    assert "orders" not in review.data and len(review.data) == 0
    assert review.findings.empty


def test_the_review_notebook_that_cannot_load_lists_every_bad_cell(tmp_path):
    """The real order-SLA notebook, opened interactively on a file with three bad cells: it runs to the
    end, and `data` raises the load's error listing all three rather than being None."""
    import nbformat
    import papermill
    from helpers import ROOT

    from opskit.report.kernels import WakefulKernelManager

    write(
        tmp_path / "data" / "2026-10",
        orders=[{"order_id": f"O{i}", "channel": "tmall", "created_at": "x"} for i in range(3)],
    )
    nb = nbformat.read(ROOT / "opskit" / "notebooks" / "order_sla_audit.ipynb", as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell("try:\n    data['orders']\nexcept opskit.DataError as exc:\n    print(exc)")
    )
    nbformat.write(nb, tmp_path / "explore.ipynb")
    papermill.execute_notebook(
        str(tmp_path / "explore.ipynb"),
        str(tmp_path / "ran.ipynb"),
        parameters={"data_root": str(tmp_path / "data"), "interactive": True},
        kernel_name="python3",
        progress_bar=False,
        kernel_manager_class=WakefulKernelManager,  # as the batch runs notebooks: no reply missed
        execution_timeout=300,  # a cell that never answers fails the test instead of hanging it
    )
    ran = nbformat.read(tmp_path / "ran.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for o in ran.cells[-1].outputs if o.output_type == "stream")
    assert printed.splitlines()[0] == "orders.csv: 3 bad cells"
    assert [line.split(":")[0] for line in printed.splitlines()[1:]] == [
        "  - row 2, column created_at",
        "  - row 3, column created_at",
        "  - row 4, column created_at",
    ]

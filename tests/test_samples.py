"""The committed samples give exactly the planted findings, and are exactly what the generator writes."""

import pandas as pd
import pytest
from helpers import SAMPLES, keys

import opskit
from opskit.samples import write_samples

OCTOBER = {
    ("ORD-001", "ORD001-LATE-2610"),
    ("ORD-001", "ORD001-NEVER-2610"),
    ("ORD-002", "ORD002-LATE-2610"),
    ("ORD-002", "ORD002-NEVER-2610"),
    ("ORD-003", "ORD003-LATE-2610"),
    ("ORD-003", "ORD003-NEVER-2610"),
    ("ORD-003", "ORD009-GHOST-2610"),
    ("ORD-004", "ORD004-SPECIAL-ONE-2610"),
    ("ORD-004", "ORD004-TWO-2610"),
    ("ORD-005", "ORD005-EARLY-2610"),
    ("ORD-005", "ORD005-UNPAID-2610"),
    ("ORD-006", "ORD006-BLANK-2610"),
    ("ORD-006", "ORD006-LATE-REG-2610"),
    ("ORD-006", "ORD006-UNKNOWN-2610"),
    ("ORD-007", "ORD007-ACCOUNT-2610"),
    ("ORD-008", "ORD006-UNKNOWN-2610"),
    ("ORD-008", "ORD007-ACCOUNT-2610"),
    ("ORD-009", "ORD009-GHOST-2610"),
    ("ORD-009", "ORD009-PAID-EARLY-2610"),
    ("ORD-010", "ORD010-CHANGED-2610"),
    ("CS-001", "CS001-LATE-2610"),
    ("CS-001", "CS001-NEVER-2610"),
    ("CS-002", "CS002-NO-FEEDBACK-2610"),
    ("CS-002", "CS002-SLOW-2610"),
    ("CS-003", "CS003-LATE-2610"),
    ("CS-004", "CS004-BLANK-2610"),
    ("CS-005", "CS005-NO-GREETING-2610"),
    ("CS-006", "CS006-NO-CLOSING-2610"),
    ("CS-007", "CS007-IMPOLITE-2610"),
    ("PRM-001", "P2610-02"),
    ("PRM-002", "P2610-02"),
    ("PRM-003", "P2610-03"),
    ("PRM-004", "P2610-04"),
    ("PRM-005", "P2610-03"),
    ("PRM-006", "P2610-03/SKU0003"),
    ("PRM-007", "P2610-04"),
    ("PRM-008", "P2610-04"),
    ("STK-001", "PD2610-B"),
    ("STK-002", "PD2610-B"),
    ("STK-003", "SKU0001"),
    ("STK-003", "SKU0002"),
    ("STK-003", "SKU0036"),
    ("STK-003", "SKU9002"),
    ("STK-004", "SKU0036"),
    ("STK-005", "SKU0001"),
    ("STK-005", "SKU0036"),
    ("STK-006", "2026-10-18"),
    ("STK-007", "SKU0021/2026-10-08"),
    ("STK-007", "SKU0022/2026-10-15"),
    ("STK-008", "SKU0001"),
    ("STK-008", "SKU9001"),
    ("STK-009", "SKU0023/2026-10-22"),
}


@pytest.fixture(scope="module")
def october_result():
    return opskit.run_checks(opskit.load(SAMPLES, month="2026-10"), month="2026-10")


@pytest.fixture(scope="module")
def october(october_result):
    return october_result.findings


def test_october_gives_exactly_the_planted_findings(october):
    assert keys(october) == OCTOBER


def test_every_rule_of_the_spec_has_a_planted_finding(october):
    from opskit.policy import load_policy

    assert set(october["rule_id"]) == set(load_policy().rules)


def test_findings_point_at_the_source_row(october):
    row = october[(october["rule_id"] == "ORD-003") & (october["key"] == "ORD003-LATE-2610")].iloc[0]
    assert row["source"] == "orders.csv:270"
    assert row["observed"] == 30 and row["limit"] == 24 and row["unit"] == "h"
    ledger = october[october["rule_id"] == "STK-009"].iloc[0]
    assert ledger["source"].startswith("电商台帐表.xlsx:")


def test_shortage_is_charged_at_retail(october):
    stk5 = october[october["rule_id"] == "STK-005"].set_index("key")
    products = opskit.load(SAMPLES, month="2026-10")["products"].set_index("sku")["retail_price"]
    assert stk5.loc["SKU0001", "observed"] == 3
    assert stk5.loc["SKU0001", "amount"] == 3 * products["SKU0001"]


def test_summary_counts_checked_failed_and_pending(october, october_result):
    summary = opskit.summary(october, october_result.checked).set_index("rule_id")
    assert summary.loc["ORD-003", "failed"] == 3
    assert summary.loc["ORD-003", "pending"] == 2  # ORD002-PENDING and ORD003-PENDING, paid on the last day
    assert summary.loc["CS-003", "pending"] == 1
    assert (summary["status"] == "ran").all()
    assert summary.loc["ORD-008", "share_failed"] == pytest.approx(0.5)


def test_loading_reports_the_exact_duplicate_and_the_changed_order():
    data = opskit.load(SAMPLES, month="2026-10")
    assert any("1 exact duplicate rows dropped" in n for n in data.notices)
    assert data.month == "2026-10"
    assert set(data) == {
        "orders",
        "order_lines",
        "customers",
        "products",
        "promotions",
        "cs_tickets",
        "cs_messages",
        "stock_ledger",
        "stock_counts",
        "finance_writeoffs",
    }


def test_september_has_its_own_findings():
    sept = opskit.check(opskit.load(SAMPLES, month="2026-09"), month="2026-09")
    assert ("ORD-003", "ORD003-LATE-2609") in keys(sept)
    assert ("STK-003", "SKU0001") in keys(sept)
    assert not any(k.endswith("-2610") for k in sept["key"])


def test_committed_samples_are_what_the_generator_writes(tmp_path):
    """Sample data is never edited by hand: regenerating it gives the committed files, byte for byte."""
    write_samples(tmp_path)
    committed = sorted(p.relative_to(SAMPLES) for p in SAMPLES.rglob("*") if p.is_file())
    assert committed == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for path in committed:
        assert (tmp_path / path).read_bytes() == (SAMPLES / path).read_bytes(), path


def test_every_rule_runs_on_header_only_files(tmp_path):
    from opskit.schema import DATASETS

    for name, ds in DATASETS.items():
        (tmp_path / f"{name}.csv").write_text(",".join(c.name for c in ds.columns) + "\n", encoding="utf-8")
    with pytest.raises(opskit.OpskitError, match="no row of any dataset falls in 2026-10"):
        opskit.check(opskit.load(tmp_path), month="2026-10")  # a month without a single record is not audited
    # one compliant order makes it a month to audit; every other dataset stays header-only
    order = {c.name: None for c in DATASETS["orders"].columns}
    order.update(order_id="A1", channel="tmall", created_at="2026-10-05 10:00")
    pd.DataFrame([order]).to_csv(tmp_path / "orders.csv", index=False)
    result = opskit.run_checks(opskit.load(tmp_path), month="2026-10")
    found = result.findings
    summary = opskit.summary(found, result.checked).set_index("rule_id")
    assert (summary["status"] == "ran").all() and len(summary) == 34
    # the only findings an empty month can have: no stock count, and no ledger on any day
    assert set(found["rule_id"]) == {"STK-001", "STK-006"}
    assert len(found[found["rule_id"] == "STK-006"]) == 31

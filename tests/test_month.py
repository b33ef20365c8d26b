"""The computed month: saved and loaded exactly, cached by its inputs, and reading across the months of a root."""

import os
import shutil

import pandas as pd
import pytest
from helpers import SAMPLES, keys, write

import opskit
from opskit.month import MonthResult, cached, fingerprint, open_review


@pytest.fixture(scope="module")
def october():
    return MonthResult.compute(SAMPLES, "2026-10")


def test_the_month_holds_everything_its_outputs_render(october):
    assert october.month == "2026-10" and october.as_of == pd.Timestamp("2026-11-01")
    assert october.folder == SAMPLES / "2026-10" and october.data_root == SAMPLES
    assert len(october.findings) == 52 and set(october.kpis) == {
        "order_sla_audit",
        "service_stats",
        "stocktake_variance",
        "promotion_review",
    }
    assert october.kpis["order_sla_audit"]["orders"] == 285
    assert october.previous_month == "2026-09" and october.previous_kpis["order_sla_audit"]["findings"] > 0
    assert sorted(f.name for f in october.files)[:2] == ["cs_messages.parquet", "cs_tickets.csv"]
    assert all(f.size == (SAMPLES / "2026-10" / f.name).stat().st_size for f in october.files)
    assert set(october.rule_status()["state"]) == {"ran"} and october.skipped() == {}
    assert {"promotion_review:sales", "stocktake_variance:trend"} <= set(october.frames)


def test_save_and_load_give_the_same_month(october, tmp_path):
    loaded = MonthResult.load(october.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(loaded.findings, october.findings)
    pd.testing.assert_frame_equal(loaded.summary, october.summary)
    for name in october.data:
        pd.testing.assert_frame_equal(loaded.data[name], october.data[name])
    for name, frame in october.frames.items():
        pd.testing.assert_frame_equal(loaded.frames[name], frame)
    assert (loaded.kpis, loaded.previous_kpis, loaded.notices) == (october.kpis, october.previous_kpis, october.notices)
    assert (loaded.as_of, loaded.folder, loaded.files) == (october.as_of, october.folder, october.files)
    review = open_review("promotion_review", SAMPLES, saved=tmp_path / "m")
    assert review.kpis() == october.kpis["promotion_review"]
    stored = [p for p in (tmp_path / "m").rglob("*") if p.is_file()]
    assert {p.suffix for p in stored} == {".parquet", ".json"}  # no pickle: a saved month is data
    assert [p.name for p in stored if p.suffix == ".json"] == ["month.json"]


def test_a_saved_result_of_another_format_is_refused(october, tmp_path):
    october.save(tmp_path / "m")
    meta = tmp_path / "m" / "month.json"
    meta.write_text(meta.read_text(encoding="utf-8").replace('"format": 1', '"format": 0'), encoding="utf-8")
    with pytest.raises(opskit.OpskitError, match="saved by another version"):
        MonthResult.load(tmp_path / "m")


def test_the_cache_serves_a_month_until_a_file_changes(tmp_path, monkeypatch):
    root = tmp_path / "data"
    shutil.copytree(SAMPLES / "2026-10", root / "2026-10")
    first = cached(root, "2026-10", directory=tmp_path / "cache")
    assert len(list((tmp_path / "cache").iterdir())) == 1
    calls = []
    real = MonthResult.compute.__func__

    def counting(cls, *args, **kw):
        calls.append(args)
        return real(cls, *args, **kw)

    monkeypatch.setattr(MonthResult, "compute", classmethod(counting))
    again = cached(root, "2026-10", directory=tmp_path / "cache")
    assert calls == [] and again.kpis == first.kpis
    before = fingerprint(root, "2026-10")
    orders = root / "2026-10" / "orders.csv"
    os.utime(orders, ns=(orders.stat().st_atime_ns, orders.stat().st_mtime_ns + 10**9))  # re-exported
    assert fingerprint(root, "2026-10") != before
    cached(root, "2026-10", directory=tmp_path / "cache")
    assert len(calls) == 1
    assert fingerprint(root, "2026-10", as_of="2026-11-03") != fingerprint(root, "2026-10")
    assert fingerprint(root, "2026-10", policy={"masking": False}) != fingerprint(root, "2026-10")


LEDGER = [
    {"date": "2026-09-29", "sku": "A", "opening_qty": 10, "closing_qty": 10},
    {"date": "2026-09-30", "sku": "A", "opening_qty": 10, "closing_qty": 8, "out_qty": 2},
    {"date": "2026-09-30", "sku": "B", "opening_qty": 5, "closing_qty": 5},
]
OCTOBER_LEDGER = [
    {"date": "2026-10-01", "sku": "A", "opening_qty": 10, "closing_qty": 10},  # September closed at 8
    {"date": "2026-10-01", "sku": "B", "opening_qty": 5, "closing_qty": 5},
    {"date": "2026-10-02", "sku": "A", "opening_qty": 10, "closing_qty": 10},
]


def test_stk_007_the_first_day_rolls_forward_from_the_previous_month_of_a_root(tmp_path):
    write(tmp_path / "2026-09", stock_ledger=LEDGER)
    write(tmp_path / "2026-10", stock_ledger=OCTOBER_LEDGER)
    found = opskit.check(opskit.load(tmp_path, month="2026-10"), month="2026-10", rules="STK-007")
    assert keys(found, "STK-007") == {"A/2026-10-01"}
    row = found.set_index("key").loc["A/2026-10-01"]
    assert row["observed"] == 2 and row["message"] == "opening 10 ≠ closing 8 of 2026-09-30"
    assert opskit.summary(found).set_index("rule_id").loc["STK-007", "checked"] == 3
    alone = opskit.check(opskit.load(tmp_path / "2026-10"), month="2026-10", rules="STK-007")
    assert alone.empty  # a single month folder has no previous row for its first day


def test_stk_007_an_unreadable_previous_month_is_a_notice_not_a_failure(tmp_path):
    write(tmp_path / "2026-10", stock_ledger=OCTOBER_LEDGER)
    (tmp_path / "2026-09").mkdir()
    (tmp_path / "2026-09" / "stock_ledger.csv").write_text(
        "日期,商品编码,期初,期末\n2026-09-30,A,x,8\n", encoding="utf-8"
    )
    data = opskit.load(tmp_path, month="2026-10")
    assert data.prior == {}
    assert any(n.startswith("2026-09/stock_ledger.csv, row 2, column 期初") for n in data.notices)
    assert opskit.check(data, month="2026-10", rules="STK-007").empty

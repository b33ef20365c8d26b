"""The computed month: saved and loaded exactly, cached by its inputs, and reading across the months of a root."""

import os
import shutil

import pandas as pd
import pytest
from helpers import SAMPLES

import opskit
from opskit.month import FORMAT, MonthResult, cached, fingerprint, open_review


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
    meta.write_text(meta.read_text(encoding="utf-8").replace(f'"format": {FORMAT}', '"format": 0'), encoding="utf-8")
    with pytest.raises(opskit.OpskitError, match="saved by another version"):
        MonthResult.load(tmp_path / "m")


def test_the_cache_serves_a_month_until_a_file_changes(tmp_path, monkeypatch):
    root = tmp_path / "data"
    shutil.copytree(SAMPLES / "2026-10", root / "2026-10")
    first = cached(root, "2026-10", directory=tmp_path / "cache")
    assert len([p for p in (tmp_path / "cache").iterdir() if p.is_dir()]) == 1
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
    unchanged = fingerprint(root, "2026-10")
    (root / "serve.log").write_text("a log beside the month folders is not an input")
    assert fingerprint(root, "2026-10") == unchanged
    assert fingerprint(root, "2026-10", as_of="2026-11-03") != fingerprint(root, "2026-10")
    assert fingerprint(root, "2026-10", policy={"masking": False}) != fingerprint(root, "2026-10")


def test_viewers_opening_a_month_at_once_wait_for_one_computation(october, tmp_path, monkeypatch):
    import threading
    import time

    calls = []

    def slow(cls, *args, **kw):
        calls.append(args)
        time.sleep(1)
        return october

    monkeypatch.setattr(MonthResult, "compute", classmethod(slow))
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cached(SAMPLES, "2026-10", directory=tmp_path / "c")))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(results) == 3
    assert all(r.kpis == october.kpis for r in results)


def test_a_review_reads_no_file_and_imports_no_dashboard():
    import subprocess
    import sys

    from helpers import ROOT

    modules = ["opskit.report.review", "opskit.report.html"] + [
        f"opskit.reviews.{family}.review" for family in ("orders", "service", "stocktake", "promotions")
    ]
    code = (
        f"import sys, {', '.join(modules)}\n"
        "print([m for m in ('opskit.report.dashboard', 'ipywidgets', 'opskit.month', 'opskit.batch', 'opskit.serve')"
        " if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
    for module in modules:
        source = (ROOT / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")
        for io in ("environ", "read_text", "open(", "load(", "to_parquet", "month_folders"):
            assert io not in source, (module, io)

"""`opskit run --months` (local worker processes and a Dask cluster), the reviews reading the history,
and follow-up (整改) round-tripped through the managers' workbook."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import ROOT, SAMPLES
from openpyxl import load_workbook

import opskit
from opskit.backfill import parse_months
from opskit.cli import main
from opskit.errors import OpskitError

MONTHS = "2026-09..2026-11"


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """The two sample months and a third whose orders cannot be read."""
    root = tmp_path_factory.mktemp("data")
    for month in ("2026-09", "2026-10"):
        shutil.copytree(SAMPLES / month, root / month)
    (root / "2026-11").mkdir()
    (root / "2026-11" / "orders.csv").write_text("订单编号,渠道,下单时间\nN1,天猫,2026-13-03\n", encoding="utf-8")
    return root


def backfill_args(root: Path, out: Path, *extra: str) -> list[str]:
    return [
        "run",
        str(root),
        "--months",
        MONTHS,
        "--out",
        str(out),
        "--notebooks",
        "order_sla_audit",
        "--jobs",
        "1",
        *extra,
    ]


@pytest.fixture(scope="module")
def local(root, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "reports"
    code, printed, err = cli(*backfill_args(root, out))
    snapshot = tmp_path_factory.mktemp("snapshot")
    shutil.copytree(out, snapshot / "reports")  # as the backfill left it, before follow-ups change the store
    return {"out": out, "snapshot": snapshot / "reports", "code": code, "printed": printed, "err": err}


def test_months_are_parsed_as_ranges_or_lists():
    assert parse_months("2025-11..2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert parse_months("2026-03, 2026-01") == ["2026-01", "2026-03"]
    for bad, message in [
        ("2026-10..2026-01", "ends before it starts"),
        ("2026-13..2027-01", "2026-13 is not a month"),
        ("October", "give a range like"),
    ]:
        with pytest.raises(OpskitError, match=message):
            parse_months(bad)


def test_a_backfill_prints_one_line_per_month_and_names_the_failing_one(local):
    assert local["code"] == 1
    lines = [line for line in local["printed"].splitlines() if line.startswith("[")]
    assert len(lines) == 3
    assert sorted(line.split()[1] for line in lines) == ["2026-09:", "2026-10:", "2026-11:"]
    assert sum(": ok (" in line for line in lines) == 2
    (failed,) = [line for line in lines if "2026-11" in line]
    assert "FAILED (exit 2)" in failed and "orders.csv, row 2" in failed  # bad data stops before any notebook
    assert "opskit run: 2026-11 failed: orders.csv, row 2" in local["err"]
    assert "2 of 3 months done" in local["printed"]
    for month in ("2026-09", "2026-10"):
        assert (local["out"] / month / "order_sla_audit.html").stat().st_size > 100_000


def test_the_backfill_records_every_month_in_the_history_store(local):
    h = opskit.history(local["snapshot"] / "opskit-history.sqlite")
    assert h.months["month"].tolist() == ["2026-09", "2026-10"]  # November could not be read: not recorded
    assert h.months["findings"].tolist() == [15, 52]
    assert h.rule("ORD-003")[["month", "checked", "failed", "pending"]].values.tolist()[:2] == [
        ["2026-09", 201, 1, 0],
        ["2026-10", 275, 3, 2],
    ]
    on_time = h.metric("on_time_shipping")
    assert on_time[["month", "value"]].values.tolist() == [["2026-09", 0.995], ["2026-10", 0.9891]]
    assert on_time["change"].round(4).tolist()[1] == -0.0059
    code, printed, _ = cli("history", "--out", str(local["snapshot"]), "--metric", "on_time_shipping")
    assert code == 0 and "2026-10 order_sla_audit on_time_shipping 0.9891 -0.0059" in printed
    code, printed, _ = cli(
        "history", "--history", str(local["snapshot"] / "opskit-history.sqlite"), "--rule", "ORD-003"
    )
    assert code == 0 and printed.splitlines()[2].split()[:5] == ["2026-10", "ORD-003", "275", "3", "0.0109"]
    code, _, err = cli("history", "--out", str(local["snapshot"]), "--rule", "ORD-999")
    assert code == 2 and "no rule ORD-999 in the history store; known: CS-001" in err


def test_the_october_review_shows_the_change_against_september(local):
    html = (local["snapshot"] / "2026-10" / "order_sla_audit.html").read_text(encoding="utf-8")
    assert '24小时内发货率<b>98.9%</b><small class="opskit-change">较上月 -0.6个百分点</small>' in html
    assert '订单数<b>285</b><small class="opskit-change">较上月 +82</small>' in html
    assert "近12个月趋势" not in html or "<img" in html
    assert "往月未整改事项" in html
    book = load_workbook(local["snapshot"] / "2026-10" / "opskit-2026-10.xlsx")
    headline = [r for r in book["关键指标"].iter_rows(min_row=4, values_only=True)]
    assert ("订单时效审计", "24小时内发货率", 0.9891, -0.0059) in headline  # the figure and its change
    sheet = book["订单时效审计"]
    header = [c.value for c in sheet[3]]
    assert header[:2] == ["编号", "上月也出现"] and header[-3:] == ["责任人", "整改状态", "整改说明"]
    assert sheet["A4"].value == "ORD-001:ORD001-LATE-2610"


def _set(sheet, finding: str, **values) -> int:
    header = [c.value for c in sheet[3]]
    for row in sheet.iter_rows(min_row=4):
        if row[header.index("编号")].value == finding:
            for name, value in values.items():
                row[header.index(name)].value = value
            return row[0].row
    raise AssertionError(f"{finding} not in {sheet.title}")


def test_follow_up_typed_in_the_workbook_is_imported_audited_and_shown_next_time(local, root, tmp_path):
    out = local["out"]
    path = out / "2026-10" / "opskit-2026-10.xlsx"
    book = load_workbook(path)
    sheet = book["订单时效审计"]
    _set(sheet, "ORD-003:ORD003-LATE-2610", 责任人="王仓管", 整改状态="已整改", 整改说明='=HYPERLINK("x")')
    _set(sheet, "ORD-001:ORD001-LATE-2610", 责任人="李客服", 整改状态="处理中")
    carried = book["往月未整改事项"]
    assert carried["A4"].value == "2026-09"
    september = carried["B4"].value
    _set(carried, september, 整改状态="不适用", 整改说明="活动例外")
    edited = tmp_path / "opskit-2026-10.xlsx"
    book.save(edited)

    code, printed, err = cli(
        "followup", "import", str(edited), "--by", "张经理", "--history", str(out / "opskit-history.sqlite")
    )
    assert (code, err) == (0, "")
    assert "3 changed (7 values) by 张经理" in printed

    h = opskit.history(out / "opskit-history.sqlite")
    shown = h.audit.astype(object).where(h.audit.notna(), None)
    assert shown[["month", "finding_id", "field", "old", "new", "by"]].values.tolist() == [
        ["2026-10", "ORD-001:ORD001-LATE-2610", "owner", None, "李客服", "张经理"],  # in the workbook's order
        ["2026-10", "ORD-001:ORD001-LATE-2610", "status", None, "处理中", "张经理"],
        ["2026-10", "ORD-003:ORD003-LATE-2610", "owner", None, "王仓管", "张经理"],
        ["2026-10", "ORD-003:ORD003-LATE-2610", "status", None, "已整改", "张经理"],
        ["2026-10", "ORD-003:ORD003-LATE-2610", "note", None, '=HYPERLINK("x")', "张经理"],
        ["2026-09", september, "status", None, "不适用", "张经理"],
        ["2026-09", september, "note", None, "活动例外", "张经理"],
    ]

    # the next render of October shows them, and the closed September item is no longer carried over
    code, _, err = cli(
        "run", str(root), "--month", "2026-10", "--out", str(out), "--notebooks", "order_sla_audit", "--jobs", "1"
    )
    assert code == 0, err
    book = load_workbook(out / "2026-10" / "opskit-2026-10.xlsx")
    sheet = book["订单时效审计"]
    header = [c.value for c in sheet[3]]
    row = _set(sheet, "ORD-003:ORD003-LATE-2610")
    values = {h: sheet.cell(row=row, column=i + 1) for i, h in enumerate(header)}
    assert (values["责任人"].value, values["整改状态"].value) == ("王仓管", "已整改")
    assert values["整改说明"].value == '=HYPERLINK("x")' and values["整改说明"].data_type == "s"  # text, not a formula
    assert september not in [c.value for c in book["往月未整改事项"]["B"]]
    html = (out / "2026-10" / "order_sla_audit.html").read_text(encoding="utf-8")
    assert "王仓管" in html and "已整改" in html and '<td>=HYPERLINK("x")</td>' in html


def test_an_import_with_an_unknown_status_or_an_edited_id_is_refused_naming_sheet_and_row(local, tmp_path):
    out = local["out"]
    store = out / "opskit-history.sqlite"
    before = opskit.history(store).audit
    book = load_workbook(out / "2026-10" / "opskit-2026-10.xlsx")
    sheet = book["订单时效审计"]
    row = _set(sheet, "ORD-002:ORD002-LATE-2610", 整改状态="搞定了")
    bad = tmp_path / "status.xlsx"
    book.save(bad)
    code, _, err = cli("followup", "import", str(bad), "--by", "x", "--history", str(store))
    assert code == 2
    assert (
        f"status.xlsx: nothing imported: sheet 订单时效审计, row {row}, column 整改状态: unknown status '搞定了'" in err
    )
    assert "(allowed: 待处理 / 处理中 / 已整改 / 不适用)" in err

    book = load_workbook(out / "2026-10" / "opskit-2026-10.xlsx")
    sheet = book["订单时效审计"]
    row = _set(sheet, "ORD-002:ORD002-LATE-2610", 编号="ORD-002:ORD002-LATE-2610x", 整改状态="处理中")
    bad = tmp_path / "edited.xlsx"
    book.save(bad)
    code, _, err = cli("followup", "import", str(bad), "--by", "x", "--history", str(store))
    assert code == 2
    assert (
        f"finding 'ORD-002:ORD002-LATE-2610x' of 2026-10 (sheet 订单时效审计, row {row}) is not in the history" in err
    )
    assert len(opskit.history(store).audit) == len(before)  # nothing written


@pytest.fixture
def dask_scheduler(tmp_path):
    """A small dask.distributed LocalCluster (2 worker processes on 127.0.0.1) in its own process group."""
    pytest.importorskip("distributed")
    address_file = tmp_path / "scheduler"
    script = (
        "import sys, time\n"
        "from distributed import LocalCluster\n"
        "if __name__ == '__main__':\n"
        "    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host='127.0.0.1',\n"
        "                           scheduler_port=0, dashboard_address=None, memory_limit='2GiB')\n"
        f"    open({str(address_file)!r} + '.part', 'w').write(cluster.scheduler_address)\n"
        "    import os; os.replace(" + repr(str(address_file)) + " + '.part', " + repr(str(address_file)) + ")\n"
        "    while True: time.sleep(1)\n"
    )
    (tmp_path / "cluster.py").write_text(script)
    log = (tmp_path / "cluster.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, str(tmp_path / "cluster.py")],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not address_file.exists():
            assert proc.poll() is None, (tmp_path / "cluster.log").read_text()
            assert time.monotonic() < deadline, "the Dask cluster did not start within 90 s"
            time.sleep(0.2)
        yield address_file.read_text()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # workers left behind by a clean exit


def test_a_backfill_on_a_dask_cluster_equals_the_local_one(local, root, tmp_path, dask_scheduler):
    out = tmp_path / "reports"
    code, printed, err = cli(*backfill_args(root, out, "--scheduler", dask_scheduler))
    assert code == 1 and f"on the Dask cluster at {dask_scheduler}" in printed
    assert "opskit run: 2026-11 failed: orders.csv, row 2" in err
    for month in ("2026-09", "2026-10"):
        assert (out / month / "findings.csv").read_bytes() == (local["snapshot"] / month / "findings.csv").read_bytes()
        assert json.loads((out / month / "kpis.json").read_text()) == json.loads(
            (local["snapshot"] / month / "kpis.json").read_text()
        )
    remote, here = (
        opskit.history(out / "opskit-history.sqlite"),
        opskit.history(local["snapshot"] / "opskit-history.sqlite"),
    )
    for name in ("metrics", "rules", "findings"):
        pd.testing.assert_frame_equal(getattr(remote, name), getattr(here, name))
    assert remote.months.drop(columns="recorded_at").equals(here.months.drop(columns="recorded_at"))


def test_scheduler_without_months_and_an_unreachable_scheduler_are_refused(root, tmp_path, monkeypatch):
    monkeypatch.setattr("opskit.backfill.CONNECT_TIMEOUT", "1s")
    code, _, err = cli(
        "run", str(root), "--month", "2026-10", "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:9"
    )
    assert code == 2 and "--scheduler runs a backfill: give --months" in err
    code, _, err = cli(
        "run", str(root), "--months", "2026-09", "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:9"
    )
    assert code == 2 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err

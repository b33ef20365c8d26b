"""The history store on SQLite and on a live PostgreSQL server: one month replaced in one transaction,
concurrent writers serialised, a versioned schema, follow-ups with an audit trail."""

from __future__ import annotations

import multiprocessing as mp

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers import SAMPLES

import opskit
from opskit.errors import OpskitError
from opskit.history_store import SCHEMA_VERSION, HistoryStore, finding_id
from opskit.runner import run_checks


@pytest.fixture(scope="module")
def months():
    return {m: run_checks(SAMPLES, m) for m in ("2026-09", "2026-10")}


def record(store: HistoryStore, result, kpis=None) -> None:
    kpis = kpis if kpis is not None else {"order_sla_audit": {"orders": 300, "on_time_shipping": 0.99}}
    store.record_month(result.month, result.as_of, kpis, result.summary, result.findings)


def test_a_month_is_recorded_and_read_back(store_url, months):
    store = HistoryStore(store_url)
    record(store, months["2026-10"], {"order_sla_audit": {"orders": 312, "on_time_shipping": 0.9891, "note": "x"}})
    h = store.read()
    assert list(h.months["month"]) == ["2026-10"]
    assert h.months.loc[0, "as_of"] == "2026-11-01 00:00:00"
    assert len(h.findings) == 52 == h.months.loc[0, "findings"]
    row = h.findings.set_index("finding_id").loc["ORD-003:ORD003-LATE-2610"]
    assert (row["rule_id"], row["key"], row["observed"], row["limit"], row["unit"]) == (
        "ORD-003",
        "ORD003-LATE-2610",
        30.0,
        24.0,
        "h",
    )
    series = h.rule("ORD-003")
    assert series[["month", "checked", "failed", "pending"]].values.tolist() == [["2026-10", 275, 3, 2]]
    # text figures are not headline numbers: only numbers are kept
    assert h.metric("on_time_shipping")["value"].tolist() == [0.9891]
    assert set(h.metrics["metric"]) == {"orders", "on_time_shipping"}
    assert len(h.rules) == 34
    store.close()


def test_rerunning_a_month_replaces_its_rows_and_keeps_follow_ups(store_url, months):
    store = HistoryStore(store_url)
    record(store, months["2026-10"])
    store.apply_followups(
        [{"month": "2026-10", "finding_id": "ORD-003:ORD003-LATE-2610", "status": "处理中"}], by="王经理"
    )
    fewer = months["2026-10"].findings
    fewer = fewer[fewer["rule_id"].str.startswith("ORD")]
    store.record_month(
        "2026-10", months["2026-10"].as_of, {"order_sla_audit": {"orders": 1}}, months["2026-10"].summary, fewer
    )
    h = store.read()
    assert len(h.findings) == len(fewer) == 20
    assert h.metrics[["metric", "value"]].values.tolist() == [["orders", 1.0]]
    assert len(h.months) == 1
    assert h.followups[["finding_id", "status"]].values.tolist() == [["ORD-003:ORD003-LATE-2610", "处理中"]]
    store.close()


def test_a_failed_write_leaves_the_month_as_it_was(store_url, months):
    store = HistoryStore(store_url)
    record(store, months["2026-10"])
    broken = pd.concat([months["2026-10"].findings.head(2)] * 2)  # the same finding twice violates the key
    with pytest.raises(OpskitError, match="history store"):
        store.record_month("2026-10", months["2026-10"].as_of, {}, months["2026-10"].summary.head(1), broken)
    h = store.read()
    assert len(h.findings) == 52 and len(h.rules) == 34 and len(h.metrics) == 2
    store.close()


def test_text_from_the_data_is_stored_as_text_never_as_sql(store_url, months):
    store = HistoryStore(store_url)
    findings = months["2026-10"].findings.head(1).assign(key="x'); DROP TABLE findings; --", message="=1+1")
    store.record_month("2026-10", months["2026-10"].as_of, {}, months["2026-10"].summary, findings)
    h = store.read()
    assert h.findings[["key", "message"]].values.tolist() == [["x'); DROP TABLE findings; --", "=1+1"]]
    store.close()


def _writer(url: str, label: float, rounds: int, rule_ids: list[str]) -> None:
    store = HistoryStore(url)
    findings = pd.DataFrame(
        {"rule_id": rule_ids, "key": [f"K{label:.0f}-{i}" for i in range(len(rule_ids))], "when": pd.NaT}
    )
    summary = pd.DataFrame(
        {"rule_id": rule_ids, "checked": 1, "failed": 1, "pending": 0, "share_failed": label, "status": "ran"}
    )
    for _ in range(rounds):
        store.record_month("2026-10", "2026-11-01", {"r": {"m": label}}, summary, findings)
    store.close()


def test_two_runs_writing_the_same_month_at_once_neither_corrupt_nor_interleave(store_url):
    HistoryStore(store_url).close()  # created once; the writers race on the month, not on the schema
    ctx = mp.get_context("spawn")
    ids_a = [f"ORD-{i:03d}" for i in range(1, 11)]
    ids_b = [f"CS-{i:03d}" for i in range(1, 8)]
    writers = [
        ctx.Process(target=_writer, args=(store_url, 1.0, 15, ids_a)),
        ctx.Process(target=_writer, args=(store_url, 2.0, 15, ids_b)),
    ]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=120)
    assert [w.exitcode for w in writers] == [0, 0]
    h = opskit.history(store_url)
    label = h.metrics["value"].tolist()
    assert label in ([1.0], [2.0])  # one writer's month, whole
    expected = ids_a if label == [1.0] else ids_b
    assert sorted(h.rules["rule_id"]) == sorted(expected)
    assert set(h.rules["share_failed"]) == set(label)
    assert sorted(h.findings["rule_id"]) == sorted(expected)
    assert {k.split("-")[0] for k in h.findings["key"]} == {f"K{label[0]:.0f}"}
    assert h.months["findings"].tolist() == [len(expected)]


def test_the_schema_is_versioned_and_a_newer_one_is_refused(store_url):
    store = HistoryStore(store_url)
    assert store.version() == SCHEMA_VERSION == 1
    with store.engine.begin() as conn:
        conn.execute(sa.update(sa.table("opskit_schema", sa.column("version"))).values(version=99))
    store.close()
    with pytest.raises(OpskitError, match="schema version 99, written by a newer opskit"):
        HistoryStore(store_url)


def test_an_older_store_is_migrated_when_opened(tmp_path):
    path = tmp_path / "old.sqlite"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # a store from before any table existed: version 0
        conn.exec_driver_sql("CREATE TABLE opskit_schema (version INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO opskit_schema VALUES (0)")
    engine.dispose()
    store = HistoryStore(path)
    assert store.version() == 1
    assert {"months", "metrics", "rule_summary", "findings", "followups", "followup_audit"} <= set(
        sa.inspect(store.engine).get_table_names()
    )
    store.close()


def test_follow_ups_keep_an_audit_trail_and_refuse_unknown_findings(store_url, months):
    store = HistoryStore(store_url)
    record(store, months["2026-10"])
    fid = finding_id("CS-001", "CS001-LATE-2610")
    assert store.apply_followups(
        [{"month": "2026-10", "finding_id": fid, "owner": "张三", "status": "待处理"}], by="王经理", source="a.xlsx"
    ) == {"findings": 1, "fields": 2}
    assert store.apply_followups(
        [{"month": "2026-10", "finding_id": fid, "owner": "张三", "status": "已整改", "note": "已补发"}], by="李主管"
    ) == {"findings": 1, "fields": 2}
    # the same values again: nothing changes, nothing is audited
    assert store.apply_followups([{"month": "2026-10", "finding_id": fid, "status": "已整改"}], by="李主管") == {
        "findings": 0,
        "fields": 0,
    }
    with pytest.raises(OpskitError, match=r"finding 'CS-001:EDITED' of 2026-10 \(sheet 客服统计, row 4\) is not in"):
        store.apply_followups(
            [
                {"month": "2026-10", "finding_id": fid, "status": "处理中"},
                {
                    "month": "2026-10",
                    "finding_id": "CS-001:EDITED",
                    "status": "处理中",
                    "where": "sheet 客服统计, row 4",
                },
            ],
            by="x",
        )
    h = store.read()
    shown = h.audit.astype(object).where(h.audit.notna(), None)
    audit = shown[["finding_id", "field", "old", "new", "by"]].values.tolist()
    assert audit == [
        [fid, "owner", None, "张三", "王经理"],
        [fid, "status", None, "待处理", "王经理"],
        [fid, "status", "待处理", "已整改", "李主管"],
        [fid, "note", None, "已补发", "李主管"],
    ]
    assert h.audit["at"].str.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC").all()
    assert shown["source"].tolist() == ["a.xlsx", "a.xlsx", None, None]
    row = h.findings.set_index("finding_id").loc[fid]
    assert (row["owner"], row["status"], row["note"]) == ("张三", "已整改", "已补发")
    store.close()


def test_context_gives_the_month_before_recurrence_and_open_items(store_url, months):
    store = HistoryStore(store_url)
    record(store, months["2026-09"], {"order_sla_audit": {"on_time_shipping": 0.995}})
    record(store, months["2026-10"], {"order_sla_audit": {"on_time_shipping": 0.9891}})
    sept = sorted(store.read().findings.query("month == '2026-09'")["finding_id"])
    store.apply_followups(
        [
            {"month": "2026-09", "finding_id": sept[0], "status": "已整改"},
            {"month": "2026-09", "finding_id": sept[1], "status": "不适用"},
            {"month": "2026-09", "finding_id": sept[2], "status": "处理中", "owner": "赵"},
        ],
        by="王经理",
    )
    ctx = store.context("2026-10")
    assert ctx.previous_month == "2026-09" and ctx.source == "store"
    assert ctx.previous_kpis == {"order_sla_audit": {"on_time_shipping": 0.995}}
    assert ctx.previous_ids == set(sept) and len(sept) == 15
    assert ctx.carried["finding_id"].tolist() == sept[2:]  # closed ones are not carried over
    assert ctx.carried.iloc[0][["owner", "status"]].tolist() == ["赵", "处理中"]
    assert ctx.trend["month"].unique().tolist() == ["2026-09"]  # earlier months only
    # a re-run of September sees no month before it
    assert store.context("2026-09").previous_month is None
    recurring = store.read().findings.query("recurring")["finding_id"].tolist()
    assert recurring == sorted(set(sept) & set(store.read().findings.query("month == '2026-10'")["finding_id"]))
    store.close()


def test_opening_a_missing_store_for_reading_names_it(tmp_path):
    with pytest.raises(OpskitError, match="no history store at .*nothing.sqlite"):
        opskit.history(tmp_path / "nothing.sqlite")
    with pytest.raises(OpskitError, match="not a database URL"):
        opskit.history("bad url://x")

"""The history store: every month's headline figures, rule summary, findings and their follow-up.

A review on its own cannot say whether on-time shipping is better than last month, who owns a
finding, or whether a breach recurs; the seeds ask for exactly that loop (000 第七章 监督机制 1–3,
001 监督机制). `opskit run` records each month here; the reviews read it back.

The store is any SQLAlchemy URL: by default an SQLite file beside the reports
(`OUT/opskit-history.sqlite`), or a team's shared PostgreSQL server. Only SQLAlchemy Core
statements are issued (values are always bound parameters, never pasted into SQL text).

- A month is written in one transaction that first deletes its rows: a re-run replaces it, and a
  reader sees the old month or the new one, never a mix.
- Two writers of the same month are serialised: on SQLite every write transaction starts with
  `BEGIN IMMEDIATE` (one writer at a time, the others wait up to `BUSY_SECONDS`); on other servers
  the month's row in `months` is upserted first, and its row lock makes the second writer wait
  until the first has committed.
- The schema is versioned in `opskit_schema`; `MIGRATIONS` brings an older file up to date when it
  is opened, and a file written by a newer release is refused rather than damaged.
- Follow-up (整改) is kept apart from the findings and keyed by month and finding id, so re-running
  a month never loses what managers recorded; every change is written to `followup_audit`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from .errors import OpskitError
from .history_context import CLOSED, STATUSES, MonthContext, finding_id, finding_ids  # noqa: F401 - re-exported

DEFAULT_FILE = "opskit-history.sqlite"
BUSY_SECONDS = 120
SCHEMA_VERSION = 1
FOLLOWUP_FIELDS = ("owner", "status", "note")

metadata = sa.MetaData()
schema_table = sa.Table("opskit_schema", metadata, sa.Column("version", sa.Integer, nullable=False))
months_table = sa.Table(
    "months",
    metadata,
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("as_of", sa.String(19), nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Column("findings", sa.Integer, nullable=False),
)
metrics_table = sa.Table(
    "metrics",
    metadata,
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("review", sa.String(40), primary_key=True),
    sa.Column("metric", sa.String(60), primary_key=True),
    sa.Column("value", sa.Float, nullable=True),
)
rules_table = sa.Table(
    "rule_summary",
    metadata,
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("rule_id", sa.String(16), primary_key=True),
    sa.Column("checked", sa.Integer, nullable=False),
    sa.Column("failed", sa.Integer, nullable=False),
    sa.Column("pending", sa.Integer, nullable=False),
    sa.Column("share_failed", sa.Float, nullable=True),
    sa.Column("status", sa.String(200), nullable=False),
)
findings_table = sa.Table(
    "findings",
    metadata,
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("finding_id", sa.String(300), primary_key=True),
    sa.Column("rule_id", sa.String(16), nullable=False, index=True),
    sa.Column("key", sa.String(280), nullable=False),
    sa.Column("observed", sa.Float, nullable=True),
    sa.Column("limit", sa.Float, nullable=True),
    sa.Column("unit", sa.String(20), nullable=True),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("severity", sa.String(20), nullable=True),
    sa.Column("amount", sa.Float, nullable=True),
    sa.Column("channel", sa.String(40), nullable=True),
    sa.Column("when", sa.String(19), nullable=True),
    sa.Column("source", sa.String(300), nullable=True),
)
followups_table = sa.Table(
    "followups",
    metadata,
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("finding_id", sa.String(300), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=True),
    sa.Column("status", sa.String(10), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("updated_by", sa.String(200), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)
audit_table = sa.Table(
    "followup_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("month", sa.String(7), nullable=False),
    sa.Column("finding_id", sa.String(300), nullable=False),
    sa.Column("field", sa.String(10), nullable=False),
    sa.Column("old", sa.Text, nullable=True),
    sa.Column("new", sa.Text, nullable=True),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("source", sa.String(300), nullable=True),
)
MONTH_TABLES = (metrics_table, rules_table, findings_table)


def _v1(conn: Connection) -> None:
    for table in (months_table, *MONTH_TABLES, followups_table, audit_table):
        table.create(conn, checkfirst=True)


# version → the step that brings a store from version-1 to version; append, never edit
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _v1}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def resolve_url(history: str | Path | None, out: str | Path | None = None) -> str:
    """`--history` as given (a SQLAlchemy URL or a file path), or the default file in `out`."""
    if history is None:
        if out is None:
            raise OpskitError("no history store given: pass --history URL or a reports folder")
        history = Path(out) / DEFAULT_FILE
    text = str(history)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).resolve()}"


def _url(text: str) -> sa.URL:
    try:
        url = sa.make_url(text)
    except Exception:
        raise OpskitError(f"history store {text!r} is not a database URL like postgresql://host/db") from None
    if url.drivername == "postgresql":  # the psycopg 3 driver ships with opskit; psycopg2 may not
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            url = url.set(drivername="postgresql+psycopg")
    return url


def _is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _none(value: Any) -> Any:
    """A value as the database takes it: NaN/NaT/NA → NULL, numpy scalars → Python."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _float(value: Any) -> float | None:
    value = _none(value)
    if value is None or isinstance(value, bool | str):
        return float(value) if isinstance(value, bool) else None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass
class History:
    """Everything the store holds, as DataFrames (what `opskit.history(url)` returns)."""

    months: pd.DataFrame
    metrics: pd.DataFrame
    rules: pd.DataFrame
    findings: pd.DataFrame
    followups: pd.DataFrame
    audit: pd.DataFrame

    def metric(self, name: str) -> pd.DataFrame:
        """The monthly series of one headline figure: month, review, value, change on the month before."""
        rows = self.metrics[self.metrics["metric"] == name].sort_values(["review", "month"])
        rows = rows.assign(change=rows.groupby("review")["value"].diff())
        return rows[["month", "review", "metric", "value", "change"]].reset_index(drop=True)

    def rule(self, rule_id: str) -> pd.DataFrame:
        """The monthly series of one rule: checked, failed, share failed, pending, findings that recur."""
        rows = self.rules[self.rules["rule_id"] == rule_id].sort_values("month").reset_index(drop=True)
        found = self.findings[self.findings["rule_id"] == rule_id]
        recurring = found.groupby("month")["recurring"].sum() if len(found) else pd.Series(dtype="int64")
        rows["recurring"] = rows["month"].map(recurring).fillna(0).astype("int64")
        return rows[["month", "rule_id", "checked", "failed", "share_failed", "pending", "recurring", "status"]]


class HistoryStore:
    """One history database; every public method is one transaction."""

    def __init__(self, url: str | Path, *, create: bool = True) -> None:
        self.url = url if isinstance(url, str) and "://" in url else resolve_url(url)
        target = _url(self.url)
        if target.get_backend_name() == "sqlite" and target.database not in (None, "", ":memory:"):
            path = Path(target.database)
            if not create and not path.exists():
                raise OpskitError(f"no history store at {path}: run `opskit run` first or pass --history")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OpskitError(f"cannot create the history store {path}: {exc.strerror}") from None
        connect_args = {"timeout": BUSY_SECONDS} if target.get_backend_name() == "sqlite" else {}
        try:
            self.engine = sa.create_engine(target, connect_args=connect_args, poolclass=sa.pool.NullPool)
        except (SQLAlchemyError, ImportError) as exc:
            raise OpskitError(f"cannot open the history store {self.shown_url}: {exc}") from None
        if _is_sqlite(self.engine):
            sa.event.listen(self.engine, "connect", _sqlite_manual_transactions)
            sa.event.listen(self.engine, "begin", _sqlite_begin_immediate)
        self._migrate()

    @property
    def shown_url(self) -> str:
        """The URL without its password, for messages."""
        try:
            return _url(self.url).render_as_string(hide_password=True)
        except OpskitError:
            return "(bad URL)"

    def _tx(self):
        return self.engine.begin()

    def _run(self, work: Callable[[Connection], Any]) -> Any:
        try:
            with self._tx() as conn:
                return work(conn)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise OpskitError(f"history store {self.shown_url}: {reason}") from None

    # ------------------------------------------------------------------ schema

    def _migrate(self) -> None:
        def work(conn: Connection) -> None:
            if conn.dialect.name == "postgresql":  # two first runs at once must not both create the tables
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(0x6F70736B6974)))
            version = self._version(conn)
            if version > SCHEMA_VERSION:
                raise OpskitError(
                    f"history store {self.shown_url} has schema version {version}, written by a newer opskit "
                    f"(this one knows up to {SCHEMA_VERSION}); upgrade opskit to use it"
                )
            if version == SCHEMA_VERSION:
                return
            for step in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[step](conn)
            conn.execute(sa.delete(schema_table))
            conn.execute(sa.insert(schema_table).values(version=SCHEMA_VERSION))

        self._run(work)

    @staticmethod
    def _version(conn: Connection) -> int:
        if not sa.inspect(conn).has_table(schema_table.name):
            schema_table.create(conn)
            return 0
        value = conn.execute(sa.select(sa.func.max(schema_table.c.version))).scalar()
        return int(value or 0)

    def version(self) -> int:
        return self._run(self._version)

    # ------------------------------------------------------------------ writing a month

    def record_month(
        self,
        month: str,
        as_of: Any,
        kpis: dict[str, dict[str, Any]],
        summary: pd.DataFrame,
        findings: pd.DataFrame,
    ) -> None:
        """Replace `month`'s figures, rule summary and findings in one transaction."""
        stamp = pd.Timestamp(as_of).strftime("%Y-%m-%d %H:%M:%S")
        metric_rows = [
            {"month": month, "review": review, "metric": str(k), "value": _float(v)}
            for review, figures in sorted(kpis.items())
            for k, v in figures.items()
            if k not in ("review", "month") and not isinstance(_none(v), str)
        ]
        rule_rows = [
            {
                "month": month,
                "rule_id": str(r["rule_id"]),
                "checked": int(r["checked"]),
                "failed": int(r["failed"]),
                "pending": int(r["pending"]),
                "share_failed": _float(r["share_failed"]),
                "status": str(r["status"]),
            }
            for r in summary.to_dict("records")
        ]
        when = pd.to_datetime(findings["when"]).dt.strftime("%Y-%m-%d %H:%M:%S") if len(findings) else []
        finding_rows = [
            {
                "month": month,
                "finding_id": fid,
                "rule_id": r["rule_id"],
                "key": r["key"],
                "observed": _float(r.get("observed")),
                "limit": _float(r.get("limit")),
                "unit": _none(r.get("unit")),
                "message": _none(r.get("message")),
                "severity": _none(r.get("severity")),
                "amount": _float(r.get("amount")),
                "channel": None if _none(r.get("channel")) is None else str(r.get("channel")),
                "when": _none(w),
                "source": _none(r.get("source")),
            }
            for fid, w, r in zip(
                finding_ids(findings) if len(findings) else [], when, findings.to_dict("records"), strict=True
            )
        ]
        head = {"month": month, "as_of": stamp, "recorded_at": _now(), "findings": len(finding_rows)}

        def work(conn: Connection) -> None:
            self._lock_month(conn, head)
            for table in MONTH_TABLES:
                conn.execute(sa.delete(table).where(table.c.month == month))
            for table, rows in ((metrics_table, metric_rows), (rules_table, rule_rows), (findings_table, finding_rows)):
                if rows:
                    conn.execute(sa.insert(table), rows)

        self._run(work)

    def _lock_month(self, conn: Connection, head: dict[str, Any]) -> None:
        """Write the month's head row first: on a server its row lock serialises writers of the month."""
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert

            stmt = insert(months_table).values(**head)
            conn.execute(stmt.on_conflict_do_update(index_elements=["month"], set_=dict(stmt.excluded)))
            return
        conn.execute(sa.delete(months_table).where(months_table.c.month == head["month"]))
        conn.execute(sa.insert(months_table).values(**head))

    # ------------------------------------------------------------------ follow-up

    def apply_followups(self, changes: Iterable[dict[str, Any]], by: str, source: str = "") -> dict[str, int]:
        """Set owner / status / note of findings (each change: month, finding_id and the fields given).

        Every finding must exist in the store for its month, or nothing is written. Returns counts of
        findings changed and fields changed; an unchanged value leaves no audit row.
        """
        changes = list(changes)
        at = _now()

        def work(conn: Connection) -> dict[str, int]:
            wanted = {(c["month"], c["finding_id"]) for c in changes}
            known = set()
            for month in {m for m, _ in wanted}:
                ids = [f for m, f in wanted if m == month]
                for chunk in range(0, len(ids), 500):
                    rows = conn.execute(
                        sa.select(findings_table.c.finding_id).where(
                            findings_table.c.month == month, findings_table.c.finding_id.in_(ids[chunk : chunk + 500])
                        )
                    )
                    known |= {(month, r.finding_id) for r in rows}
            missing = [c for c in changes if (c["month"], c["finding_id"]) not in known]
            if missing:
                first = missing[0]
                where = f" ({first['where']})" if first.get("where") else ""
                raise OpskitError(
                    f"finding {first['finding_id']!r} of {first['month']}{where} is not in the history store: "
                    "was the id edited? Ids must stay as the workbook wrote them"
                )
            current = {
                (r.month, r.finding_id): r._asdict()
                for r in conn.execute(
                    sa.select(followups_table).where(followups_table.c.month.in_({m for m, _ in wanted}))
                )
            }
            findings_changed = fields_changed = 0
            for change in changes:
                pair = (change["month"], change["finding_id"])
                old = current.get(pair, {})
                new = {f: _text(change.get(f)) if f in change else old.get(f) for f in FOLLOWUP_FIELDS}
                diffs = [f for f in FOLLOWUP_FIELDS if (old.get(f) or None) != (new[f] or None)]
                if not diffs:
                    continue
                findings_changed += 1
                fields_changed += len(diffs)
                conn.execute(
                    sa.insert(audit_table),
                    [
                        {
                            "month": pair[0],
                            "finding_id": pair[1],
                            "field": f,
                            "old": old.get(f),
                            "new": new[f],
                            "by": by,
                            "at": at,
                            "source": source or None,
                        }
                        for f in diffs
                    ],
                )
                values = {**new, "updated_by": by, "updated_at": at}
                if pair in current:
                    conn.execute(
                        sa.update(followups_table)
                        .where(followups_table.c.month == pair[0], followups_table.c.finding_id == pair[1])
                        .values(**values)
                    )
                else:
                    conn.execute(sa.insert(followups_table).values(month=pair[0], finding_id=pair[1], **values))
                current[pair] = values
            return {"findings": findings_changed, "fields": fields_changed}

        return self._run(work)

    # ------------------------------------------------------------------ reading

    def _frame(self, conn: Connection, stmt) -> pd.DataFrame:
        result = conn.execute(stmt)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def read(self) -> History:
        """The whole store as DataFrames (findings with their follow-up and whether they recur)."""

        def work(conn: Connection) -> History:
            months = self._frame(conn, sa.select(months_table).order_by(months_table.c.month))
            metrics = self._frame(
                conn, sa.select(metrics_table).order_by(metrics_table.c.month, metrics_table.c.review)
            )
            rules = self._frame(conn, sa.select(rules_table).order_by(rules_table.c.month, rules_table.c.rule_id))
            findings = self._frame(
                conn, sa.select(findings_table).order_by(findings_table.c.month, findings_table.c.finding_id)
            )
            followups = self._frame(conn, sa.select(followups_table))
            audit = self._frame(conn, sa.select(audit_table).order_by(audit_table.c.id))
            return History(months, metrics, rules, _with_recurrence(findings, followups), followups, audit)

        return self._run(work)

    def months(self) -> list[str]:
        return self._run(
            lambda conn: [r.month for r in conn.execute(sa.select(months_table.c.month).order_by(months_table.c.month))]
        )

    def context(self, month: str, span: int = 12) -> MonthContext:
        """Earlier months as a review of `month` needs them: the month before, a trend, follow-ups."""
        period = pd.Period(month, "M")
        first = str(period - (span - 1))
        previous = str(period - 1)

        def work(conn: Connection) -> MonthContext:
            known = [
                r.month
                for r in conn.execute(
                    sa.select(months_table.c.month).where(months_table.c.month < month, months_table.c.month >= first)
                )
            ]
            ctx = MonthContext(month, source="store")
            trend = self._frame(
                conn,
                sa.select(metrics_table.c.month, metrics_table.c.review, metrics_table.c.metric, metrics_table.c.value)
                .where(metrics_table.c.month >= first, metrics_table.c.month < month)
                .order_by(metrics_table.c.month),
            )
            ctx.trend = trend
            if previous in known:
                ctx.previous_month = previous
                rows = trend[trend["month"] == previous]
                for review, part in rows.groupby("review"):
                    ctx.previous_kpis[str(review)] = dict(zip(part["metric"], part["value"], strict=True))
                ctx.previous_ids = {
                    r.finding_id
                    for r in conn.execute(
                        sa.select(findings_table.c.finding_id).where(findings_table.c.month == previous)
                    )
                }
            ctx.followups = self._frame(
                conn,
                sa.select(
                    followups_table.c.finding_id,
                    followups_table.c.owner,
                    followups_table.c.status,
                    followups_table.c.note,
                ).where(followups_table.c.month == month),
            )
            f, u = findings_table, followups_table
            joined = f.outerjoin(u, sa.and_(u.c.month == f.c.month, u.c.finding_id == f.c.finding_id))
            carried = self._frame(
                conn,
                sa.select(f.c.month, f.c.finding_id, f.c.rule_id, f.c.key, f.c.message, u.c.owner, u.c.status, u.c.note)
                .select_from(joined)
                .where(f.c.month < month, sa.or_(u.c.status.is_(None), u.c.status.not_in(CLOSED)))
                .order_by(f.c.month, f.c.finding_id),
            )
            ctx.carried = carried
            return ctx

        return self._run(work)

    def close(self) -> None:
        self.engine.dispose()


def _text(value: Any) -> str | None:
    value = _none(value)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _with_recurrence(findings: pd.DataFrame, followups: pd.DataFrame) -> pd.DataFrame:
    """Findings joined to their follow-up, with `recurring`: the same id was a finding the month before."""
    if findings.empty:
        return findings.assign(recurring=pd.Series(dtype="bool"), owner=None, status=None, note=None)
    previous = (pd.PeriodIndex(findings["month"], freq="M") - 1).astype("str")
    seen = set(zip(findings["month"], findings["finding_id"], strict=True))
    recurring = [(p, f) in seen for p, f in zip(previous, findings["finding_id"], strict=True)]
    out = findings.assign(recurring=recurring)
    follow = followups[["month", "finding_id", "owner", "status", "note"]] if len(followups) else None
    if follow is None:
        return out.assign(owner=None, status=None, note=None)
    return out.merge(follow, on=["month", "finding_id"], how="left")


def _sqlite_manual_transactions(dbapi_connection, _record) -> None:
    # let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it to the first write)
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(conn: Connection) -> None:
    # take the write lock at the start: concurrent runs queue instead of interleaving or failing mid-way
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def history(url: str | Path) -> History:
    """The history store at `url` (a SQLAlchemy URL or an SQLite file) as DataFrames.

    h = opskit.history("reports/opskit-history.sqlite")
    h.metric("on_time_shipping")   # month, review, value, change
    h.rule("ORD-003")              # checked / failed / share / recurring per month
    """
    store = HistoryStore(url, create=False)
    try:
        return store.read()
    finally:
        store.close()

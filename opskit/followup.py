"""`opskit followup import WORKBOOK.xlsx --by NAME`: read managers' follow-up (整改) back into the history.

Managers fill three columns of the workbook's findings sheets — 责任人 (owner), 整改状态 (status:
待处理 / 处理中 / 已整改 / 不适用) and 整改说明 (note) — and of the sheet of open items from earlier
months. Rows are matched to the history by month and finding id (rule and key). The import is all or
nothing: an unknown status, an edited or unknown id, or one finding given two different follow-ups
refuses the whole workbook with the sheet, row and column named. Every change is audited (old value,
new value, who, when). Cells are read as typed, never evaluated: `=1+1` is stored as that text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import OpskitError
from .history_store import DEFAULT_FILE, STATUSES, HistoryStore, resolve_url
from .report.history import parse_status
from .report.i18n import t

MONTH = re.compile(r"^\s*(\d{4}-\d{2})\b")
MAX_PROBLEMS = 5


def _labels(key: str) -> set[str]:
    return {t(key, lang).strip().lower() for lang in ("zh", "en")}


HEADERS = {
    "finding_id": _labels("finding_id"),
    "month": _labels("month"),
    "owner": _labels("owner"),
    "status": _labels("followup_status"),
    "note": _labels("followup_note"),
}


@dataclass
class ImportResult:
    rows: int
    findings: int
    fields: int
    store: str


def default_store(workbook: Path) -> str:
    """The store beside the reports the workbook came from: `OUT/MONTH/opskit-MONTH.xlsx` → `OUT/`."""
    for folder in (workbook.parent.parent, workbook.parent):
        if (folder / DEFAULT_FILE).exists():
            return resolve_url(folder / DEFAULT_FILE)
    raise OpskitError(f"no {DEFAULT_FILE} beside {workbook.name} or in its parent folder; pass --history URL or file")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _header(row: tuple) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for j, value in enumerate(row):
        name = str(value).strip().lower() if value is not None else ""
        for field, labels in HEADERS.items():
            if name in labels and field not in found:
                found[field] = j
    return found if {"finding_id", "status"} <= set(found) else None


def read_followups(path: Path) -> list[dict[str, Any]]:
    """The follow-up rows of every sheet that carries them; OpskitError naming sheet, row and column."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except FileNotFoundError:
        raise OpskitError(f"{path}: no such workbook") from None
    except Exception as exc:
        raise OpskitError(f"{path.name}: cannot be read as an Excel workbook ({type(exc).__name__})") from None
    changes: list[dict[str, Any]] = []
    problems: list[str] = []
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            title_month, columns, header_row, header = None, None, 0, ()
            for i, row in enumerate(rows, start=1):
                if i > 10:
                    break
                if i == 1 and row and isinstance(row[0], str) and MONTH.match(row[0]):
                    title_month = MONTH.match(row[0]).group(1)
                columns = _header(row)
                if columns:
                    header_row, header = i, row
                    break
            if not columns:
                continue
            labels = {field: str(header[c]) for field, c in columns.items()}
            for r, row in enumerate(rows, start=header_row + 1):
                where = f"sheet {ws.title}, row {r}"
                fid = _text(_get(row, columns["finding_id"]))
                values = {f: _get(row, columns[f]) for f in ("owner", "status", "note") if f in columns}
                if fid is None:
                    if any(_text(v) for v in values.values()):
                        problems.append(f"{where}: follow-up given but the {labels['finding_id']} cell is blank")
                    continue
                month = _text(_get(row, columns["month"])) if "month" in columns else title_month
                if not month or not MONTH.match(month):
                    problems.append(f"{where}: no month for finding {fid!r} (the sheet's title or a month column)")
                    continue
                try:
                    status = parse_status(values.get("status"))
                except ValueError as exc:
                    problems.append(
                        f"{where}, column {labels['status']}: unknown status {exc.args[0]!r} "
                        f"(allowed: {' / '.join(STATUSES)})"
                    )
                    continue
                change = {"month": MONTH.match(month).group(1), "finding_id": fid, "where": where, "status": status}
                for f in ("owner", "note"):
                    if f in columns:
                        change[f] = _text(values.get(f))
                key = (change["month"], fid)
                if key in seen:
                    earlier = seen[key]
                    if any(earlier.get(f) != change.get(f) for f in ("owner", "status", "note")):
                        problems.append(f"{where}: finding {fid!r} also on {earlier['where']} with another follow-up")
                    continue
                seen[key] = change
                changes.append(change)
    finally:
        wb.close()
    if problems:
        more = f" (and {len(problems) - MAX_PROBLEMS} more)" if len(problems) > MAX_PROBLEMS else ""
        raise OpskitError(f"{path.name}: nothing imported: " + "; ".join(problems[:MAX_PROBLEMS]) + more)
    if not changes:
        raise OpskitError(f"{path.name}: no sheet with the follow-up columns ({' / '.join(sorted(HEADERS['status']))})")
    return changes


def _get(row: tuple, j: int) -> Any:
    return row[j] if j < len(row) else None


def import_followups(workbook: str | Path, by: str, history: str | Path | None = None) -> ImportResult:
    """Read the workbook's follow-up columns and record them (audited) in the history store."""
    path = Path(workbook)
    if not by or not by.strip():
        raise OpskitError("--by NAME is required: the audit trail records who imported the follow-up")
    url = resolve_url(history) if history else default_store(path)
    changes = read_followups(path)
    store = HistoryStore(url, create=False)
    try:
        counts = store.apply_followups(changes, by=by.strip(), source=path.name)
    finally:
        store.close()
    return ImportResult(len(changes), counts["findings"], counts["fields"], store.shown_url)

"""One Excel workbook for managers: a summary sheet, then a sheet per review.

Header frozen, auto-filter on, readable widths, and numbers formatted by what the column holds:
money as `¥#,##0.00`, shares as percentages (`0.0%`, so 1 of 285 reads 0.4 %, not 0), other numbers
with separators, dates without a needless 00:00. Text that Excel would evaluate (`=`, `+`, `-`, `@`,
tab, CR) is stored as plain text.
"""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .files import FORMULA_PREFIXES, atomic_write_bytes
from .i18n import kind_of_column

MONEY_WORDS = ("amount", "金额", "budget", "预算", "cost", "revenue", "价")
NUMBER_FORMATS = {"money": '"¥"#,##0.00', "share": "0.0%"}
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
MAX_WIDTH = 60


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _write_sheet(ws, title: str | None, frame: pd.DataFrame, choices: dict[str, list[str]] | None = None) -> None:
    top = 1
    if title:
        ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=13)
        top = 3
    for j, name in enumerate(frame.columns, start=1):
        cell = ws.cell(row=top, column=j, value=str(name))
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cell.alignment = Alignment(vertical="center")
    widths = [_width(str(c)) + 2 for c in frame.columns]
    kinds = [frame[c].dtype.kind for c in frame.columns]
    kind = [
        kind_of_column(str(c)) or ("money" if any(w in str(c).lower() for w in MONEY_WORDS) else None)
        for c in frame.columns
    ]
    dates_only = [
        frame[c].dtype.kind == "M" and bool((frame[c].dropna() == frame[c].dropna().dt.normalize()).all())
        for c in frame.columns
    ]
    for i, row in enumerate(frame.itertuples(index=False), start=top + 1):
        for j, value in enumerate(row, start=1):
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                continue
            if isinstance(value, pd.Timestamp):
                value = value.to_pydatetime()
            elif hasattr(value, "item"):
                value = value.item()
            cell = ws.cell(row=i, column=j, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever it starts with
                if value.startswith(FORMULA_PREFIXES):
                    cell.quotePrefix = True
                widths[j - 1] = max(widths[j - 1], min(_width(value) + 2, MAX_WIDTH))
            elif kinds[j - 1] == "M":
                cell.number_format = "yyyy-mm-dd" if dates_only[j - 1] else "yyyy-mm-dd hh:mm"
                widths[j - 1] = max(widths[j - 1], 12 if dates_only[j - 1] else 17)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                whole = float(value).is_integer()
                cell.number_format = NUMBER_FORMATS.get(kind[j - 1]) or ("#,##0" if whole else "#,##0.00")
                widths[j - 1] = max(widths[j - 1], min(len(f"{value:,.2f}") + 3, MAX_WIDTH))
            else:
                widths[j - 1] = max(widths[j - 1], len(str(value)) + 2)
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    for j, name in enumerate(frame.columns, start=1):
        if choices and str(name) in choices:  # a drop-down of the allowed values; typing another is refused
            letter = get_column_letter(j)
            rule = DataValidation(type="list", formula1='"' + ",".join(choices[str(name)]) + '"', allow_blank=True)
            rule.add(f"{letter}{top + 1}:{letter}{top + max(len(frame), 1) + 200}")
            ws.add_data_validation(rule)
    ws.freeze_panes = ws.cell(row=top + 1, column=1)
    if len(frame.columns):
        last = get_column_letter(len(frame.columns))
        ws.auto_filter.ref = f"A{top}:{last}{top + max(len(frame), 1)}"


def write_workbook(
    path: Path, sheets: list[tuple[str, str | None, pd.DataFrame]], choices: dict[str, list[str]] | None = None
) -> Path:
    """Write (sheet name, title above the table, frame) sheets; the file appears complete or not at all.

    `choices` maps a column header to the values a manager may pick there (a drop-down list)."""
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for name, title, frame in sheets:
        safe = "".join(ch for ch in name if ch not in "[]:*?/\\")[:31] or "Sheet"
        while safe in used:
            safe = safe[:29] + f"_{len(used)}"
        used.add(safe)
        _write_sheet(wb.create_sheet(safe), title, frame, choices)
    buffer = io.BytesIO()
    wb.save(buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return path

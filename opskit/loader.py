"""One loader for every dataset: find the file, find its header row, map headers, parse values.

Readers only turn a file into text cells plus the row numbers a person sees in Excel or an
editor; everything after that (header matching, parsing, error messages) is shared, so CSV,
XLSX and Parquet behave the same.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import parsing
from .errors import BadCells, DataError, Notice, notify
from .schema import DATASETS, Column, Dataset, norm
from .sources import (  # noqa: F401  (the loader's names of old: imported from here by callers)
    _TOTALS_SPELLINGS,
    EXCEL_SUFFIXES,
    MANIFEST,
    MANIFEST_KEYS,
    MAX_CELL,
    MONTH_DIR,
    SUFFIXES,
    TOTALS_LABELS,
    header_lookup,
    locate,
    month_folders,
    months_of,
    read_manifest,
    release_unused,
    resolve_folder,
    stray_files,
)

HEADER_SEARCH_ROWS = 10
MAX_XLSX_EXPANDED = 512 * 1024 * 1024  # a workbook that unpacks to more than this is refused (zip bombs)
EXCEL_ERRORS = ("#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!", "#GETTING_DATA")
_PARSERS = {
    "timestamp": parsing.parse_timestamps,
    "date": parsing.parse_dates,
    "money": parsing.parse_money,
    "int": parsing.parse_int,
    "month": parsing.parse_month,
}
_EXPECTED_ZH = {
    "timestamp": "时间，如 2026-10-05 14:03",
    "date": "日期，如 2026-10-30",
    "money": "金额，如 ¥1,234.50",
    "int": "整数，如 12",
    "month": "月份，如 2026-10",
    "bool": "是/否",
}
_EXPECTED = {
    "timestamp": "a time like 2026-10-05 14:03, 2026/10/5 14:03 or 2026年10月5日 14:03",
    "date": "a date like 2026-10-30, 2026/10/30 or 2026年10月30日",
    "money": "an amount like 1234.50, ¥1,234.50 or 1,234",
    "int": "a whole number like 12",
    "month": "a month like 2026-10 or 2026年10月",
    "bool": "是/否, Y/N, true/false or 1/0",
}


@dataclass
class Data(Mapping[str, pd.DataFrame]):
    """The datasets of one month folder, with the file each came from and what loading noticed.

    `prior` holds datasets of the month before, when the folder is a month of a data root that has
    it: rules that compare with "the previous row when the data has one" (STK-007's opening) reach
    back into it, so the first day of a month is checked like every other day.
    """

    frames: dict[str, pd.DataFrame]
    files: dict[str, str]
    folder: Path
    month: str | None = None
    notices: list[str] = field(default_factory=list)
    # dataset → (key, when, month, later rows of repeated keys, rows per month in the file) for frames
    # loaded as `MonthFirst` keeps them
    month_first: dict[str, tuple[str, str, str, int]] = field(default_factory=dict)
    prior: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.frames)

    def __len__(self) -> int:
        return len(self.frames)

    def __getattr__(self, name: str) -> pd.DataFrame:
        frames = self.__dict__.get("frames", {})
        if name in frames:
            return frames[name]
        raise AttributeError(name)

    def source(self, dataset: str, rows: pd.Series) -> pd.Series:
        """`file:row` for each row number, so a finding points at the line to open."""
        return self.files[dataset] + ":" + rows.astype("Int64").astype("str")

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.frames.items())
        return f"Data({self.folder}, month={self.month}, {sizes})"


@dataclass(frozen=True)
class MonthFirst:
    """Keep only each `key`'s first occurrence whose `when` lies in [start, end): all that rules
    scoped to a month's first records read. Decided on Arrow columns before any other column is
    converted or validated, so a check of one month of a big file pays for that month only."""

    key: str
    when: str
    start: pd.Timestamp
    end: pd.Timestamp
    month: str


class Unloaded(Mapping[str, pd.DataFrame]):
    """What a notebook's `data` is when its load failed: empty to code that asks whether a dataset is
    there, and raising the load's own error (every bad cell listed) on use, instead of `None` and a
    `TypeError` one cell later."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getitem__(self, name: str) -> pd.DataFrame:
        raise self.error

    def __getattr__(self, name: str) -> pd.DataFrame:
        if name.startswith("_") or name == "error":
            raise AttributeError(name)
        raise self.error

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __contains__(self, name: object) -> bool:
        return False

    def __repr__(self) -> str:
        return f"no data: the load failed.\n{self.error}"


# --------------------------------------------------------------------------- locating files


# --------------------------------------------------------------------------- readers


@dataclass
class RawTable:
    """Cells as text (or typed, for Parquet) with the first data row's number in the file."""

    header: list[str]
    body: pd.DataFrame
    rows: pd.Series


def _header_index(
    candidates: list[list[object]], ds: Dataset, lookup: dict[str, str], file: str, where: str = ""
) -> int:
    scores = [sum(1 for v in row if v is not None and norm(v) in lookup) for row in candidates]
    if not scores or max(scores) == 0:
        tried = "; ".join(f"{c.name}: {', '.join(c.header_names())}" for c in ds.required)
        raise DataError(
            file,
            f"no header row for {ds.name} within the first {HEADER_SEARCH_ROWS} rows{where}; a header further down "
            f"is named by `header_row:` in {MANIFEST}",
            expected=f"headers such as {tried}",
            zh=f"前 {HEADER_SEARCH_ROWS} 行中找不到{ds.title_zh}的表头",
        )
    return scores.index(max(scores))


def _sniff_encoding(sample: bytes, file: str) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"  # Excel's "Unicode text" export
    for enc in ("utf-8", "gb18030"):
        try:
            sample.decode(enc)
            return enc
        except UnicodeDecodeError as exc:
            if enc == "utf-8" and exc.start >= len(sample) - 3:  # a character cut by the sample
                return enc
    raise DataError(
        file, "cannot decode the file", expected="UTF-8, UTF-8 with BOM or GB18030/GBK", zh="无法识别文件编码"
    )


def _refuse_nul_bytes(path: Path, file: str) -> None:
    """NUL bytes mean a binary or damaged file; found with one memchr over a memory map."""
    import mmap

    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mem:
        at = mem.find(b"\x00")
    if at >= 0:
        with path.open("rb") as fh:
            line = fh.read(at).count(b"\n") + 1
        raise DataError(file, "is not a text file: it contains a NUL byte", row=line, expected="a CSV export")


def _looks_like_html(sample: bytes) -> bool:
    head = sample[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml"))


def read_csv(
    path: Path,
    ds: Dataset,
    lookup: dict[str, str],
    header_row: int | None,
    keep: set[str] | None = None,
    month_first: MonthFirst | None = None,
    kept: dict[str, int] | None = None,
) -> RawTable:
    file = path.name
    with path.open("rb") as fh:
        sample = fh.read(1 << 16)
    if not sample.strip():
        raise DataError(file, "the file is empty", expected=f"a header row and rows of {ds.name}", zh="文件为空")
    if not sample.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text is full of NUL bytes
        _refuse_nul_bytes(path, file)
    enc = _sniff_encoding(sample, file)
    if _looks_like_html(sample):
        raise DataError(file, "is a web page, not a CSV export", expected="the data exported as CSV or .xlsx")
    text = sample.decode(enc, errors="ignore")
    delimiter = "\t" if path.suffix.lower() == ".tsv" or (enc == "utf-16" and "\t" in text.split("\n", 1)[0]) else ","
    head = list(csv.reader(io.StringIO(text), delimiter=delimiter))[: max(HEADER_SEARCH_ROWS, header_row or 0)]
    idx = header_row - 1 if header_row else _header_index(head, ds, lookup, file)
    if idx >= len(head):
        raise DataError(file, f"header row {idx + 1} is past the end of the file")
    header = [h.strip() for h in head[idx]]
    table = _read_csv_arrow(path, enc, delimiter, header, idx, ds, lookup, keep)
    if table is not None:
        positions = _month_first(table, lookup, month_first, kept)
        holder = [table]
        del table  # the holder's reference is the last one: `_take_rows` can free each column as it goes
        typed = _arrow_frame(_take_rows(holder, positions) if positions is not None else holder.pop())
        rows = pd.Series(idx + 2 + positions if positions is not None else range(idx + 2, idx + 2 + len(typed)))
        return RawTable(header, typed, rows)
    try:
        body = _pandas_csv(path, enc, delimiter, header, idx, engine="pyarrow")
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError):
        body = _read_csv_python(path, enc, delimiter, header, idx, file)
    rows = pd.Series(range(idx + 2, idx + 2 + len(body)), index=body.index)
    if any(body[c].astype("str").str.contains("\n", regex=False).any() for c in body.columns):
        rows = _record_lines(path, enc, delimiter, idx, body.index)
    return RawTable(header, body, rows)


def _record_lines(path: Path, enc: str, delimiter: str, idx: int, index: pd.Index) -> pd.Series:
    """The line each record starts on, when quoted cells hold line breaks (messy files only)."""
    starts = []
    with path.open(encoding=enc, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        previous = 0
        for number, _record in enumerate(reader):
            if number > idx and any(cell.strip() for cell in _record):
                starts.append(previous + 1)
            previous = reader.line_num
    return pd.Series(starts[: len(index)], index=index)


# Arrow parses a CSV in blocks, one chunk of every column per block. Its default (1 MB) makes a
# 240 MB export 230 chunks, and each later pass over a chunk (times read at fixed places, keys
# numbered) pays Python's overhead per chunk: at 4 MB those passes take 0.13 s instead of 0.19 s for
# a million orders, while the read itself still spreads its blocks over both cores.
BLOCK_BYTES = 4 << 20

_ARROW_KINDS = {"timestamp": "timestamp", "date": "timestamp", "money": "float64", "int": "float64"}


def _read_csv_arrow(path, enc, delimiter, header, idx, ds: Dataset, lookup, keep=None):
    """Clean UTF-8 exports parsed by Arrow with native timestamp and number types (many times faster
    than text parsing); None when any cell needs the tolerant path, which then names the cell."""
    if enc not in ("utf-8", "utf-8-sig") or len(set(header)) != len(header):
        return None
    import pyarrow as pa
    from pyarrow import csv as pacsv

    types, times = {}, []
    for name in header:
        column = lookup.get(norm(name))
        kind = _ARROW_KINDS.get(ds[column].kind) if column else None
        types[name] = pa.float64() if kind == "float64" else pa.string()  # times: read as text, parsed below
        if kind == "timestamp":
            times.append(name)
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=header, skip_rows=idx + 1, encoding="utf8", block_size=BLOCK_BYTES
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
                include_columns=None if keep is None else [h for h in header if lookup.get(norm(h)) in keep],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return None
    for name in [n for n in times if n in table.column_names]:
        # plain spellings straight to pandas' nanoseconds; anything else (another spelling, an impossible
        # day, a year past 2262) sends the file to the tolerant path, which names the cell
        parsed = parsing.plain_times(table.column(name))
        if parsed is None:
            return None
        table = table.set_column(table.column_names.index(name), name, parsed)
    return table


def _arrow_frame(table) -> pd.DataFrame:
    """An Arrow table of a typed CSV as pandas: text as `str`, times as nanosecond timestamps."""
    import pyarrow as pa

    text = pd.StringDtype(na_value=float("nan"))
    times = [
        name for name, kind in zip(table.column_names, table.schema.types, strict=True) if pa.types.is_timestamp(kind)
    ]
    frame = table.to_pandas(
        types_mapper={pa.string(): text, pa.large_string(): text}.get, split_blocks=True, self_destruct=True
    )
    for name in times:
        frame[name] = frame[name].astype("datetime64[ns]")
    return frame


def _take_rows(holder: list, positions):
    """The rows at `positions` of the table in `holder`, taken column by column while the table's
    other columns are released: the peak is the table plus one column, not two tables.

    When the rows kept are nearly all of them in a few runs (a month's export less a few repeated
    keys), the table is cut into zero-copy slices instead: at ten million orders taking every column
    cost a second, slicing nothing. Slices hold on to the whole file's buffers, hence nearly all."""
    import pyarrow as pa

    table = holder.pop()
    if len(positions) == table.num_rows:
        return table
    if len(positions) >= table.num_rows * SLICE_SHARE:
        starts, stops = runs(positions)
        if len(starts) <= MAX_SLICES:
            return pa.concat_tables([table.slice(a, b - a) for a, b in zip(starts, stops, strict=True)])
    indices = pa.array(positions)
    names, columns = table.column_names, []
    while table.num_columns:
        columns.append(table.column(0).take(indices))
        table = table.remove_column(0)
    return pa.table(columns, names=names)


SLICE_SHARE = 0.9  # slices keep the whole file's buffers: only when they hold nearly every row
MAX_SLICES = 64


def runs(positions) -> tuple:
    """Sorted distinct positions as runs of consecutive ones: (starts, stops), stops exclusive."""
    breaks = np.flatnonzero(np.diff(positions) != 1) + 1
    starts = positions[np.r_[0, breaks]]
    stops = positions[np.r_[breaks - 1, len(positions) - 1]] + 1
    return starts, stops


def _month_first(table, lookup: dict[str, str], plan: MonthFirst | None, kept: dict[str, int] | None):
    """The 0-based positions of each key's first occurrence in the month, or None to keep every row:
    when there is no plan, or the key is not clean text or the time not a naive timestamp in every
    row (then the ordinary path judges every row and names any bad cell). `kept` receives the
    number of later rows of repeated keys, for the rules' notice."""
    if plan is None:
        return None
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from .keys import repeated, repeated_arrow

    names = {lookup.get(norm(h)): h for h in table.column_names}
    key, when = table.column(names[plan.key]), table.column(names[plan.when])
    if (
        key.null_count
        or when.null_count
        or not (pa.types.is_string(key.type) or pa.types.is_large_string(key.type))
        or not pa.types.is_timestamp(when.type)
        or when.type.tz is not None
    ):
        return None
    if pc.any(parsing.arrow_blank(key)).as_py():
        return None  # a blank key: the ordinary path names its row
    later = repeated_arrow(key, trim=True)
    if later is None:  # ids that are not short ASCII text: pandas compares them
        later = repeated(pd.Series(pd.arrays.ArrowStringArray(pc.utf8_trim_whitespace(key).combine_chunks())))
    start = pa.scalar(plan.start.to_pydatetime(), when.type)
    end = pa.scalar(plan.end.to_pydatetime(), when.type)
    in_month = pc.and_(pc.greater_equal(when, start), pc.less(when, end)).to_numpy(zero_copy_only=False)
    keep = in_month & ~later
    if kept is not None:
        kept["repeated"] = int(later.sum())
        kept["months"] = months_of(when.to_numpy())
    return np.flatnonzero(keep)


def _pandas_csv(path, enc, delimiter, header, idx, **engine) -> pd.DataFrame:
    """Every cell as text under the header found, blanks as missing."""
    return pd.read_csv(
        path,
        encoding=enc,
        sep=delimiter,
        header=None,
        names=header,
        skiprows=idx + 1,
        dtype="str",
        keep_default_na=False,
        na_values=[""],
        **engine,
    )


def _read_csv_python(path, enc, delimiter, header, idx, file) -> pd.DataFrame:
    """The C parser, which reports the line of a malformed row, when Arrow refuses the file."""
    try:
        return _pandas_csv(path, enc, delimiter, header, idx, on_bad_lines="error")
    except UnicodeDecodeError:
        raise DataError(file, f"cannot decode the file as {enc}", expected="one encoding") from None
    except (ValueError, pd.errors.ParserError) as exc:
        match = re.search(r"line (\d+)", str(exc))
        row = int(match.group(1)) if match else None  # the C parser counts skipped lines too
        raise DataError(
            file,
            f"malformed CSV: {str(exc).splitlines()[0]}",
            row=row,
            expected=f"{len(header)} fields per row like the header",
        ) from None


def _cell_text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _refuse_zip_bomb(path: Path, file: str) -> None:
    """Check what the workbook would unpack to before anything is unpacked."""
    try:
        with zipfile.ZipFile(path) as zf:
            expanded = sum(info.file_size for info in zf.infolist())
    except zipfile.BadZipFile:
        raise DataError(file, "is not an Excel workbook, or it is damaged or truncated", expected=".xlsx") from None
    if expanded > MAX_XLSX_EXPANDED:
        raise DataError(
            file,
            f"unpacks to {expanded / 2**30:.1f} GiB, more than the {MAX_XLSX_EXPANDED / 2**20:.0f} MiB allowed",
            expected="a workbook of ordinary size (or the data as CSV)",
        )


def read_excel(path: Path, ds: Dataset, lookup: dict[str, str], header_row: int | None, sheet: object) -> RawTable:
    """.xlsx, .xlsm, .xlsb and .xls through python-calamine (a Rust reader, ~10× openpyxl's cell-by-cell
    speed), keeping the row numbers Excel shows: empty rows above the data are kept, not skipped."""
    import python_calamine

    file = path.name
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise DataError(file, "the file is empty", expected="an Excel workbook")
    with path.open("rb") as fh:
        head = fh.read(512)
    if _looks_like_html(head):
        raise DataError(
            file, "is a web page saved with an Excel extension", expected="the file saved as .xlsx in Excel"
        )
    if suffix != ".xls":  # .xls is an OLE2 file, the others are zip packages
        _refuse_zip_bomb(path, file)
    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
        names = list(wb.sheet_names)
    except Exception as exc:  # calamine raises its own errors and OSError/ValueError for damaged files
        raise DataError(file, f"is not an Excel workbook ({type(exc).__name__})", expected=".xlsx or .xls") from None
    try:
        if not names:
            raise DataError(file, "the workbook has no sheets", expected=f"a sheet of {ds.name}")
        if sheet is None:
            name = names[0]
        elif isinstance(sheet, int) and not isinstance(sheet, bool):
            if not 1 <= sheet <= len(names):
                raise DataError(file, f"no sheet number {sheet}", expected=f"1..{len(names)}")
            name = names[sheet - 1]
        elif str(sheet) in names:
            name = str(sheet)
        else:
            raise DataError(file, f"no sheet named {sheet!r}", expected=f"one of {', '.join(names)}")
        try:
            cells = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as exc:
            raise DataError(f"{file} [{name}]", f"cannot read the sheet ({type(exc).__name__}: {exc})") from None
    finally:
        wb.close()
    if suffix in (".xlsx", ".xlsm"):
        for (r, c), text in _error_cells(path, names.index(name)).items():
            if r < len(cells):
                cells[r][c : c + 1] = [text] if c < len(cells[r]) else []
    label = f"{file} [{name}]"
    if not any(any(v not in ("", None) and str(v).strip() for v in row) for row in cells):  # stops at the first
        raise DataError(label, "the sheet is empty", expected=f"rows of {ds.name}")
    search = cells[: max(HEADER_SEARCH_ROWS, header_row or 0)]
    others = [n for n in names if n != name]
    where = f" of sheet {name!r}" + (
        f" (the workbook also has: {', '.join(others)}; pick one with `sheet:`)" if others else ""
    )
    if header_row:
        if header_row > len(cells):
            raise DataError(label, f"header row {header_row} is past the end of the sheet ({len(cells)} rows)")
        idx = header_row - 1
    else:
        idx = _header_index([[_cell_text(v) for v in row] for row in search], ds, lookup, file, where)
    header = [(_cell_text(h) or "").strip() for h in cells[idx]]
    width = len(header)
    data = cells[idx + 1 :]
    if not data:
        body = pd.DataFrame(columns=header, dtype="str")
    else:
        frame = pd.DataFrame(data, dtype=object)
        frame = frame.iloc[:, :width].reindex(columns=range(width))
        body = pd.DataFrame(
            {j: _excel_column(frame[j], lookup.get(norm(header[j])), ds) for j in range(width)}, index=frame.index
        )
        body.columns = header
    rows = pd.Series(range(idx + 2, idx + 2 + len(body)), index=body.index)
    return RawTable(header, body, rows)


_ERROR_CELL = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*?\st="e"[^>]*>(.*?)</c>', re.S)


def _error_cells(path: Path, index: int) -> dict[tuple[int, int], str]:
    """Excel error values (#N/A, #VALUE!, …) of sheet `index`, by 0-based (row, column).

    calamine reads an error cell as empty, which would let a failed formula pass as a blank; the sheet's
    XML marks them `t="e"`, so they are put back from there (one substring search when there are none)."""
    from xml.etree import ElementTree

    with zipfile.ZipFile(path) as zf:
        ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
        rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
        try:
            sheets = ElementTree.fromstring(zf.read("xl/workbook.xml")).findall("m:sheets/m:sheet", ns)
            rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
            target = next(r.get("Target") for r in rels if r.get("Id") == sheets[index].get(rel))
            xml = zf.read(target.lstrip("/") if target.startswith("/") else f"xl/{target}")
        except (KeyError, IndexError, StopIteration, ElementTree.ParseError):
            return {}
    if b't="e"' not in xml:
        return {}
    found = {}
    for letters, number, inner in _ERROR_CELL.findall(xml):
        value = re.search(rb"<v>([^<]*)</v>", inner)
        column = 0
        for ch in letters.decode():
            column = column * 26 + ord(ch) - 64
        found[(int(number) - 1, column - 1)] = value.group(1).decode() if value else "#N/A"
    return found


def _excel_column(values: pd.Series, column: str | None, ds: Dataset) -> pd.Series:
    """One sheet column as the parsers want it: real dates and numbers stay typed where the column is a
    time or an amount (no text round trip); everything else becomes text as Excel displays it."""
    from pandas.api.types import infer_dtype

    values = values.mask(values.eq(""))
    inferred = infer_dtype(values, skipna=True)
    kind = ds[column].kind if column else "str"
    if inferred in ("string", "empty"):
        return values.astype("str")
    if kind in ("timestamp", "date") and inferred in ("datetime", "date"):
        return pd.to_datetime(values)  # to nanoseconds in the parser, which names a time they cannot hold
    if kind in ("money", "int") and inferred in ("floating", "integer", "mixed-integer-float"):
        return values.astype("float64")
    if kind == "bool" and inferred == "boolean":
        return values.astype("boolean")
    return values.map(_cell_text, na_action="ignore").astype("str")


def read_parquet(
    path: Path,
    ds: Dataset,
    lookup: dict[str, str],
    keep: set[str] | None = None,
    month_first: MonthFirst | None = None,
    kept: dict[str, int] | None = None,
) -> RawTable:
    import pyarrow.parquet as pq

    try:
        header = [str(c) for c in pq.read_schema(path).names]
        chosen = None if keep is None else [h for h in header if lookup.get(norm(h)) in keep]
        table = pq.read_table(path, columns=chosen)
    except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
        raise DataError(path.name, f"is not a Parquet file ({type(exc).__name__})", expected=".parquet") from None
    positions = _month_first(table, lookup, month_first, kept)
    holder = [table]
    del table  # the holder's reference is the last one: `_take_rows` can free each column as it goes
    body = _parquet_frame(_take_rows(holder, positions) if positions is not None else holder.pop())
    return RawTable(header, body, pd.Series(1 + positions if positions is not None else range(1, len(body) + 1)))


def _parquet_frame(table) -> pd.DataFrame:
    """An Arrow table read from Parquet as `pd.read_parquet` gives it, but converted column by
    column with each column's Arrow memory released as it goes (peak memory: one copy, not two)."""
    from pandas.io._util import arrow_table_to_pandas

    kwargs = {"split_blocks": True, "self_destruct": True}
    return arrow_table_to_pandas(table, to_pandas_kwargs=kwargs).reset_index(drop=True)


# --------------------------------------------------------------------------- mapping and parsing


def _parse_column(col: Column, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    if col.kind == "str":
        return parsing.to_text(raw), pd.Series(False, index=raw.index)
    if col.kind == "bool":
        return parsing.parse_bool(raw, col.default)
    if col.kind == "enum":
        return parsing.parse_enum(raw, col.values or {})
    out, bad = _PARSERS[col.kind](raw)
    if col.default is not None:
        out = out.fillna(col.default)
    return out, bad


def _cjk_name(names: tuple[str, ...], fallback: str) -> str:
    """A column's Chinese header when it has one (the name a Chinese export uses)."""
    return next((n for n in names if any("\u4e00" <= ch <= "\u9fff" for ch in n)), fallback)


def _expected_zh(col: Column) -> str:
    """What a cell should hold, in Chinese; enumerations by the names the reports use."""
    if col.kind == "enum":
        from .locale import cell_codes

        names = cell_codes("zh")
        return "、".join(names.get(k) or _cjk_name(tuple(v), k) for k, v in (col.values or {}).items())
    text = _EXPECTED_ZH.get(col.kind, col.kind)
    return f"{text}，不小于 {col.minimum:g}" if col.minimum is not None else text


def _expected(col: Column) -> str:
    if col.minimum is not None:
        return f"{_EXPECTED[col.kind]}, not below {col.minimum:g}"
    if col.kind == "enum":
        return "one of " + ", ".join(f"{k} ({'/'.join(v[:2])})" for k, v in (col.values or {}).items())
    return _EXPECTED[col.kind]


def shape(
    raw: RawTable, ds: Dataset, lookup: dict[str, str], file: str, notices: list[str], wanted: set[str] | None = None
) -> pd.DataFrame:
    """Map headers to canonical columns, drop exact duplicates (with a notice), parse every value.

    With `wanted`, only those columns (and the required ones) are kept; exact duplicates are then
    not looked for, since equal wanted columns do not make equal rows."""
    mapping: dict[str, str] = {}
    for header in raw.header:
        canonical = lookup.get(norm(header))
        if canonical is None:
            continue
        if canonical in mapping.values():
            first = next(h for h, c in mapping.items() if c == canonical)
            raise DataError(file, f"columns {first!r} and {header!r} both mean {canonical}", column=header)
        mapping[header] = canonical
    missing = [c for c in ds.required if c.name not in mapping.values()]
    if missing:
        tried = "; ".join(f"{c.name} ({', '.join(c.header_names())})" for c in missing)
        names = "、".join(_cjk_name(c.header_names(), c.name) for c in missing)
        raise DataError(
            file, f"missing required column {tried}", expected=f"headers of {ds.name}", zh=f"缺少必填列 {names}"
        )
    if wanted is not None:
        keep = wanted | {c.name for c in ds.required}
        mapping = {h: c for h, c in mapping.items() if c in keep}
    body = raw.body.loc[:, list(mapping)]
    body.columns = list(mapping.values())
    header_of = {c: h for h, c in mapping.items()}
    label = {c: h if h == c else f"{h} ({c})" for c, h in header_of.items()}
    body, rows = _set_aside_totals(raw, body, ds, file, mapping, notices)
    raw.body = None  # parsed columns replace raw ones one by one below: never two copies of a whole file
    cells = BadCells(file, rows)
    body, rows = _drop_blank_rows(body, rows, ds, file, label, notices, cells)
    cells.rows = rows
    if not file.lower().endswith((".parquet", ".pq")):  # typed files cannot repeat their header row
        body, rows = _drop_repeated_headers(body, rows, ds, file, mapping, notices)
        cells.rows = rows
    _refuse_bad_cells(body, label, cells)
    out = {}
    for col in ds.columns:
        if col.name not in body:
            if wanted is None or col.name in wanted:  # an optional column the rules read, absent: blank
                out[col.name] = _empty(col, len(body), body.index)
            continue
        values, bad = _parse_column(col, body[col.name])
        if col.minimum is not None:
            bad = bad | (values.astype("float64") < col.minimum).fillna(False).astype(bool)
        if bad.any():
            kind = col.kind
            zh = _expected_zh(col)
            cells.add(
                bad,
                col.name,
                label[col.name],
                f"cannot read {{value}} as {kind}",
                _expected(col),
                body[col.name],
                zh=f"无法识别{{value}}（应为{zh}）",
            )
        out[col.name] = values
        del body[col.name]
    cells.raise_if_any()
    frame = pd.DataFrame(out, index=body.index, copy=False)
    dup = _exact_duplicates(frame, list(ds.key) or [c.name for c in ds.required]) if wanted is None else None
    if dup is not None and dup.any():
        shown = ", ".join(str(r) for r in rows[dup].head(10))
        notices.append(Notice("duplicate_rows", file=file, count=int(dup.sum()), rows=shown))
        frame, rows = frame[~dup], rows[~dup]
    frame["_row"] = rows.astype("int64")
    frame = frame.reset_index(drop=True)
    if frame.empty:  # an Arrow string column with no chunks cannot be joined (pandas 3.1): give it one
        for column in frame.columns[frame.dtypes == "str"]:
            frame[column] = pd.Series([], dtype="str")
    return frame


_TOTALS_PATTERN = "|".join(re.escape(label) for label in TOTALS_LABELS)


def _may_hold_totals(values: pd.Series) -> bool:
    """False when no cell of an Arrow text column contains a totals word anywhere (one substring scan,
    no stripped or case-folded copy of the column); the exact test then runs only where it may hold."""
    arrow = parsing.arrow_text(values)
    if arrow is None:
        return True
    import pyarrow.compute as pc

    try:
        return bool(pc.any(pc.match_substring_regex(arrow, _TOTALS_PATTERN, ignore_case=True)).as_py())
    except NotImplementedError:  # pragma: no cover - a column type without the kernel
        return True


def _totals_key_anywhere(body: pd.DataFrame, key: list[str]) -> bool:
    """Whether some row's key is blank or itself a totals word in every key column, as a totals row's
    is: scanning the key alone, instead of every text column for totals words, settles most files."""
    possible = pd.Series(True, index=body.index)
    for column in key:
        values = body[column]
        if values.dtype.kind in "biufcmMb":
            possible &= values.isna()
        else:
            possible &= _blank_or_totals(values)
        if not possible.any():
            return False
    return True


def _blank_or_totals(values: pd.Series) -> np.ndarray:
    """Each text value that is blank or a totals word once stripped.

    On Arrow text, a value of ASCII letters and digits alone has nothing to strip, so it is a totals
    word exactly when it is one as it stands; only the other values (few in a column of ids) are
    stripped and compared. A stripped copy of ten million ids cost 0.4 s; this 0.1 s."""
    arrow = parsing.arrow_text(values)
    if arrow is None:
        stripped = values.astype("str").str.strip()
        return (stripped.isna() | stripped.eq("") | stripped.isin(_TOTALS_SPELLINGS)).fillna(True).to_numpy(bool)
    import pyarrow as pa
    import pyarrow.compute as pc

    spellings = pa.array(sorted(_TOTALS_SPELLINGS))
    plain = pc.fill_null(pc.ascii_is_alnum(arrow), False).to_numpy(zero_copy_only=False)
    found = pc.is_in(arrow, value_set=spellings).to_numpy(zero_copy_only=False)
    others = np.flatnonzero(~plain)
    if len(others):
        # a filter works chunk by chunk; a take from a file's hundreds of chunks would first join them
        stripped = pc.utf8_trim_whitespace(arrow.filter(pa.array(~plain)))  # what `str.strip` does
        word = pc.or_kleene(pc.equal(stripped, ""), pc.is_in(stripped, value_set=spellings))
        found[others] = pc.or_kleene(pc.is_null(stripped), word).to_numpy(zero_copy_only=False)
    return found


def _set_aside_totals(raw: RawTable, body, ds: Dataset, file: str, mapping: dict, notices: list[str]):
    """A totals row (合计/总计/小计 as the row's first text, its key blank) is the export's own sum, not a
    record: it is set aside with a notice instead of failing the load on its blank key."""
    text = [c for c in raw.body.columns if raw.body[c].dtype.kind not in "biufcmMb"]
    key = [c for c in (ds.key or (ds.required[0].name,)) if c in body]
    if raw.body.empty or (key and not _totals_key_anywhere(body, key)):
        return body, raw.rows  # no row's key is blank or a totals word: no row can be a totals row
    if not any(_may_hold_totals(raw.body[c]) for c in text):
        return body, raw.rows
    # the row's first non-blank cell, column by column over the rows still blank so far (few after the first)
    first = pd.Series(None, index=raw.body.index, dtype="object")
    todo = pd.Series(True, index=raw.body.index)
    for column in raw.body.columns:
        values = raw.body[column]
        filled = ~parsing.blank(values)
        if values.dtype.kind not in "biufcmMb":
            here = todo & filled
            first[here] = values[here].astype("str").str.strip()
        todo &= ~filled
        if not todo.any():
            break
    labelled = first.isin(_TOTALS_SPELLINGS)
    if not labelled.any():
        return body, raw.rows
    keys = body.loc[labelled, key].astype("str").apply(lambda c: c.str.strip())
    blank_key = (keys.isna() | keys.eq("") | keys.isin(_TOTALS_SPELLINGS)).all(axis=1)
    totals = blank_key[blank_key].index
    if not len(totals):
        return body, raw.rows
    shown = ", ".join(str(int(r)) for r in raw.rows[totals][:10])
    notices.append(Notice("totals_rows", file=file, count=len(totals), rows=shown))
    keep = ~body.index.isin(totals)
    return body[keep], raw.rows[keep]


def _drop_blank_rows(body, rows, ds: Dataset, file: str, label: dict, notices: list[str], cells: BadCells):
    """Fully blank rows are ignored (with a notice); a blank required value is a bad cell naming its row."""
    required = [c.name for c in ds.required]
    blank_required = pd.concat([parsing.blank(body[c]) for c in required], axis=1, keys=required)
    suspects = blank_required.any(axis=1)
    if not suspects.any():
        return body, rows
    rest = body.loc[suspects]
    empty = pd.concat([parsing.blank(rest[c]) for c in rest.columns], axis=1).all(axis=1)
    broken = blank_required.index.isin(empty[~empty].index)
    for column in required:
        bad = blank_required[column] & broken
        if bad.any():
            cells.add(
                bad,
                column,
                label[column],
                f"{column} is blank but required",
                f"a value in every row of {ds.name}",
                zh="必填列为空",
            )
    if empty.any():
        notices.append(Notice("blank_rows", file=file, count=int(empty.sum())))
    keep = ~body.index.isin(empty[empty].index)
    return body[keep], rows[keep]


def _drop_repeated_headers(body, rows, ds: Dataset, file: str, mapping: dict, notices: list[str]):
    """Exports pasted page by page repeat their header row; such rows are dropped with a notice."""
    header_of = {c: h for h, c in mapping.items()}
    texts = [c.name for c in ds.required if body[c.name].dtype.kind not in "biufcmM"]
    if not texts:
        return body, rows
    # A cell that is its header once stripped holds the header: that substring search needs no stripped
    # copy of a million cells, and only the few rows holding every header are compared exactly.
    maybe = np.ones(len(body), dtype=bool)
    for c in texts:
        maybe &= body[c].astype("str").str.contains(header_of[c], regex=False).fillna(False).to_numpy(bool)
        if not maybe.any():
            return body, rows
    at = np.flatnonzero(maybe)
    exact = np.all([body[c].iloc[at].astype("str").str.strip().eq(header_of[c]).fillna(False) for c in texts], axis=0)
    repeated = pd.Series(False, index=body.index)
    repeated.iloc[at[exact]] = True
    if not repeated.any():
        return body, rows
    shown = ", ".join(str(r) for r in rows[repeated].head(10))
    notices.append(Notice("repeated_header", file=file, rows=shown))
    return body[~repeated], rows[~repeated]


def _refuse_bad_cells(body, label: dict, cells: BadCells) -> None:
    """Excel error values (#N/A, #VALUE!, …) and cells longer than Excel allows are named, not loaded."""
    for column in body.columns:
        values = body[column]
        if values.dtype.kind in "biufcmMb":
            continue
        text = values.astype("str")
        maybe_error, maybe_long = _may_be_bad(text)
        for bad, problem, expected in (
            (
                maybe_error and text.isin(EXCEL_ERRORS),
                "is an Excel error value",
                "the cell's value, not a failed formula",
            ),
            (maybe_long and text.str.len() > MAX_CELL, f"is longer than {MAX_CELL:,} characters", "a shorter value"),
        ):
            if bad is False:  # settled by `_may_be_bad` without testing each value
                continue
            bad = bad.fillna(False).astype(bool)
            if bad.any():
                cells.add(
                    bad,
                    column,
                    label[column],
                    f"{{value}} {problem}",
                    expected,
                    values,
                )


def _may_be_bad(text: pd.Series) -> tuple[bool, bool]:
    """Whether a text column may hold an Excel error value, and a cell longer than Excel allows.

    Every error value starts with `#`, and a value has at least as many bytes as characters: on Arrow
    text both questions are settled from the first byte and the length of each value (no value is
    hashed or counted in characters), and the exact tests run only on a column where they may be true."""
    arrow = parsing.arrow_text(text)
    if arrow is None or not len(arrow):
        return True, True
    import pyarrow.compute as pc

    maybe_error = bool(pc.any(pc.starts_with(arrow, "#")).as_py())
    maybe_long = (pc.max(pc.binary_length(arrow)).as_py() or 0) > MAX_CELL
    return maybe_error, maybe_long


def _exact_duplicates(frame: pd.DataFrame, key: list[str]) -> pd.Series:
    """Rows equal to an earlier row in every parsed value (`2026/10/5` equals `2026-10-05`). Only rows
    whose key repeats can be such, so the full comparison runs on those alone."""
    candidates = frame[key].duplicated(keep=False)
    dup = pd.Series(False, index=frame.index)
    if candidates.any():
        dup[candidates] = frame[candidates].duplicated(keep="first")
    return dup


def _empty(col: Column, n: int, index: pd.Index) -> pd.Series:
    if col.kind in ("timestamp", "date"):
        return pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    if col.kind == "money":
        return pd.Series(float("nan") if col.default is None else col.default, index=index, dtype="float64")
    if col.kind == "int":
        return pd.Series(col.default, index=index, dtype="Int64")
    if col.kind == "bool":
        return pd.Series(col.default, index=index, dtype="boolean")
    if col.kind == "enum":
        return pd.Series(None, index=index, dtype=pd.CategoricalDtype(list(col.values or {})))
    return pd.Series(None, index=index, dtype="str")


def load_dataset(
    path: Path,
    name: str,
    entry: Mapping | None = None,
    notices: list[str] | None = None,
    wanted: set[str] | None = None,
    month_first: MonthFirst | None = None,
    kept: dict[str, int] | None = None,
) -> pd.DataFrame:
    """Read one file as dataset `name` (see `load` for the folder form). With `month_first` (and
    `wanted` columns), only the rows it keeps are converted and validated; `kept` then says how
    many later rows of repeated keys were set aside, or stays empty when the file was read whole."""
    ds = DATASETS[name]
    entry = entry or {}
    notices = notices if notices is not None else []
    lookup = header_lookup(ds, entry.get("aliases"))
    suffix = path.suffix.lower()
    header_row = entry.get("header_row")
    if header_row is not None and (not isinstance(header_row, int) or isinstance(header_row, bool) or header_row < 1):
        raise DataError(MANIFEST, f"{name}: header_row must be a row number from 1")
    footer_rows = entry.get("footer_rows", 0)
    if not isinstance(footer_rows, int) or isinstance(footer_rows, bool) or footer_rows < 0:
        raise DataError(MANIFEST, f"{name}: footer_rows must be a number of rows from 0")
    keep = None if wanted is None else wanted | {c.name for c in ds.required}
    if wanted is None or footer_rows:  # footer rows are counted from the file's end: the whole file is read
        month_first = None
    if suffix in EXCEL_SUFFIXES:
        raw = read_excel(path, ds, lookup, header_row, entry.get("sheet"))
    elif suffix in (".parquet", ".pq"):
        raw = read_parquet(path, ds, lookup, keep, month_first, kept)
    else:
        raw = read_csv(path, ds, lookup, header_row, keep, month_first, kept)
    if footer_rows:
        raw = _drop_footer(raw, footer_rows, path.name)
    return shape(raw, ds, lookup, path.name, notices, wanted)


def _drop_footer(raw: RawTable, footer_rows: int, file: str) -> RawTable:
    """The manifest's `footer_rows` last rows with any content (notes, signatures below the data) are not data."""
    filled = ~pd.concat([parsing.blank(raw.body[c]) for c in raw.body.columns], axis=1).all(axis=1)
    last = filled[filled].index
    if len(last) < footer_rows:
        raise DataError(
            MANIFEST, f"{file}: footer_rows {footer_rows} is more than the {len(last)} rows below the header"
        )
    cut = last[-footer_rows] if footer_rows else None
    keep = raw.body.index < cut
    return RawTable(raw.header, raw.body[keep], raw.rows[keep])


def load(
    folder: str | Path,
    month: str | None = None,
    datasets: list[str] | set[str] | None = None,
    columns: Mapping[str, set[str] | None] | None = None,
    month_first: Mapping[str, MonthFirst] | None = None,
) -> Data:
    """Load every dataset present in a month folder (or the `month` subfolder of a data root), or
    only `datasets` when given, and of a dataset only `columns[dataset]` (plus the required ones)
    when given: what the chosen rules read. `month_first[dataset]`, for a run of rules that read
    only the month's first records, keeps only those (see `MonthFirst`)."""
    given = Path(folder)
    folder, month = resolve_folder(folder, month)
    manifest = read_manifest(folder)
    notices: list[str] = []
    if folder != given:
        strays = stray_files(given)
        if strays:
            shown = ", ".join(strays[:10]) + (f" and {len(strays) - 10} more" if len(strays) > 10 else "")
            notices.append(Notice("stray_files", folder=given.name, names=shown))
    frames, files, cut = {}, {}, {}
    for name, path in locate(folder, manifest).items():
        if datasets is not None and name not in datasets:
            continue
        plan, kept = (month_first or {}).get(name), {}
        frames[name] = load_dataset(path, name, manifest.get(name), notices, (columns or {}).get(name), plan, kept)
        release_unused()
        files[name] = path.name
        if plan is not None and "repeated" in kept:
            cut[name] = (plan.key, plan.when, plan.month, kept["repeated"], kept["months"])
    if not frames:
        raise DataError(str(folder), "no dataset files found", expected="files such as orders.csv or an opskit.yaml")
    prior = (
        _prior_month(folder, month, notices) if "stock_ledger" in frames and given.resolve() != folder.resolve() else {}
    )
    notify(notices)
    return Data(frames, files, folder, month, notices, cut, prior)


CARRIED = {"stock_ledger": {"opening_qty", "closing_qty"}}  # what a month carries from the month before


def _prior_month(folder: Path, month: str | None, notices: list[str]) -> dict[str, pd.DataFrame]:
    """The datasets of the month before `folder` in its data root that rules carry from (the ledger's
    closing quantities); a month that is absent carries nothing, one that cannot be read says so."""
    if not month:
        return {}
    before = str(pd.Period(month, "M") - 1)
    prior_folder = folder.parent / before
    if not prior_folder.is_dir():
        return {}
    out = {}
    try:
        manifest = read_manifest(prior_folder)
        found = locate(prior_folder, manifest)
        for name, wanted in CARRIED.items():
            if name in found:
                out[name] = load_dataset(found[name], name, manifest.get(name), [], wanted)
    except DataError as exc:
        notices.append(Notice("prior_month_unreadable", before=before, error=str(exc), month=month))
        return {}
    return out

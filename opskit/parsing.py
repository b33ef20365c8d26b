"""Vectorised parsers for the value spellings real exports use.

Each parser takes a column of text (blank = missing) and returns the typed column together with a
mask of the cells that were not blank yet could not be read, so the loader can name their rows.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from .schema import norm

TRUE_WORDS = ("是", "y", "yes", "true", "t", "1", "√", "✓", "有")
FALSE_WORDS = ("否", "n", "no", "false", "f", "0", "×", "无")
_BOOL = {**{w: True for w in TRUE_WORDS}, **{w: False for w in FALSE_WORDS}}

_TS_PATTERN = (
    r"^(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"(?:\s+(?P<hour>\d{1,2}):(?P<minute>\d{1,2})(?::(?P<second>\d{1,2})(?:\.\d+)?)?)?$"
)


def arrow_text(s: pd.Series):
    """The Arrow (chunked) string array behind a text column, or None for any other storage."""
    arrow = getattr(s.array, "_pa_array", None)
    if arrow is None:
        return None
    import pyarrow as pa

    return arrow if pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type) else None


def blank(s: pd.Series) -> pd.Series:
    """Missing or only white space.

    On Arrow text this asks Arrow whether every character is white space, which stops at a value's
    first other character, instead of making a stripped copy of the column to compare with "": the
    same answer (Arrow's white space is the characters `str.strip` removes, checked over every code
    point in the tests) at a fraction of the cost on a column of ten million ids."""
    if s.dtype.kind in "biufcmM":
        return s.isna()
    arrow = arrow_text(s)
    if arrow is None:
        return s.isna() | (s.astype("str").str.strip() == "")
    import pyarrow.compute as pc

    return pd.Series(pc.or_kleene(pc.is_null(arrow), arrow_blank(arrow)).to_numpy(zero_copy_only=False), index=s.index)


def arrow_blank(arrow):
    """Each value of Arrow text that is empty or only white space (missing values stay missing)."""
    import pyarrow.compute as pc

    return pc.or_kleene(pc.equal(pc.binary_length(arrow), 0), pc.utf8_is_space(arrow))


def to_text(s: pd.Series) -> pd.Series:
    """Stripped text with blanks as missing."""
    out = s.astype("str").str.strip()
    return out.mask(out == "")


def by_value(text: pd.Series, convert) -> pd.Series:
    """Apply `convert` to each distinct value once and spread the result: enumerations and flags
    have a handful of spellings however many rows they fill."""
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    values = convert(pd.Series(uniques, dtype=text.dtype)).to_numpy(dtype=object)
    values = np.append(values, None)  # code -1 (missing) picks this
    return pd.Series(values[codes], index=text.index)


def parse_timestamps(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`2026-10-05 14:03:00`, `2026/10/5 14:03`, `2026年10月5日 14:03`, Excel dates → naive local time."""
    if s.dtype.kind == "M":
        out = s if getattr(s.dt, "tz", None) is None else s.dt.tz_convert("Asia/Shanghai")
        out = out.dt.tz_localize(None) if getattr(out.dt, "tz", None) is not None else out
        if out.dtype == "datetime64[ns]":
            return out, pd.Series(False, index=s.index)
        held = _nanoseconds(out)
        return held, held.isna() & out.notna()
    text = to_text(s)
    out = _iso_seconds(text)
    todo = out.isna() & text.notna()
    if todo.any():
        rest = (
            text[todo]
            .str.normalize("NFKC")
            .str.replace(r"[年月/.]", "-", regex=True)
            .str.replace(r"[日号]", " ", regex=True)
            .str.replace("T", " ", regex=False)
            .str.replace(r"\s+", " ", regex=True)
            .str.strip()
        )
        parts = rest.str.extract(_TS_PATTERN).astype("float64").fillna({"hour": 0, "minute": 0, "second": 0})
        # pandas adds an hour 25 or a minute 70 to the day (2026/10/5 25:00 would be 10-06 01:00): not a time
        parts = parts.mask((parts["hour"] > 23) | (parts["minute"] > 59) | (parts["second"] > 59))
        out.loc[todo] = _nanoseconds(pd.to_datetime(parts, errors="coerce"))
    out = out.astype("datetime64[ns]")
    return out, out.isna() & text.notna()


def _nanoseconds(times: pd.Series) -> pd.Series:
    """Times as pandas' nanoseconds; one it cannot hold (a year past 2262, a typo like 3026) is
    unreadable, so the loader names its cell instead of failing on an overflow."""
    low, high = times.min(), times.max()  # two passes settle a whole column in range, the usual case
    if pd.isna(low) or (low >= pd.Timestamp.min and high <= pd.Timestamp.max):
        return times.astype("datetime64[ns]")
    held = (times >= pd.Timestamp.min) & (times <= pd.Timestamp.max)
    return times.where(held).astype("datetime64[ns]")


def _iso_seconds(text: pd.Series) -> pd.Series:
    """The common `2026-10-05 14:03:00` spelling, parsed by Arrow's strptime (2–3× pandas' speed)."""
    arrow = arrow_text(text)
    if arrow is None:
        return pd.to_datetime(text, format="%Y-%m-%d %H:%M:%S", errors="coerce").astype("datetime64[ns]")
    import pyarrow.compute as pc

    parsed = pc.strptime(arrow, format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
    # Arrow's strptime rolls an impossible day into the next month (2026-02-30 → 03-02) and takes a
    # 60th second: a value counts only when it reads back as written (the others go on to the
    # spellings below, which refuse what is not a real time)
    parsed = pc.if_else(pc.equal(pc.strftime(parsed, format="%Y-%m-%d %H:%M:%S"), arrow), parsed, None)
    return _nanoseconds(pd.Series(parsed.to_pandas(), index=text.index))


def parse_dates(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    out, bad = parse_timestamps(s)
    return out.dt.normalize(), bad


def parse_money(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`¥1,234.50`, `1,234`, `12.0`, `￥ 88元` → float."""
    if s.dtype.kind in "biuf":
        return s.astype("float64"), pd.Series(False, index=s.index)
    text = to_text(s)
    out = pd.to_numeric(text, errors="coerce").astype("float64")  # plain numbers at C speed
    todo = out.isna() & text.notna()
    if todo.any():
        cleaned = text[todo].str.normalize("NFKC").str.replace(r"[¥￥,\s元]|RMB|CNY", "", regex=True)
        out[todo] = pd.to_numeric(cleaned, errors="coerce").astype("float64")
    return out, out.isna() & text.notna()


def parse_int(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole numbers; `12.0` is 12, `12.5` is refused rather than rounded."""
    out, bad = parse_money(s)
    fractional = out.notna() & (np.floor(out) != out)
    return out.where(~fractional).astype("Int64"), bad | fractional


def parse_bool(s: pd.Series, default: object = None) -> tuple[pd.Series, pd.Series]:
    """`是/否`, `Y/N`, `true/false`, `1/0`; blank takes the column default."""
    if s.dtype.kind == "b":
        return s.astype("boolean"), pd.Series(False, index=s.index)
    text = to_text(s)
    out = by_value(text, lambda u: u.str.normalize("NFKC").str.casefold().map(_BOOL)).astype("boolean")
    bad = out.isna() & text.notna()
    if default is not None:
        out = out.fillna(bool(default))
    return out, bad


def enum_lookup(values: dict[str, tuple[str, ...]]) -> dict[str, str]:
    table = {}
    for canonical, spellings in values.items():
        for spelling in (canonical, *spellings):
            table[norm(spelling)] = canonical
    return table


def parse_enum(s: pd.Series, values: dict[str, tuple[str, ...]]) -> tuple[pd.Series, pd.Series]:
    """Chinese or English spellings → the canonical value, as a categorical column (one lookup per spelling).

    The column is factorized as it comes and only its few distinct spellings are stripped and looked
    up: stripping and hashing a million cells of text first would cost several times as much."""
    lookup = enum_lookup(values)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    text = to_text(pd.Series(uniques, dtype=s.dtype))
    canonical = text.str.normalize("NFKC").str.casefold().map(lookup)
    unique_codes = np.append(pd.Index(list(values)).get_indexer(canonical.astype("object")), -1)
    blank_spelling = np.append(text.isna().to_numpy(), True)  # white space alone is missing, not a bad value
    final = unique_codes[codes]
    out = pd.Series(pd.Categorical.from_codes(final, categories=list(values)), index=s.index)
    return out, pd.Series((final == -1) & ~blank_spelling[codes], index=s.index)


MONTH_SPELLINGS = "2026-10, 2026/10, 2026年10月 or 2026-9"
_MONTH = re.compile(r"^\s*(\d{4})\s*[-/年.]\s*(\d{1,2})\s*月?")  # the one month spelling, in columns and arguments


def parse_month(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`2026-10`, `2026年10月`, `2026/10`, `2026-9`, an Excel date → `2026-10`."""
    text = to_text(s).str.normalize("NFKC")
    parts = text.str.extract(_MONTH.pattern).astype("float64")
    ok = parts[0].notna() & parts[1].between(1, 12)
    out = (parts[0].astype("Int64").astype("str") + "-" + parts[1].astype("Int64").astype("str").str.zfill(2)).where(ok)
    return out, text.notna() & ~ok


def hours(delta: pd.Series) -> pd.Series:
    return delta / pd.Timedelta(hours=1)


def to_period(value: object) -> pd.Period:
    """One month from any spelling an analyst types (`2026-10`, `2026/10`, `2026年10月`, `2026-9`, full-width
    digits) or a Period/Timestamp; the same pattern reads the `month` column of write-offs, so a month that
    loads is a month that checks. Raises OpskitError naming the accepted spellings."""
    from .errors import OpskitError

    if isinstance(value, pd.Period):
        return value.asfreq("M")
    if isinstance(value, pd.Timestamp):
        return value.to_period("M")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    match = re.fullmatch(_MONTH.pattern.lstrip("^") + r"\s*", text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise OpskitError(f"month {value!r} is not a month (expected {MONTH_SPELLINGS})")
    return pd.Period(year=int(match.group(1)), month=int(match.group(2)), freq="M")


_SHAPES = (10, 16, 19)  # 2026-10-05, 2026-10-05 14:03, 2026-10-05 14:03:00
_MARKS = {10: (4, 7), 16: (4, 7, 10, 13), 19: (4, 7, 10, 13, 16)}
_MARK_BYTES = {10: b"--", 16: b"-- :", 19: b"-- ::"}
_FIRST_YEAR, _LAST_YEAR = 1678, 2261  # the whole years nanosecond times hold


def _month_tables() -> tuple[np.ndarray, np.ndarray]:
    """Day number (since 1970-01-01) of each month's first day and each month's length, 1678-01 to 2261-12."""
    months = np.arange((_FIRST_YEAR - 1970) * 12, (_LAST_YEAR + 1 - 1970) * 12 + 1).astype("datetime64[M]")
    firsts = months.astype("datetime64[D]").astype(np.int64)
    return firsts[:-1], np.diff(firsts)


_MONTHS = _month_tables()


_PLACES = {10: [0, 1, 2, 3, 5, 6, 8, 9], 16: [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15]}
_PLACES[19] = [*_PLACES[16], 17, 18]


def _plain_seconds(cells: np.ndarray, width: int) -> np.ndarray | None:
    """Seconds since 1970 of rows of bytes `YYYY-MM-DD[ HH:MM[:SS]]`, or None if any is not a real time."""
    if (cells[:, _MARKS[width]] != np.frombuffer(_MARK_BYTES[width], np.uint8)).any():
        return None
    digits = cells[:, _PLACES[width]] - np.uint8(48)  # wraps below "0": any other byte is above 9
    if digits.max() > 9:
        return None
    d = digits.astype(np.int32)

    def pair(k: int) -> np.ndarray:
        return d[:, k] * 10 + d[:, k + 1]

    year, month, day = pair(0) * 100 + pair(2), pair(4), pair(6)
    if year.min() < _FIRST_YEAR or year.max() > _LAST_YEAR or month.min() < 1 or month.max() > 12 or day.min() < 1:
        return None  # beyond nanosecond times, or no such month or day
    firsts, lengths = _MONTHS
    index = (year - _FIRST_YEAR) * 12 + month - 1
    if (day > lengths[index]).any():
        return None  # 2026-02-30, 2026-04-31: no such day
    seconds = (firsts[index] + day - 1) * 86_400
    if width > 10:
        hour, minute = pair(8), pair(10)
        second = pair(12) if width == 19 else 0
        if hour.max() > 23 or minute.max() > 59 or (width == 19 and second.max() > 59):
            return None
        seconds += hour * 3600 + minute * 60 + second
    return seconds


def plain_times(column):
    """A column of Arrow text in the three plain spellings of a time, as nanosecond timestamps; None
    when any value is spelled otherwise or is not a real time (the tolerant parser then reads the file).

    Arrow's own CSV time parsing with formats costs about twice reading the text, and it rolls an
    impossible day into the next month (`2026-02-30` became 2026-03-02, silently). Here the values of
    a chunk, when all of one length, lie end to end in its data and are viewed as rows of bytes: their
    digits are read at fixed places with numpy, and the day is checked against the month's length."""
    import pyarrow as pa

    nanos = np.zeros(len(column), np.int64)
    valid = np.ones(len(column), bool)
    at = 0
    for chunk in column.chunks:
        n = len(chunk)
        if n > chunk.null_count:
            seconds, filled = _plain_chunk(chunk)
            if seconds is None:
                return None
            if filled is None:
                nanos[at : at + n] = seconds
            else:
                nanos[at : at + n][filled] = seconds
                valid[at : at + n] = filled
        else:
            valid[at : at + n] = False
        at += n
    nanos *= 1_000_000_000
    return pa.chunked_array([pa.array(nanos, mask=None if valid.all() else ~valid, type=pa.timestamp("ns"))])


def _plain_chunk(chunk) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Seconds of the values of one chunk (and which of its rows hold one, when some are missing)."""
    import pyarrow as pa

    n = len(chunk)
    _, offsets, data = chunk.buffers()
    wide = pa.types.is_large_string(chunk.type)
    offsets = np.frombuffer(offsets, dtype=np.int64 if wide else np.int32)[chunk.offset : chunk.offset + n + 1]
    valid = chunk.is_valid().to_numpy(zero_copy_only=False) if chunk.null_count else None
    sizes = np.diff(offsets)
    filled = sizes if valid is None else sizes[valid]
    width = int(filled[0])
    if width not in _SHAPES or filled.min() != width or filled.max() != width:
        return None, None  # mixed lengths: unusual enough for the tolerant parser
    if valid is not None and sizes[~valid].any():
        return None, None  # a missing value holding bytes: the values do not lie end to end
    cells = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(-1, width)
    return _plain_seconds(cells, width), valid

"""`opskit check` of Parquet exports without pandas: the Arrow path of the rules that have one.

Why it exists: a check from the command line is a whole process the user waits for, and importing
pandas alone is a third of a second of it (0.28–0.37 s here), more than half of what a hand-written
DuckDB query needs for the whole answer at a million orders. This path reads the same files with
Arrow, measures with Arrow and numpy, and writes the same findings file, byte for byte, in about
half the time of the ordinary path.

What it answers: `--format csv` without `--summary` or `--as-of`, for rule ids that each have an
Arrow measure (`ARROW_RULES`: ORD-003, CS-001 and STK-007), on a month folder of Parquet files
without a manifest, when every value the loader would parse is already what parsing gives (typed
times and numbers, canonical codes, ids without surrounding spaces, nothing blank, no totals row)
and the rule's policy is a plain calendar deadline or tolerance.

Anything else, it declines before writing a byte (`Decline`), and the ordinary path runs and says
what it says: every bad cell named by file, row and column, every notice, every clock and policy.
So this path never has to name a bad value: it only answers where there is none. The two are held
equal by tests that run both on the samples and on copies broken in the ways exports break.
`OPSKIT_ENGINE=pandas` always takes the ordinary path; `OPSKIT_ENGINE=arrow` makes a decline an
error (what the tests use to prove this path answered).
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Formatter
from typing import Any

import numpy as np

from .errors import Notice, OpskitError
from .locale import check_lang, fmt
from .policy import DURATION_UNITS, Policy, RulePolicy, load_policy
from .report.files import is_risky
from .schema import DATASETS, FINDINGS_COLUMNS, Column, norm
from .sources import (
    _TOTALS_SPELLINGS,
    MAX_CELL,
    header_lookup,
    locate,
    months_of,
    read_manifest,
    release_unused,
    resolve_folder,
)
from .words import UNIT_KINDS, duration, money, number

ENGINE_ENV = "OPSKIT_ENGINE"
# Rule id → the family module holding its Arrow measure (a function of `ArrowContext` → `Found`)
ARROW_RULES = {
    "CS-001": "opskit.reviews.service.arrow",
    "ORD-003": "opskit.reviews.orders.arrow",
    "STK-007": "opskit.reviews.stocktake.arrow",
}
PARQUET = (".parquet", ".pq")
MAX_FINDINGS = 50_000  # beyond this many findings the ordinary path's vectorised words are quicker
_EXACT_FLOAT = 2**53  # integers beyond this change when the loader reads them through float64
# nanosecond times hold 1677-09-21 to 2262-04-11; a whole year inside that is what the loader keeps as is
_FIRST_TIME, _END_TIME = dt.datetime(1678, 1, 1), dt.datetime(2262, 1, 1)


class Decline(Exception):
    """The Arrow path cannot answer exactly as the ordinary path would: that path runs instead."""


@dataclass
class Found:
    """One rule's findings before words, in the order of the rows they come from."""

    dataset: str
    rows: np.ndarray  # the file line of each finding (`_row`)
    key: list[str]
    observed: np.ndarray
    limit: np.ndarray
    message_id: list[str]
    when: np.ndarray  # datetime64[ns]
    open: np.ndarray
    channel: list[str] | None = None
    params: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)  # name → (kind, values)


@dataclass
class ArrowContext:
    """What an Arrow measure reads: each dataset as loaded (`Loaded`: every row of the columns read,
    and the positions of the rows the ordinary path's rules see), the audit's moment and policy."""

    data: dict[str, Loaded]
    files: dict[str, str]
    policy: Policy
    start: np.datetime64
    end: np.datetime64
    as_of: np.datetime64
    notices: list[str] = field(default_factory=list)

    def notice(self, text: str) -> None:
        if text not in self.notices:
            self.notices.append(text)

    def times(self, dataset: str, column: str) -> np.ndarray:
        """A time column of every row of the file, datetime64 in the file's own unit (NaT where missing):
        no copy where nothing is missing, and none to nanoseconds (at ten million orders each copy of
        a column is 80 MB)."""
        return self.data[dataset].table.column(column).to_numpy()

    def present(self, dataset: str, column: str) -> np.ndarray:
        """Which rows of the file have a value in `column`."""
        values = self.data[dataset].table.column(column)
        return values.is_valid().to_numpy(zero_copy_only=False) if values.null_count else np.ones(len(values), bool)

    def seen(self, dataset: str) -> np.ndarray | bool:
        """Which rows of the file the ordinary path's rules see (the month's first records); True for all."""
        kept = self.data[dataset].kept
        return True if kept is None else kept

    def texts(self, dataset: str, column: str, at: np.ndarray) -> list[str]:
        """A text column's values on rows `at` of the file."""
        return self.data[dataset].table.column(column).take(at).to_pylist()

    def in_month(self, times: np.ndarray) -> np.ndarray:
        return (times >= self.start) & (times < self.end)


def try_check(args: Any, write: Callable[[str, str | None], None]) -> int | None:
    """The command's exit status when this path answered (output written, notices printed), None when
    it declined and nothing was written."""
    mode = os.environ.get(ENGINE_ENV, "")
    if mode == "pandas":
        return None
    hide = getattr(args, "ends_process", False) and "pandas" not in sys.modules
    finder = _PandasHidden() if hide else None
    if finder is not None:
        sys.meta_path.insert(0, finder)
    try:
        notices, text, lang = _check(args)
    except Exception as exc:  # noqa: BLE001 - any doubt at all: the ordinary path answers, in full
        if finder is not None:
            _give_pandas_back(finder)
        if mode == "arrow":
            raise OpskitError(f"the Arrow path declined: {type(exc).__name__}: {exc}") from None
        return None
    from .errors import notice_line
    from .report.files import terminal_safe

    for notice in notices:
        print(terminal_safe(notice_line(notice, lang)), file=sys.stderr)
    write(text, args.output)
    return 0


class _PandasHidden:
    """An import finder that says pandas is not installed.

    pyarrow imports pandas (0.3 s) on its first conversion of any value, only to ask whether the
    value is a pandas object. In a process that ends with this path's answer nothing is one, so the
    command hides pandas from that question; pyarrow then notes pandas as absent. Only a process that
    ends after the command (`opskit check` itself) does this: a caller that goes on using pandas and
    pyarrow together in the same process keeps pyarrow's pandas support untouched."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError(f"{name}: not imported on opskit check's Arrow path")
        return None


def _give_pandas_back(finder: _PandasHidden) -> None:
    """Before the ordinary path runs: pandas importable again, and pyarrow's pandas support restored
    (its shim retries the import when asked for pandas itself)."""
    sys.meta_path.remove(finder)
    import pyarrow.lib

    pyarrow.lib._pandas_api.pd  # noqa: B018 - the property imports pandas and re-arms the shim


def _check(args: Any) -> tuple[list[str], str, str]:
    if args.summary or args.format != "csv" or args.as_of is not None:
        raise Decline("only --format csv, without --summary or --as-of")
    wanted = [r.strip().upper() for r in (args.rules or "").split(",") if r.strip()]
    if not wanted or any(r not in ARROW_RULES for r in wanted):
        raise Decline(f"rules without an Arrow measure among {args.rules!r}")
    given = Path(args.folder)
    folder, month = resolve_folder(given, args.month)
    if folder != given or not month:
        raise Decline("a data root (the month before is read too) or a folder without a month")
    if read_manifest(folder):
        raise Decline("a manifest")
    files = locate(folder, {})
    measures = {rule_id: importlib.import_module(ARROW_RULES[rule_id]) for rule_id in sorted(set(wanted))}
    reads: dict[str, set[str] | None] = {}
    for module in measures.values():
        for dataset, columns in module.READS.items():
            reads.setdefault(dataset, set()).update(columns)
    if "products" in files:  # the ordinary check loads products whole with every rule
        reads["products"] = None
    for dataset in reads:
        if dataset not in files or files[dataset].suffix.lower() not in PARQUET:
            raise Decline(f"{dataset}: not a Parquet file")
    policy = load_policy(args.policy)
    lang = check_lang(args.lang or policy.lang)
    ctx = _load_all({d: files[d] for d in reads}, reads, measures, month, policy)
    found: list[tuple[str, Found]] = []
    for rule_id, module in measures.items():
        if dataset_first := module.MONTH_FIRST:
            _later_notice(ctx, dataset_first)
        found.append((rule_id, module.measure(ctx)))
    return ctx.notices, _csv(found, policy, lang, ctx.files), lang


def _load_all(paths: dict[str, Path], reads: dict, measures: dict, month: str, policy: Policy) -> ArrowContext:
    """Every dataset the rules read, two files at a time (Arrow and numpy release the interpreter
    lock), and the ordinary check's refusal of a month the data does not hold."""
    from .keys import both_cores

    first = {m.MONTH_FIRST[0]: m.MONTH_FIRST for m in measures.values() if m.MONTH_FIRST}
    year, mon = int(month[:4]), int(month[5:])
    start, end = dt.datetime(year, mon, 1), dt.datetime(year + mon // 12, mon % 12 + 1, 1)
    ctx = ArrowContext({}, {}, policy, np.datetime64(start, "ns"), np.datetime64(end, "ns"), np.datetime64(end, "ns"))

    def load(dataset: str) -> Loaded:
        return _load(paths[dataset], dataset, reads[dataset], first.get(dataset), start, end)

    counts: dict[str, int] = {}
    for dataset, loaded in zip(paths, both_cores(load, list(paths)), strict=True):
        ctx.data[dataset], ctx.files[dataset] = loaded, paths[dataset].name
        for m, n in loaded.months.items():
            counts[m] = counts.get(m, 0) + n
    _refuse_other_month(counts, month)
    return ctx


# --------------------------------------------------------------------------- reading and the envelope


def _load(path: Path, dataset: str, wanted: set[str] | None, first: tuple | None, start, end) -> Loaded:
    """A dataset's columns (canonical names) as the ordinary loader would parse them, and which of
    its rows the rules see; `Decline` where the loader would change, drop or refuse any value.

    Every value of every column read is checked, not only the month's first records the ordinary
    path checks: stricter, so a bad value outside the month makes this path decline rather than
    answer, and the rows are never copied (a cut of a million ids costs more than checking them)."""
    import pyarrow.parquet as pq  # `ParquetFile`, not `read_table`: that one imports pyarrow.dataset, and pandas

    ds = DATASETS[dataset]
    pf = pq.ParquetFile(path)
    lookup = header_lookup(ds)
    mapping: dict[str, str] = {}
    for header in (str(h) for h in pf.schema_arrow.names):
        canonical = lookup.get(norm(header))
        if canonical is None:
            continue
        if canonical in mapping.values():
            raise Decline(f"{path.name}: two headers mean {canonical}")
        mapping[header] = canonical
    if any(c.name not in mapping.values() for c in ds.required):
        raise Decline(f"{path.name}: a required column is missing")
    keep = None if wanted is None else wanted | {c.name for c in ds.required}
    chosen = [h for h, c in mapping.items() if keep is None or c in keep]
    codes = [h for h in chosen if ds.column_index[mapping[h]].kind == "enum"]
    if codes:  # codes read as a dictionary: a few distinct values to check, not a million strings to make
        pf = pq.ParquetFile(path, read_dictionary=codes)
    table = pf.read(columns=chosen, use_threads=True)
    table = table.rename_columns([mapping[h] for h in table.column_names])
    for column in ds.columns:
        if column.name in table.column_names:
            _check_column(table.column(column.name), column, path.name)
    loaded = Loaded(table, None, {}, None)
    if first is not None:
        _, key, when, _ = first
        loaded.kept, loaded.later, loaded.months = _month_first(table.column(key), table.column(when), start, end)
        release_unused()  # the cut's temporaries, before the next file's
    elif dataset == "stock_ledger":
        loaded.months = months_of(table.column("date").to_numpy())
    if wanted is None:  # read whole: the loader looks for exact duplicate rows among repeated keys
        from .keys import repeated_arrow

        found = repeated_arrow(table.column(ds.key[0])) if len(ds.key) == 1 else None
        if found is None or found.any():
            raise Decline(f"{path.name}: repeated keys (the loader compares whole rows)")
    return loaded


@dataclass
class Loaded:
    table: Any  # every row of the file, the columns read
    kept: np.ndarray | None  # the rows the rules see (the month's first records), None for all; row i is line i + 1
    months: dict[str, int]  # the file's rows per month, where the month check counts them
    later: int | None  # later rows of repeated keys (month-cut datasets)


def _month_first(key, when, start, end):
    """Which rows are each key's first dated in the month, the number of later rows of repeated
    keys in the whole file, and the file's rows per month: what `opskit.loader._month_first` keeps
    (its keys are stripped first; `_check_column` has made sure none has anything to strip)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from .keys import repeated_arrow

    if not _is_naive_time(when):
        raise Decline("a time the month cut cannot read")
    later = repeated_arrow(key)
    if later is None:
        raise Decline("keys that are not short ASCII text")
    lo, hi = pa.scalar(start, when.type), pa.scalar(end, when.type)
    in_month = pc.and_(pc.greater_equal(when, lo), pc.less(when, hi)).to_numpy(zero_copy_only=False)
    return in_month & ~later, int(later.sum()), months_of(when.to_numpy())


def _later_notice(ctx: ArrowContext, first: tuple) -> None:
    dataset, key, _, changes = first
    later = ctx.data[dataset].later
    if later:
        kind = "later_repeats" + ("_changes" if changes else "")
        ctx.notice(Notice(kind, file=ctx.files[dataset], count=later, key=key, rule=changes))


def _refuse_other_month(counts: dict[str, int], month: str) -> None:
    """The ordinary check refuses a month the data does not hold and notes data mostly of another."""
    if not counts.get(month):
        raise Decline(f"no row in {month}")
    main = max(counts.values())
    if main > 2 * counts[month]:
        raise Decline("most rows in another month")


def _is_text(kind) -> bool:
    import pyarrow as pa

    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _is_naive_time(values) -> bool:
    import pyarrow as pa

    return pa.types.is_timestamp(values.type) and values.type.tz is None


_SPACE_BYTES = np.zeros(256, dtype=bool)
_SPACE_BYTES[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True  # what `str.strip` removes among ASCII bytes


def _plain_text(values) -> bool:
    """Whether every value present is non-empty, at most Excel's cell length, does not start with `#`
    (every Excel error value does) and has no white space to strip: read from each value's first and
    last byte in the column's buffers, without a pass over its text or a stripped copy. A value
    starting or ending outside ASCII (which could be Unicode white space) gets Arrow's own test."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for chunk in values.chunks:
        if len(chunk) == chunk.null_count:
            continue
        _, offsets, data = chunk.buffers()[:3]
        wide = pa.types.is_large_string(chunk.type)
        offsets = np.frombuffer(offsets, np.int64 if wide else np.int32)[chunk.offset : chunk.offset + len(chunk) + 1]
        starts, stops = offsets[:-1], offsets[1:]
        if chunk.null_count:
            present = chunk.is_valid().to_numpy(zero_copy_only=False)
            starts, stops = starts[present], stops[present]
        sizes = stops - starts
        if sizes.min() < 1 or sizes.max() > MAX_CELL:
            return False
        body = np.frombuffer(data, np.uint8)
        first, last = body[starts], body[stops - 1]
        if _SPACE_BYTES[first].any() or _SPACE_BYTES[last].any() or (first == ord("#")).any():
            return False
        if (first >= 0x80).any() or (last >= 0x80).any():
            trimmed = pc.utf8_trim_whitespace(chunk)
            if pc.any(pc.not_equal(trimmed, chunk)).as_py() or pc.any(pc.equal(trimmed, "")).as_py():
                return False
    return True


def _check_column(values, col: Column, file: str) -> None:
    """`Decline` unless the loader would keep every value of this column exactly as it is."""
    import pyarrow as pa
    import pyarrow.compute as pc

    where = f"{file}: {col.name}"
    if col.required and values.null_count:
        raise Decline(f"{where}: a blank required value")
    if col.kind == "enum":  # the codes themselves: nothing to strip, no error value, no totals word
        if not pa.types.is_dictionary(values.type) or not _is_text(values.type.value_type):
            raise Decline(f"{where}: not text")
        spelled = {v for chunk in values.chunks for v in chunk.dictionary.to_pylist()}
        if not spelled <= set(col.values or {}):
            raise Decline(f"{where}: a spelling that is not a code")
        return
    if col.kind == "str":
        if not _is_text(values.type):
            raise Decline(f"{where}: not text")
        if values.null_count == len(values):
            return
        if not _plain_text(values):
            raise Decline(f"{where}: a blank value, white space around one, a # or an over-long cell")
        if col.required and pc.any(pc.is_in(values, value_set=pa.array(sorted(_TOTALS_SPELLINGS)))).as_py():
            raise Decline(f"{where}: a totals word")
    elif col.kind in ("timestamp", "date"):
        if not _is_naive_time(values):
            raise Decline(f"{where}: not a time without zone")
        low, high = pc.min(values).as_py(), pc.max(values).as_py()
        if low is not None and (low < _FIRST_TIME or high >= _END_TIME):
            raise Decline(f"{where}: a time nanoseconds cannot hold")
        if col.kind == "date":
            midnight = pc.floor_temporal(values, unit="day")
            if pc.any(pc.not_equal(midnight, values)).as_py():
                raise Decline(f"{where}: a date with a time of day")
    elif col.kind in ("int", "money"):
        if pa.types.is_integer(values.type):
            low, high = pc.min(values).as_py(), pc.max(values).as_py()
            if low is not None and max(abs(low), abs(high)) > _EXACT_FLOAT:
                raise Decline(f"{where}: an integer float64 cannot hold")
        elif col.kind == "money" and pa.types.is_floating(values.type):
            if pc.any(pc.is_nan(values)).as_py() and col.required:
                raise Decline(f"{where}: a blank required value")
            low = pc.min(values).as_py()
        else:
            raise Decline(f"{where}: not a number")
        if col.minimum is not None and low is not None and low < col.minimum:
            raise Decline(f"{where}: a value below the minimum")
    else:
        raise Decline(f"{where}: a {col.kind} column")


# --------------------------------------------------------------------------- measuring


def deadline(
    ctx: ArrowContext,
    rule_id: str,
    dataset: str,
    start: str,
    end: str,
    *,
    key: str,
    channel: str,
    scope: np.ndarray | None = None,
) -> Found:
    """`opskit.rule.deadline` on the calendar clock with one limit: `end` within the limit after
    `start`, to `as_of` when `end` is not recorded. A duration equal to the limit complies; an
    unrecorded event breaks only once `as_of` is past the limit (before that it is pending)."""
    rp = ctx.policy[rule_id]
    if rp.clock != "calendar" or rp.by_channel or rp.direction != "max" or rp.unit not in DURATION_UNITS:
        raise Decline(f"{rule_id}: a business clock, per-channel limits or another direction")
    if rp.limit is None:
        raise Decline(f"{rule_id}: no limit")
    began, ended = ctx.times(dataset, start), ctx.times(dataset, end)
    if began.dtype != ended.dtype:
        raise Decline(f"{rule_id}: times in different units")
    in_scope = ~np.isnat(began) & ctx.seen(dataset)
    if scope is not None:
        in_scope &= scope
    recorded = ~np.isnat(ended)
    # nanoseconds from start to end (or as_of), as pandas subtracts them, then divided by the unit in
    # nanoseconds, as pandas divides: the same float64 to the last bit; in place, one array at a time
    elapsed = np.where(recorded, ended, ctx.as_of.astype(ended.dtype)).view(np.int64)
    np.subtract(elapsed, began.view(np.int64), out=elapsed)
    np.multiply(elapsed, np.timedelta64(1, np.datetime_data(began.dtype)[0]) // np.timedelta64(1, "ns"), out=elapsed)
    observed = elapsed.astype("float64")
    del elapsed
    observed /= np.float64(DURATION_UNITS[rp.unit] * 60 * 1_000_000_000)
    at = np.flatnonzero(in_scope & (observed > rp.limit))  # past the limit: late, or open and no longer pending
    return Found(
        dataset,
        at + 1,
        ctx.texts(dataset, key, at),
        observed[at],
        np.full(len(at), rp.limit),
        np.where(recorded[at], "late", "open").tolist(),
        began[at].astype("datetime64[ns]"),
        ~recorded[at],
        channel=ctx.texts(dataset, channel, at),
    )


# --------------------------------------------------------------------------- words and the file


def _word(value: Any, kind: str, rp: RulePolicy, lang: str) -> str:
    """One parameter in words, as `opskit.render.value_text` writes it."""
    if (
        value is None
        or (isinstance(value, float) and value != value)
        or (isinstance(value, np.datetime64) and np.isnat(value))
    ):
        return fmt("missing", lang)
    if kind == "duration":
        return duration(float(value), rp.unit, lang, clock=rp.clock)
    if kind == "qty":
        return number(float(value), 2)
    if kind == "number":
        return number(float(value), 1)
    if kind == "count":
        return number(float(value), 0)
    if kind == "money":
        return money(float(value), lang)
    if kind == "date":
        return str(np.datetime_as_string(value, unit="D"))
    raise Decline(f"a {kind} parameter")


def _message(rp: RulePolicy, message_id: str, values: dict[str, Any], kinds: dict[str, str], lang: str) -> str:
    out = []
    for literal, name, _, _ in Formatter().parse(rp.template(message_id, lang)):
        out.append(literal)
        if name is not None:
            kind = UNIT_KINDS[rp.unit] if name in ("observed", "limit") else kinds[name]
            out.append(_word(values[name], kind, rp, lang))
    return "".join(out)


def _numbers(values: np.ndarray) -> list[str]:
    """Floats as the findings file writes them: rounded to 4 decimals, numpy's shortest text, blank when missing."""
    rounded = np.round(values.astype("float64"), 4)
    text = rounded.astype(str)
    return ["" if v != v else t for v, t in zip(rounded.tolist(), text.tolist(), strict=True)]


def _times(values: np.ndarray) -> list[str]:
    """`2026-10-05 14:03`, and a midnight as its date, as `opskit.render.readable_findings` writes them."""
    text = np.datetime_as_string(values.astype("datetime64[m]"), unit="m")
    out = []
    for t in text.tolist():
        t = t.replace("T", " ")
        out.append("" if t == "NaT" else t.removesuffix(" 00:00"))
    return out


def _csv(found: list[tuple[str, Found]], policy: Policy, lang: str, files: dict[str, str]) -> str:
    """The findings file, as `opskit check --format csv` writes it on the ordinary path."""
    records: list[tuple[str, str, list[str]]] = []
    total = sum(len(f.key) for _, f in found)
    if total > MAX_FINDINGS:
        raise Decline(f"{total:,} findings")
    for rule_id, f in found:
        rp = policy[rule_id]
        seen: set[str] = set()
        observed, limit = _numbers(f.observed), _numbers(f.limit)
        when = _times(f.when)
        clock = rp.clock if rp.unit in DURATION_UNITS else ""
        kinds = {name: kind for name, (kind, _) in f.params.items()}
        for i, key in enumerate(f.key):
            if key in seen:  # one finding per rule and key, the first
                continue
            seen.add(key)
            values = {name: values[i] for name, (_, values) in f.params.items()}
            values["observed"], values["limit"] = float(f.observed[i]), float(f.limit[i])
            row = int(f.rows[i])
            cells = {
                "rule_id": rule_id,
                "key": key,
                "observed": observed[i],
                "limit": limit[i],
                "unit": rp.unit,
                "message": _message(rp, f.message_id[i], values, kinds, lang),
                "severity": rp.severity,
                "dataset": f.dataset,
                "source": f"{files[f.dataset]}:{row}",
                "amount": "",
                "channel": f.channel[i] if f.channel is not None else "",
                "when": when[i],
                "open": str(bool(f.open[i])),
                "row": str(row),
                "clock": clock,
                "message_id": f.message_id[i],
            }
            records.append((rule_id, key, [_safe(name, cells[name]) for name in _COLUMNS]))
    records.sort(key=lambda r: (r[0], r[1]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)  # what pandas' to_csv uses
    writer.writerow(_COLUMNS)
    writer.writerows(r[2] for r in records)
    return out.getvalue()


_COLUMNS = [c for c in FINDINGS_COLUMNS if c != "title"]
_NUMERIC = {"observed", "limit", "amount", "open", "row"}


def _safe(name: str, text: str) -> str:
    """A text cell a spreadsheet would read as a formula, quoted (`opskit.report.files.neutralise`)."""
    return "'" + text if name not in _NUMERIC and is_risky(text) else text

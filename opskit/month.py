"""One audited month, computed once: what every report, workbook and dashboard of that month renders.

`MonthResult.compute(folder, month)` loads the month, checks every rule once, and computes what the
reviews need from other months of a data root (the promotion baselines before the month and the
dip after it, the stock-take trend, the previous month's headline figures) while the files are at
hand. After that nothing reads a data file again: the reviews (`opskit.report.review`) are pure
functions of the result, so the HTML, the Excel workbook, `findings.csv`, `kpis.json` and the
dashboards cannot disagree.

A result is saved as Parquet frames plus one JSON file (`save`/`load`), and `cached()` keeps one per
month, `as_of`, policy and input-file fingerprint, so a dashboard kernel opens a month in a fraction
of the time it takes to load and check it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .config_file import read_config
from .errors import Notice, OpskitError, OpskitNotice, PolicyError
from .loader import Data, Unloaded, load, month_folders, resolve_folder
from .policy import Policy, load_policy
from .runner import CheckResult, run_checks, select_rules

FORMAT = 2  # bump when the saved layout changes: older saved results are then recomputed
META = "month.json"
CACHE_ENV = "OPSKIT_CACHE"
LOCAL_ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class InputFile:
    """A data file the month was computed from: when it was exported is what a reader asks first."""

    dataset: str
    name: str
    size: int
    modified: pd.Timestamp  # the file's modification time, local (Asia/Shanghai) time

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "name": self.name, "size": self.size, "modified": str(self.modified)}


@dataclass
class MonthResult:
    """The loaded data, the audit period, the policy in force, the findings with each rule's status,
    the notices, the input files, and the frames and headline figures the reviews computed."""

    data: Data
    month: str
    as_of: pd.Timestamp
    policy: Policy
    findings: pd.DataFrame
    summary: pd.DataFrame
    notices: list[str]
    files: list[InputFile]
    folder: Path
    data_root: Path | None = None
    policy_doc: dict | None = None
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    kpis: dict[str, dict[str, Any]] = field(default_factory=dict)
    previous_month: str | None = None
    previous_kpis: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: pd.DataFrame | None = None  # each finding's message parameters: words are rendered late, per reader
    saved: Path | None = field(default=None, compare=False, repr=False)  # the folder it was loaded from

    # ------------------------------------------------------------------ views

    @property
    def folder_label(self) -> str:
        """The data folder as reports name it: `root/2026-10`, no absolute path in what managers read."""
        return f"{self.data_root.name}/{self.folder.name}" if self.data_root else self.folder.name

    @property
    def period(self) -> pd.Period:
        return pd.Period(self.month, "M")

    def check_result(self, rules: str | list[str] | None = None) -> CheckResult:
        """The findings and summary of the rules named (ids or prefixes), as `run_checks` gives them."""
        if rules is None:
            return CheckResult(
                self.findings, self.summary, self.month, self.as_of, self.policy, self.notices, self.params
            )
        ids = set(select_rules(rules))
        mine = self.findings["rule_id"].isin(ids)
        return CheckResult(
            self.findings[mine].reset_index(drop=True),
            self.summary[self.summary["rule_id"].isin(ids)].reset_index(drop=True),
            self.month,
            self.as_of,
            self.policy,
            self.notices,
            self.params[mine.to_numpy()].reset_index(drop=True) if self.params is not None else None,
        )

    def rule_status(self) -> pd.DataFrame:
        """Per rule: `state` ran / skipped / pending, and `why` for the skipped (a missing dataset) and
        the pending (nothing decided yet at `as_of`), so a skipped rule never reads as compliant."""
        s = self.summary
        status = s["status"].astype("str") if "status" in s else pd.Series("ran", index=s.index)
        skipped = status.str.startswith("skipped")
        pending = ~skipped & (s["checked"] == 0) & (s["pending"] > 0)
        state = pd.Series("ran", index=s.index).mask(pending, "pending").mask(skipped, "skipped")
        why = status.str.removeprefix("skipped: ").where(skipped, "")
        why = why.mask(pending, s["pending"].astype("str") + " pending at as_of")
        return pd.DataFrame({"rule_id": s["rule_id"], "state": state, "why": why})

    def skipped(self) -> dict[str, str]:
        """Rule id → why it was skipped."""
        status = self.rule_status()
        rows = status[status["state"] == "skipped"]
        return dict(zip(rows["rule_id"], rows["why"], strict=True))

    # ------------------------------------------------------------------ computing

    @classmethod
    def compute(
        cls,
        folder: str | Path,
        month: str | None = None,
        *,
        as_of: str | pd.Timestamp | None = None,
        policy: str | Path | dict | None = None,
        previous: bool = True,
    ) -> MonthResult:
        """Load and check `month` once, then let every review compute its figures.

        `folder` is one month's folder or a root of `YYYY-MM/` folders; in a root, the other months
        are read here (never later) for what the reviews show across months, and with `previous`
        the month before is computed too for the change of each headline figure.
        """
        with warnings.catch_warnings():  # the notices are part of the result: every report shows them
            warnings.simplefilter("ignore", OpskitNotice)
            return cls._compute(folder, month, as_of=as_of, policy=policy, previous=previous)

    @classmethod
    def _compute(cls, folder, month, *, as_of, policy, previous) -> MonthResult:
        from .reviews import FAMILIES

        month_folder, month = resolve_folder(Path(folder).resolve(), month)
        root = month_folder.parent if Path(folder).resolve() != month_folder else None
        folder = root or month_folder
        doc = _policy_doc(policy)
        rules_policy = load_policy(doc)
        data = load(folder, month)
        checked = run_checks(data, month, as_of, rules_policy)
        result = cls(
            data=data,
            month=checked.month,
            as_of=checked.as_of,
            policy=rules_policy,
            findings=checked.findings,
            summary=checked.summary,
            notices=list(checked.notices),
            params=checked.params,
            files=input_files(data),
            folder=month_folder,
            data_root=root,
            policy_doc=doc,
        )
        months = MonthSource(root, result.month, data)
        for family in FAMILIES:
            review_cls = family.review_class()
            for name, frame in review_cls.across_months(result, months).items():
                result.frames[f"{review_cls.name}:{name}"] = frame
        result.notices += [n for n in months.notices if n not in result.notices]
        for family in FAMILIES:
            review = family.review_class()(result)
            result.kpis[review.name] = review.kpis()
            review.tables()  # fills the frames a saved result keeps
        if previous and root is not None:
            before = str(result.period - 1)
            if before in month_folders(root):
                try:
                    prior = cls.compute(root, before, policy=doc, previous=False)
                except OpskitError as exc:
                    result.notices.append(Notice("no_previous_month", month=before, error=str(exc)))
                else:
                    result.previous_month, result.previous_kpis = before, prior.kpis
        return result

    # ------------------------------------------------------------------ saving

    def save(self, folder: str | Path) -> Path:
        """Write the result as Parquet frames and one JSON file; the folder appears whole or not at all."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.part-"))
        try:
            frames = {f"data/{name}": frame for name, frame in self.data.frames.items()}
            frames |= {f"prior/{name}": frame for name, frame in self.data.prior.items()}
            frames |= {"findings": self.findings, "summary": self.summary}
            if self.params is not None:
                frames["params"] = self.params
            frames |= {f"frames/{name.replace(':', '--')}": frame for name, frame in self.frames.items()}
            stored, objects = {}, {}
            for name, frame in frames.items():
                path = staging / f"{name}.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                _to_parquet(frame, path)
                stored[name] = path.relative_to(staging).as_posix()
                objects[name] = [str(c) for c in frame.columns if frame[c].dtype == object]
            meta = {
                "format": FORMAT,
                "month": self.month,
                "as_of": str(self.as_of),
                "folder": str(self.folder),
                "data_root": str(self.data_root) if self.data_root else None,
                "data_month": self.data.month,
                "data_files": self.data.files,
                "data_notices": [_notice_json(n) for n in self.data.notices],
                "policy_doc": self.policy_doc,
                "notices": [_notice_json(n) for n in self.notices],
                "files": [f.to_json() for f in self.files],
                "frames": sorted(self.frames),
                "kpis": self.kpis,
                "previous_month": self.previous_month,
                "previous_kpis": self.previous_kpis,
                "stored": stored,
                "object_columns": objects,
            }
            (staging / META).write_text(json.dumps(meta, ensure_ascii=False, indent=1, default=_jsonable), "utf-8")
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            if folder.exists():
                folder.rename(old)
            staging.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> MonthResult:
        """A saved result, as it was computed (no data file is read, no rule runs)."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise OpskitError(f"{folder}: not a saved month result ({exc})") from None
        if meta.get("format") != FORMAT:
            raise OpskitError(f"{folder}: saved by another version of opskit (format {meta.get('format')})")
        stored = meta["stored"]

        def read(name: str) -> pd.DataFrame:
            frame = pd.read_parquet(folder / stored[name])
            for column in meta["object_columns"].get(name, []):  # as computed: Python objects, None for blank
                values = frame[column].astype("object")
                frame[column] = values.where(values.notna(), None)
            return frame

        data = Data(
            {n.removeprefix("data/"): read(n) for n in stored if n.startswith("data/")},
            dict(meta["data_files"]),
            Path(meta["folder"]),
            meta["data_month"],
            [Notice.from_json(n) for n in meta["data_notices"]],
            prior={n.removeprefix("prior/"): read(n) for n in stored if n.startswith("prior/")},
        )
        return cls(
            data=data,
            month=meta["month"],
            as_of=pd.Timestamp(meta["as_of"]),
            policy=load_policy(meta["policy_doc"]),
            findings=read("findings"),
            summary=read("summary"),
            params=read("params") if "params" in stored else None,
            notices=[Notice.from_json(n) for n in meta["notices"]],
            files=[
                InputFile(f["dataset"], f["name"], int(f["size"]), pd.Timestamp(f["modified"])) for f in meta["files"]
            ],
            folder=Path(meta["folder"]),
            data_root=Path(meta["data_root"]) if meta["data_root"] else None,
            policy_doc=meta["policy_doc"],
            frames={name: read(f"frames/{name.replace(':', '--')}") for name in meta["frames"]},
            kpis=meta["kpis"],
            previous_month=meta["previous_month"],
            previous_kpis=meta["previous_kpis"],
            saved=folder,
        )


# --------------------------------------------------------------------------- the cache


def cache_dir() -> Path:
    """`$OPSKIT_CACHE`, else `$XDG_CACHE_HOME/opskit`, else `~/.cache/opskit`."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "opskit"


def fingerprint(
    folder: str | Path, month: str | None = None, *, as_of: Any = None, policy: str | Path | dict | None = None
) -> str:
    """What a result depends on: the month, `as_of`, the policy, every file of the root's month folders
    (name, size, modification time: a re-export changes it) and opskit's own code."""
    month_folder, month = resolve_folder(folder, month)
    root = month_folder.parent if Path(folder).resolve() != month_folder.resolve() else None
    folders = [root / m for m in month_folders(root)] if root else [month_folder]
    files = sorted(p for f in folders for p in f.rglob("*"))  # the months' files only: a log beside them is no input
    h = hashlib.sha256()
    where = str(Path(folder).resolve())
    h.update(json.dumps([FORMAT, where, str(month), str(as_of), _policy_doc(policy)], default=str).encode())
    for path in files:
        if path.is_file():
            st = path.stat()
            h.update(f"{path.relative_to(month_folder.parent)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    package = Path(__file__).parent
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".yaml"):
            st = path.stat()
            h.update(f"{path.relative_to(package)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def cached(
    folder: str | Path,
    month: str | None = None,
    *,
    as_of: str | pd.Timestamp | None = None,
    policy: str | Path | dict | None = None,
    directory: str | Path | None = None,
) -> MonthResult:
    """The month's result from the cache when its inputs are unchanged, else computed and saved there.

    An unreadable cache entry is recomputed; a cache folder that cannot be written only costs speed.
    """
    month_folder, month = resolve_folder(folder, month)
    key = fingerprint(folder, month, as_of=as_of, policy=policy)
    entry = Path(directory or cache_dir()) / f"{month}-{key}"
    with _entry_lock(entry):  # viewers opening the same month at once wait for one computation
        if (entry / META).exists():
            try:
                return MonthResult.load(entry)
            except (OpskitError, OSError, ValueError, KeyError):
                pass  # stale or damaged: compute it again
        result = MonthResult.compute(folder, month, as_of=as_of, policy=policy)
        try:
            result.saved = result.save(entry)
            _prune(entry.parent, month, keep=entry)
        except OSError:
            pass
        return result


@contextlib.contextmanager
def _entry_lock(entry: Path):
    """An exclusive lock beside a cache entry (none where the cache folder cannot be written)."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        handle = open(entry.with_name(entry.name + ".lock"), "a")  # noqa: SIM115 - held for the block
    except OSError:
        yield
        return
    with handle:
        try:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        except (ImportError, OSError):
            pass  # no advisory locks here: at worst two viewers compute the same month
        yield


KEEP_PER_MONTH = 4


def _prune(directory: Path, month: str, keep: Path) -> None:
    """Keep the newest few entries of a month: older fingerprints are re-exports nobody asks for again."""
    entries = [p for p in directory.glob(f"{month}-*") if p.is_dir() and p != keep]
    entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP_PER_MONTH - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
        old.with_name(old.name + ".lock").unlink(missing_ok=True)


def open_review(
    review: str | type,
    folder: str | Path,
    month: str | None = None,
    *,
    as_of: str | pd.Timestamp | None = None,
    policy: str | Path | dict | None = None,
    lang: str = "zh",
    audience: str = "analyst",
    saved: str | Path | None = None,
    strict: bool = True,
    cache: bool = True,
    history: str | bool | None = None,
):
    """A review (its class, or its notebook's name) of one month: from a saved result when `saved`
    names one (what the batch's notebooks do), else from the cache, else computed.

    With `strict=False` bad data becomes the review's `error` message instead of an exception,
    which is what a dashboard shows. `history` is the history store's URL (or file) for earlier months
    and follow-ups; without one the month before is read from the data root; `False` skips them.
    """
    from .reviews import BY_NOTEBOOK

    cls = BY_NOTEBOOK[review].review_class() if isinstance(review, str) else review
    try:
        if saved:
            result = MonthResult.load(saved)
        elif cache:
            result = cached(folder, month, as_of=as_of, policy=policy)
        else:
            result = MonthResult.compute(folder, month, as_of=as_of, policy=policy)
    except OpskitError as exc:
        if strict:
            raise
        review = cls(None, lang, audience, error=str(exc))
        review.data = Unloaded(exc)  # a notebook's `data` raises the load's own error on use, not a TypeError
        return review
    review = cls(result, lang, audience)
    if history is not False:
        review.history_url = history or None
        review._history_from = {"data_root": folder, "as_of": as_of, "policy": policy}
    return review


# --------------------------------------------------------------------------- helpers


def input_files(data: Data) -> list[InputFile]:
    """Name, size and modification time of each dataset's file."""
    out = []
    for dataset, name in data.files.items():
        path = data.folder / name
        try:
            st = path.stat()
        except OSError:
            continue
        modified = pd.Timestamp(st.st_mtime, unit="s", tz="UTC").tz_convert(LOCAL_ZONE).tz_localize(None).floor("s")
        out.append(InputFile(dataset, name, st.st_size, modified))
    return out


class MonthSource:
    """Other months of the data root, each loaded at most once; a month that cannot be read becomes
    a notice (its own review reports the error) and is left out of the figures that span months."""

    def __init__(self, root: Path | None, month: str, data: Data) -> None:
        self.root, self.loaded, self.notices = root, {month: data}, []
        self.available = set(month_folders(root)) if root else {month}

    def __call__(self, month: str) -> Data | None:
        if month not in self.loaded:
            if month not in self.available:
                return None
            try:
                self.loaded[month] = load(self.root, month)
            except OpskitError as exc:
                self.notices.append(Notice("left_out_across_months", month=month, error=str(exc)))
                self.loaded[month] = None
        return self.loaded[month]

    def months(self) -> list[str]:
        return sorted(self.available)


def _notice_json(notice: str) -> str | dict[str, Any]:
    """A notice as saved: its template and parameters, so a loaded month says it in any language."""
    return notice.to_json() if isinstance(notice, Notice) else str(notice)


def _policy_doc(policy: str | Path | dict | None) -> dict | None:
    """The user's policy overrides as a mapping (what the saved result keeps to rebuild the policy)."""
    if policy is None or isinstance(policy, dict):
        return policy
    if isinstance(policy, Policy):
        raise OpskitError("pass the policy file or its mapping, not a built Policy, to compute a month")
    path = Path(policy)
    doc = read_config(path, lambda problem: PolicyError(f"{path.name}: {problem}"))
    doc = {} if doc is None else doc
    if not isinstance(doc, dict):
        raise PolicyError(f"{path.name}: expected a mapping with `rules:`, got {type(doc).__name__}")
    load_policy(doc)  # refuse a bad policy here, with its message
    return doc


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Parquet keeps the dtypes; object columns mixing types (a table's `value`) are stored as text."""
    out = frame.copy()
    out.columns = [str(c) for c in out.columns]
    for column in out.columns:
        if out[column].dtype == object:
            kinds = {type(v) for v in out[column].dropna()}
            if len(kinds) > 1:
                out[column] = out[column].map(lambda v: v if v is None or v != v else str(v))
    out.to_parquet(path, index=False)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)

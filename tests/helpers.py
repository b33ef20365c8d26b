"""Small data folders written as CSV with canonical headers, so rule tests read like the spec."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pandas as pd

import opskit

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data_samples"


def write(folder: Path, **datasets: list[dict] | pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in datasets.items():
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


_RESULTS: dict[int, tuple[pd.DataFrame, opskit.CheckResult]] = {}


def audit(folder: Path, month: str = "2026-10", **kw) -> pd.DataFrame:
    """The findings, as `opskit.check` returns them; `summary_row` and `notices` find the audit behind them."""
    result = opskit.run_checks(opskit.load(folder), month=month, **kw)
    _RESULTS[id(result.findings)] = (result.findings, result)
    return result.findings


def result_of(findings: pd.DataFrame) -> opskit.CheckResult:
    return _RESULTS[id(findings)][1]


def notices(findings: pd.DataFrame) -> list[str]:
    return result_of(findings).notices


def keys(findings: pd.DataFrame, rule_id: str | None = None) -> set:
    if rule_id:
        return set(findings.loc[findings["rule_id"] == rule_id, "key"])
    return set(zip(findings["rule_id"], findings["key"], strict=True))


def summary_row(findings: pd.DataFrame, rule_id: str) -> dict:
    table = opskit.summary(findings, result_of(findings).checked)
    return table.set_index("rule_id").loc[rule_id].to_dict()


def report_entries(out: Path) -> list[str]:
    """What an output folder holds besides the month locks (`.YYYY-MM.lock`, kept between runs) and the
    history store every run records itself in (`opskit-history.sqlite`)."""
    return sorted(
        p.name
        for p in out.iterdir()
        if not (p.name.startswith(".") and p.name.endswith(".lock")) and not p.name.startswith("opskit-history.sqlite")
    )


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (kernels run in their own sessions, so the group is not enough)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"

"""Run the rules for one month and turn their outcomes into the findings table and a rule summary."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import OpskitError
from .loader import Data, MonthFirst, load, resolve_folder
from .policy import Policy, load_policy
from .rule import FINDING_COLUMNS, Context, all_rules, columns_needed, month_first_needed

COLUMNS = [
    "rule_id",
    "key",
    "observed",
    "limit",
    "unit",
    "message",
    "severity",
    "dataset",
    "source",
    "amount",
    "channel",
    "when",
    "open",
    "title",
]
SUMMARY_COLUMNS = [
    "rule_id",
    "title",
    "title_zh",
    "source_clause",
    "checked",
    "failed",
    "share_failed",
    "pending",
    "status",
]


@dataclass
class CheckResult:
    findings: pd.DataFrame
    summary: pd.DataFrame
    month: str
    as_of: pd.Timestamp
    policy: Policy
    notices: list[str] = field(default_factory=list)


def parse_month(month: str | None, data: Data | None) -> pd.Period:
    text = month or (data.month if data is not None else None)
    if not text:
        raise OpskitError("no month given and the data folder is not named YYYY-MM: pass month='2026-10'")
    match = re.fullmatch(r"\s*(\d{4})\s*[-/年]\s*(\d{1,2})\s*月?\s*", str(text))
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise OpskitError(f"month {text!r} is not a month like 2026-10")
    return pd.Period(f"{match.group(1)}-{int(match.group(2)):02d}", freq="M")


def parse_as_of(as_of: str | pd.Timestamp | None, month: pd.Period) -> pd.Timestamp:
    if as_of is None:
        return (month + 1).start_time
    try:
        stamp = pd.Timestamp(as_of)
    except (ValueError, TypeError):
        raise OpskitError(f"as_of {as_of!r} is not a time like '2026-11-01 00:00'") from None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("Asia/Shanghai").tz_localize(None)
    return stamp


def select_rules(rules: str | list[str] | None) -> list[str]:
    """Rule ids or prefixes (`ORD`, `CS-001`) → the registered ids they name, in spec order."""
    known = sorted(all_rules())
    if rules is None:
        return known
    wanted = [r.strip().upper() for r in (rules.split(",") if isinstance(rules, str) else rules) if r.strip()]
    chosen = []
    for item in wanted:
        hits = [r for r in known if r == item or r.startswith(item.rstrip("-") + "-")]
        if not hits:
            raise OpskitError(f"unknown rule id or prefix {item!r}; known: {', '.join(known)}")
        chosen += [h for h in hits if h not in chosen]
    return sorted(chosen)


def _month_first_plan(
    folder: str | Path, month: str | None, chosen: list[str], needed: dict[str, set[str] | None]
) -> dict[str, MonthFirst]:
    """What the loader may cut to the month's first records before parsing: the datasets that every
    chosen rule reads only that way, when the month is known before loading."""
    try:
        _, folder_month = resolve_folder(folder, month)
        period = parse_month(month or folder_month, None)
    except OpskitError:
        return {}  # loading reports the problem with the folder or the month in full
    start, end = period.start_time, (period + 1).start_time
    return {
        dataset: MonthFirst(key, when, start, end, str(period))
        for dataset, (key, when) in month_first_needed(chosen).items()
        if needed.get(dataset) is not None  # a dataset read whole is checked whole for exact duplicates
    }


def run_checks(
    data: Data | str | Path,
    month: str | None = None,
    as_of: str | pd.Timestamp | None = None,
    policy: Policy | str | Path | dict | None = None,
    rules: str | list[str] | None = None,
) -> CheckResult:
    """Check `month` of `data`: the findings, the per-rule summary and what was skipped and why."""
    if not isinstance(data, Data):
        chosen = select_rules(rules)
        needed = columns_needed(chosen)
        plan = _month_first_plan(data, month, chosen, needed)
        data = load(data, month, datasets=set(needed) | {"products"}, columns=needed, month_first=plan)
    policy = policy if isinstance(policy, Policy) else load_policy(policy)
    period = parse_month(month, data)
    ctx = Context(data, period, parse_as_of(as_of, period), policy, notices=list(data.notices))
    parts, rows = [], []
    for rule_id in select_rules(rules):
        rule, rp = all_rules()[rule_id], policy[rule_id]
        absent = [d for d in rule.needs if not ctx.has(d)]
        base = {"rule_id": rule_id, "title": rp.title_en, "title_zh": rp.title_zh, "source_clause": rp.source}
        if absent:
            ctx.notice(f"{rule_id} skipped: no {', '.join(absent)} dataset")
            rows.append({**base, "checked": 0, "failed": 0, "pending": 0, "status": f"skipped: no {', '.join(absent)}"})
            continue
        outcome = rule.fn(ctx)
        found = outcome.findings.drop_duplicates("key")
        if len(found):
            found = found.assign(rule_id=rule_id, unit=rp.unit, severity=rp.severity, title=rp.title_en)
            found["source"] = data.source(found["dataset"].iloc[0], found["row"]).where(found["row"].notna(), "")
            parts.append(found)
        rows.append(
            {**base, "checked": outcome.checked, "failed": len(found), "pending": outcome.pending, "status": "ran"}
        )
    findings = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FINDING_COLUMNS)
    findings = findings.reindex(columns=COLUMNS)
    findings["rule_id"] = findings["rule_id"].astype("str")
    findings["key"] = findings["key"].astype("str")
    findings = findings.sort_values(["rule_id", "key"], kind="stable").reset_index(drop=True)
    summary = pd.DataFrame(rows, columns=[c for c in SUMMARY_COLUMNS if c != "share_failed"])
    summary["share_failed"] = (summary["failed"] / summary["checked"].where(summary["checked"] > 0)).round(4)
    summary = summary[SUMMARY_COLUMNS]
    return CheckResult(findings, summary, str(period), ctx.as_of, policy, ctx.notices)


def check(
    data: Data | str | Path,
    month: str | None = None,
    as_of: str | pd.Timestamp | None = None,
    policy: Policy | str | Path | dict | None = None,
    rules: str | list[str] | None = None,
) -> pd.DataFrame:
    """The findings table (one row per rule and key); its `attrs` carry the rule summary and notices."""
    result = run_checks(data, month, as_of, policy, rules)
    findings = result.findings
    findings.attrs.update(summary=result.summary, notices=result.notices, month=result.month, as_of=str(result.as_of))
    return findings


def summary(findings: pd.DataFrame) -> pd.DataFrame:
    """The per-rule summary (rule id, title, checked, failed, share failed) of a `check` result."""
    return findings.attrs["summary"]

"""Run the rules for one month and turn their measurements into the findings table and a rule summary.

What every rule shares is decided here, once: the comparison of `observed` with `limit` by the
policy's `direction`, pending versus breached, the finding rows, and the words — each message and
title is rendered from the rule's templates in the reader's language (`lang`, by default the
policy's), after the rule has measured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import OpskitError
from .loader import Data, load
from .locale import check_lang
from .policy import Policy, RulePolicy, load_policy
from .render import render_messages, rule_text
from .rule import FINDING_COLUMNS, PARAM_PREFIX, Context, Measurement, Rule, all_rules, columns_needed

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
    "message_id",
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
    """One month checked: findings (messages in `lang`), summary, and each finding's message parameters
    (`params`, aligned with `findings`), kept so the same findings can be rendered again in another
    language or masked for managers (`messages`)."""

    findings: pd.DataFrame
    summary: pd.DataFrame
    month: str
    as_of: pd.Timestamp
    policy: Policy
    notices: list[str] = field(default_factory=list)
    params: pd.DataFrame | None = None
    lang: str = "zh"

    def messages(self, lang: str | None = None, *, mask: bool = False) -> pd.Series:
        """The findings' messages in `lang`; with `mask=True` personal parameters are masked."""
        params = self.params if self.params is not None else pd.DataFrame(index=self.findings.index)
        return render_findings(self.findings, params, self.policy, lang or self.lang, mask=mask)

    def titles(self, lang: str | None = None) -> pd.Series:
        """Each finding's rule title in `lang`, filled from the policy in force."""
        lang = check_lang(lang or self.lang)
        titles = {r: rule_text(self.policy[r], "title", lang) for r in self.findings["rule_id"].unique()}
        return self.findings["rule_id"].map(titles).astype("object")


def _aligned(value, items: pd.DataFrame) -> pd.Series:
    """A measurement's field on the scope's index: a column name, a Series (cut to the scope) or a scalar."""
    if isinstance(value, str) and value in items.columns:
        return items[value]
    if isinstance(value, pd.Series):
        return value.reindex(items.index)
    return pd.Series(value, index=items.index, dtype="object" if isinstance(value, str) or value is None else None)


def breaks(direction: str, observed: pd.Series, limit: pd.Series) -> pd.Series:
    """Where `observed` breaks `limit` in the rule's direction; a missing value never breaks by itself."""
    if direction == "max":
        return observed > limit
    if direction == "min":
        return observed < limit
    if direction == "abs_max":
        return observed.abs() > limit
    if direction == "eq":
        return observed.notna() & limit.notna() & (observed != limit)
    return pd.Series(False, index=observed.index)


def judge(rule: Rule, rp: RulePolicy, m: Measurement) -> tuple[int, int, pd.DataFrame]:
    """Items checked, items pending, and the finding rows (message ids and parameters, not yet words)."""
    items = m.items
    observed = pd.to_numeric(_aligned(m.observed, items), errors="coerce").astype("float64")
    limit = pd.to_numeric(_aligned(m.limit, items), errors="coerce").astype("float64")
    pending = _aligned(m.pending, items).fillna(False).astype(bool)
    broken = breaks(rp.direction, observed, limit)
    if m.breached is not None:
        broken = broken | _aligned(m.breached, items).fillna(False).astype(bool)
    broken = broken & ~pending
    checked = m.checked if m.checked is not None else int((~pending).sum())
    bad = items[broken]
    rows = pd.DataFrame(
        {
            "key": _aligned(m.key, bad).astype("str"),
            "observed": observed[broken],
            "limit": limit[broken],
            "message_id": (m.message.reindex(bad.index) if isinstance(m.message, pd.Series) else m.message),
            "row": bad["_row"] if "_row" in bad else pd.Series(pd.NA, index=bad.index, dtype="Int64"),
            "amount": pd.to_numeric(_aligned(m.amount, bad), errors="coerce").astype("float64"),
            "channel": _aligned(m.channel, bad).astype("object") if m.channel is not None else None,
            "when": _aligned(m.when, bad) if m.when is not None else pd.NaT,
            "open": _aligned(m.open, bad).astype(bool),
            "dataset": m.dataset,
        },
        index=bad.index,
    )
    for name, value in m.params.items():
        rows[PARAM_PREFIX + name] = _aligned(value, bad)
    return checked, int(pending.sum()), rows.reset_index(drop=True)


def render_findings(
    findings: pd.DataFrame, params: pd.DataFrame, policy: Policy, lang: str, *, mask: bool = False
) -> pd.Series:
    """Messages of `findings` in `lang`, from each rule's templates and the parameters in `params`."""
    lang = check_lang(lang)
    rules = all_rules()
    values = params.rename(columns=lambda c: c.removeprefix(PARAM_PREFIX))
    values = values.assign(observed=findings["observed"], limit=findings["limit"], _rule=findings["rule_id"])
    parts = [
        render_messages(
            policy[rule_id], findings.loc[part.index, "message_id"], part, rules[rule_id].params, lang, mask=mask
        )
        for rule_id, part in values.groupby("_rule", sort=False)
    ]
    if not parts:
        return pd.Series("", index=findings.index, dtype="object")
    return pd.concat(parts).reindex(findings.index)


def parse_month(month: str | None, data: Data) -> pd.Period:
    text = month or data.month
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


def run_checks(
    data: Data | str | Path,
    month: str | None = None,
    as_of: str | pd.Timestamp | None = None,
    policy: Policy | str | Path | dict | None = None,
    rules: str | list[str] | None = None,
    lang: str | None = None,
) -> CheckResult:
    """Check `month` of `data`: the findings, the per-rule summary and what was skipped and why.

    Messages and titles are in `lang` (`zh` or `en`; by default the policy's `lang`, `zh` as shipped).
    """
    if not isinstance(data, Data):
        chosen = select_rules(rules)
        needed = columns_needed(chosen)
        data = load(data, month, datasets=set(needed) | {"products"}, columns=needed)
    policy = policy if isinstance(policy, Policy) else load_policy(policy)
    lang = check_lang(lang or policy.lang)
    period = parse_month(month, data)
    ctx = Context(data, period, parse_as_of(as_of, period), policy, notices=list(data.notices))
    parts, rows = [], []
    for rule_id in select_rules(rules):
        rule, rp = all_rules()[rule_id], policy[rule_id]
        absent = [d for d in rule.needs if not ctx.has(d)]
        title = rule_text(rp, "title", lang)
        base = {
            "rule_id": rule_id,
            "title": title,
            "title_zh": rule_text(rp, "title", "zh"),
            "source_clause": rp.source,
        }
        if absent:
            ctx.notice(f"{rule_id} skipped: no {', '.join(absent)} dataset")
            rows.append({**base, "checked": 0, "failed": 0, "pending": 0, "status": f"skipped: no {', '.join(absent)}"})
            continue
        checked, pending, found = judge(rule, rp, rule.fn(ctx))
        found = found.drop_duplicates("key")
        if len(found):
            found = found.assign(rule_id=rule_id, unit=rp.unit, severity=rp.severity, title=title)
            found["source"] = data.source(found["dataset"].iloc[0], found["row"]).where(found["row"].notna(), "")
            parts.append(found)
        rows.append({**base, "checked": checked, "failed": len(found), "pending": pending, "status": "ran"})
    found_all = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FINDING_COLUMNS)
    found_all = found_all.reindex(columns=[*COLUMNS, *(c for c in found_all.columns if c.startswith(PARAM_PREFIX))])
    found_all["rule_id"] = found_all["rule_id"].astype("str")
    found_all["key"] = found_all["key"].astype("str")
    found_all = found_all.sort_values(["rule_id", "key"], kind="stable").reset_index(drop=True)
    params = found_all[[c for c in found_all.columns if c.startswith(PARAM_PREFIX)]]
    findings = found_all[COLUMNS].copy()
    findings["message"] = render_findings(findings, params, policy, lang)
    summary = pd.DataFrame(rows, columns=[c for c in SUMMARY_COLUMNS if c != "share_failed"])
    summary["share_failed"] = (summary["failed"] / summary["checked"].where(summary["checked"] > 0)).round(4)
    summary = summary[SUMMARY_COLUMNS]
    return CheckResult(findings, summary, str(period), ctx.as_of, policy, ctx.notices, params, lang)


def check(
    data: Data | str | Path,
    month: str | None = None,
    as_of: str | pd.Timestamp | None = None,
    policy: Policy | str | Path | dict | None = None,
    rules: str | list[str] | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """The findings table (one row per rule and key), messages and titles in `lang` (default: the
    policy's); its `attrs` carry the rule summary and notices."""
    result = run_checks(data, month, as_of, policy, rules, lang)
    findings = result.findings
    findings.attrs.update(summary=result.summary, notices=result.notices, month=result.month, as_of=str(result.as_of))
    return findings


def summary(findings: pd.DataFrame) -> pd.DataFrame:
    """The per-rule summary (rule id, title, checked, failed, share failed) of a `check` result."""
    return findings.attrs["summary"]

"""Run the rules for one month and turn their measurements into the findings table and a rule summary.

What every rule shares is decided here, once: the comparison of `observed` with `limit` by the
policy's `direction`, pending versus breached, the finding rows, and the words — each message and
title is rendered from the rule's templates in the reader's language (`lang`, by default the
policy's), after the rule has measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import Notice, OpskitError, notify
from .loader import Data, MonthFirst, load, release_unused, resolve_folder
from .locale import check_lang
from .parsing import to_period
from .policy import DURATION_UNITS, Policy, RulePolicy, load_policy
from .render import render_messages, rule_text
from .rule import (
    FINDING_COLUMNS,
    PARAM_PREFIX,
    Context,
    Measurement,
    Rule,
    all_rules,
    breaks,
    columns_needed,
    month_first_needed,
)
from .schema import CHANNELS, CS_CHANNELS, FINDINGS_COLUMNS

COLUMNS = FINDINGS_COLUMNS
CHANNEL_TYPE = pd.CategoricalDtype([*CHANNELS, *CS_CHANNELS])  # the loaded frames' channel values, shop and service
# Where each dataset dates its rows into a month (SPEC §2): what "the data's month" is read from.
MONTH_DATED = {
    "orders": "created_at",
    "cs_tickets": "created_at",
    "promotions": "start_at",
    "stock_ledger": "date",
    "stock_counts": "count_date",
}
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
    """One audit: the findings (a plain DataFrame, messages in `lang`), the per-rule summary (rules that
    ran with no finding included) and the notices; `checked` is what `opskit.summary` needs beside any
    subset. `params` (aligned with `findings`) keeps each finding's message parameters, so the same
    findings can be rendered again in another language or masked for managers (`messages`)."""

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

    @property
    def checked(self) -> pd.DataFrame:
        """Per rule: items decided, items pending, and whether it ran: what filtering findings cannot tell."""
        return self.summary[["rule_id", "checked", "pending", "status"]]


def _aligned(value, items: pd.DataFrame) -> pd.Series:
    """A measurement's field on the scope's index: a column name, a Series (cut to the scope) or a scalar."""
    if isinstance(value, str) and value in items.columns:
        return items[value]
    if isinstance(value, pd.Series):
        return value.reindex(items.index)
    return pd.Series(value, index=items.index, dtype="object" if isinstance(value, str) or value is None else None)


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


def parse_month(month: str | pd.Period | None, data: Data) -> pd.Period:
    """The audited month, in any spelling `to_period` reads; the data folder's month when none is given."""
    text = month or data.month
    if not text:
        raise OpskitError("no month given and the data folder is not named YYYY-MM: pass month='2026-10'")
    return to_period(text)


def parse_as_of(as_of: str | pd.Timestamp | None, month: pd.Period) -> pd.Timestamp:
    """The moment of the audit (default: the first instant of the next month); never before the month starts."""
    if as_of is None:
        return (month + 1).start_time
    try:
        stamp = pd.Timestamp(as_of)
    except (ValueError, TypeError):
        raise OpskitError(f"as_of {as_of!r} is not a time like '2026-11-01 00:00'") from None
    if stamp is pd.NaT:
        raise OpskitError(f"as_of {as_of!r} is not a time like '2026-11-01 00:00'")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("Asia/Shanghai").tz_localize(None)
    if stamp < month.start_time:
        raise OpskitError(
            f"as_of {stamp:%Y-%m-%d %H:%M} is before {month} starts ({month.start_time:%Y-%m-%d %H:%M}): "
            f"nothing of the month had happened yet, every deadline would read as pending"
        )
    return stamp


def rows_by_month(data: Data) -> pd.Series:
    """Rows per month over the month-dated datasets (orders, tickets, promotions, ledger, counts, write-offs)."""
    totals: dict[str, int] = {}
    cut = getattr(data, "month_first", {})
    for name, column in MONTH_DATED.items():
        if name in cut and cut[name][1] == column:
            counted = cut[name][4]  # the loader counted the whole file before keeping the month's first records
        elif name in data.frames and column in data[name]:
            counted = _months(data[name][column])
        else:
            continue
        for month, n in counted.items():
            totals[month] = totals.get(month, 0) + n
    if "finance_writeoffs" in data.frames:
        for month, n in data["finance_writeoffs"]["month"].dropna().astype("str").value_counts().items():
            totals[month] = totals.get(month, 0) + int(n)
    if not totals:
        return pd.Series(dtype="int64")
    return pd.Series(totals, dtype="int64").sort_values(ascending=False, kind="stable")


def _months(times: pd.Series) -> dict[str, int]:
    """Rows per `YYYY-MM` of a time column, counted on month numbers (no text per row)."""
    from .loader import months_of

    return months_of(times.to_numpy(dtype="datetime64[ns]"))


def refuse_impossible_month(data: Data, period: pd.Period) -> list[str]:
    """An audit of a month the data does not hold would report every missing record as a breach.

    A data folder named for another month, or no row of the month in any dataset, is an error; data
    whose rows mostly fall in another month (a folder not named by month) gives a notice, since an
    analyst may mean it (auditing the tail of a longer export)."""
    month = str(period)
    if data.month and data.month != month:
        raise OpskitError(
            f"the data is {data.month}'s ({data.folder}) but the audit asks for {month}: "
            f"load the {month} folder, or check month={data.month!r}"
        )
    if not any(name in data.frames for name in (*MONTH_DATED, "finance_writeoffs")):
        return []  # only reference data (products, customers) loaded: nothing is dated
    counts = rows_by_month(data)
    if counts.get(month, 0) == 0:
        held = ", ".join(f"{m} ({n:,} rows)" for m, n in counts.sort_index().items()) or "no dated rows at all"
        raise OpskitError(
            f"no row of any dataset falls in {month} (orders and tickets by created_at, promotions by start_at, "
            f"ledger by date, counts by count_date, write-offs by month): the data holds {held}; "
            f"pass the month the data is for"
        )
    main = counts.idxmax()
    if main != month and counts[main] > 2 * counts[month]:
        return [
            Notice(
                "mostly_other_month", main=main, main_rows=f"{counts[main]:,}", rows=f"{counts[month]:,}", month=month
            )
        ]
    return []


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
    folder: str | Path, month: str | pd.Period | None, chosen: list[str], needed: dict[str, set[str] | None]
) -> dict[str, MonthFirst]:
    """What the loader may cut to the month's first records before parsing: the datasets that every
    chosen rule reads only that way, when the month is known before loading."""
    try:
        _, folder_month = resolve_folder(folder, month)
        text = month or folder_month
        if not text:
            return {}
        period = to_period(text)
    except OpskitError:
        return {}  # loading and the month check report the problem in full
    start, end = period.start_time, (period + 1).start_time
    return {
        dataset: MonthFirst(key, when, start, end, str(period))
        for dataset, (key, when) in month_first_needed(chosen).items()
        if needed.get(dataset) is not None  # a dataset read whole is checked whole for exact duplicates
    }


def run_checks(
    data: Data | str | Path,
    month: str | pd.Period | None = None,
    as_of: str | pd.Timestamp | None = None,
    policy: Policy | str | Path | dict | None = None,
    rules: str | list[str] | None = None,
    lang: str | None = None,
) -> CheckResult:
    """Check `month` of `data`: the findings, the per-rule summary and what was skipped and why.

    Refuses audits that would lie: a month other than the data folder's, a month without a single row
    in any dataset, an `as_of` before the month starts. Notices are issued as `OpskitNotice` warnings.
    Messages and titles are in `lang` (`zh` or `en`; by default the policy's `lang`, `zh` as shipped)."""
    if not isinstance(data, Data):
        chosen = select_rules(rules)
        needed = columns_needed(chosen)
        plan = _month_first_plan(data, month, chosen, needed)
        data = load(data, month, datasets=set(needed) | {"products"}, columns=needed, month_first=plan)
    policy = policy if isinstance(policy, Policy) else load_policy(policy)
    lang = check_lang(lang or policy.lang)
    period = parse_month(month, data)
    stamp = parse_as_of(as_of, period)
    ctx = Context(data, period, stamp, policy, notices=list(data.notices))
    for text in refuse_impossible_month(data, period):
        ctx.notice(text)
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
            ctx.notice(Notice("rule_skipped", rule=rule_id, datasets=", ".join(absent)))
            rows.append({**base, "checked": 0, "failed": 0, "pending": 0, "status": f"skipped: no {', '.join(absent)}"})
            continue
        checked, pending, found = judge(rule, rp, rule.fn(ctx))
        release_unused()  # a rule's Arrow temporaries are not kept beside the next rule's numpy ones
        found = found.drop_duplicates("key")
        if len(found):
            found = found.assign(rule_id=rule_id, unit=rp.unit, severity=rp.severity, title=title, clock=clock_of(rp))
            found["source"] = data.source(found["dataset"].iloc[0], found["row"]).where(found["row"].notna(), "")
            parts.append(found)
        rows.append({**base, "checked": checked, "failed": len(found), "pending": pending, "status": "ran"})
    found_all = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FINDING_COLUMNS)
    found_all = found_all.reindex(columns=[*COLUMNS, *(c for c in found_all.columns if c.startswith(PARAM_PREFIX))])
    found_all = found_all.sort_values(["rule_id", "key"], kind="stable").reset_index(drop=True)
    params = found_all[[c for c in found_all.columns if c.startswith(PARAM_PREFIX)]]
    findings = found_all[COLUMNS].copy()
    findings["message"] = render_findings(findings, params, policy, lang)
    findings = typed_findings(findings)
    summary = pd.DataFrame(rows, columns=[c for c in SUMMARY_COLUMNS if c != "share_failed"])
    summary["share_failed"] = (summary["failed"] / summary["checked"].where(summary["checked"] > 0)).round(4)
    summary = summary[SUMMARY_COLUMNS]
    notify(ctx.notices[len(data.notices) :])  # the load's own notices were issued when it loaded
    return CheckResult(findings, summary, str(period), ctx.as_of, policy, ctx.notices, params, lang)


def clock_of(rp) -> str | None:
    """The clock a duration rule measures on (`calendar` or `business`); none for other rules."""
    return rp.clock if rp.unit in DURATION_UNITS else None


def typed_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """The same dtypes whatever the month, so two months' findings concatenate, merge and write to Parquet."""
    return findings.astype(
        {
            "rule_id": "str",
            "key": "str",
            "observed": "float64",
            "limit": "float64",
            "unit": "str",
            "message": "str",
            "severity": "str",
            "dataset": "str",
            "source": "str",
            "amount": "float64",
            "channel": CHANNEL_TYPE,
            "when": "datetime64[ns]",
            "open": "bool",
            "title": "str",
            "row": "Int64",
            "clock": "str",
            "message_id": "str",
        }
    )


def check(
    data: Data | str | Path,
    month: str | pd.Period | None = None,
    as_of: str | pd.Timestamp | None = None,
    policy: Policy | str | Path | dict | None = None,
    rules: str | list[str] | None = None,
    lang: str | None = None,
) -> pd.DataFrame:
    """Check one month of data against the operating rules; one row per rule and key that broke it.

    Parameters
    ----------
    data : the result of `opskit.load`, or a folder (a month folder, or a root of `YYYY-MM/` folders).
    month : the audited month: `"2026-10"`, `"2026/10"`, `"2026年10月"` or `"2026-9"` (default: the
        folder's month). A month the data does not hold is refused rather than reported as all missing.
    as_of : the moment of the audit (default: the first instant of the next month). A deadline whose
        event is not recorded is a finding only once `as_of` is past it; before the month starts is refused.
    policy : a policy YAML file, a mapping of the same shape (`{"rules": {"ORD-003": {"limit": 48}}}`) or a
        `Policy`; overrides the shipped thresholds.
    rules : rule ids or prefixes, `"ORD-003,CS"` or `["STK"]` (default: all 34).
    lang : `"zh"` or `"en"`, the language of `message` and `title` (default: the policy's `lang`, zh as
        shipped); every other column is the same in both.

    Returns
    -------
    A plain DataFrame (nothing in `attrs`: it concatenates, merges and writes to Parquet) with columns
    rule_id, key (the order, ticket, promotion, SKU or date), observed and limit (in `unit`), unit,
    message, severity, dataset (where the row is), source (`file:row`), amount (money at stake), channel
    (categorical, the loaded frames' values), when (the item's date), open (deadline event still
    missing), title, row (the file line, numeric), clock (`calendar`/`business` for durations) and
    message_id (which outcome of the rule the message states; its template is in the policy).

    Notices (duplicates dropped, rules skipped) are issued as `opskit.OpskitNotice` warnings and logged
    to the `opskit` logger. `opskit.summary(findings, checked)` gives checked / failed / share per rule;
    `opskit.run_checks` returns the findings with that `checked` table.

    Example
    -------
    >>> data = opskit.load("data_samples", month="2026-10")
    >>> findings = opskit.check(data, month="2026-10")
    >>> findings[findings.channel == "tmall"].groupby("rule_id").size()
    >>> opskit.rows(findings[findings.rule_id == "ORD-003"], data)  # the orders behind them
    """
    return run_checks(data, month, as_of, policy, rules, lang).findings


def summary(
    findings: pd.DataFrame,
    checked: CheckResult | pd.DataFrame | None = None,
    *,
    policy: Policy | str | Path | dict | None = None,
) -> pd.DataFrame:
    """Per rule: checked, failed, share failed and pending, computed from `findings` as given.

    `failed` always counts the rows of `findings` you pass, so a filtered subset (`findings[findings.channel
    == "tmall"]`) is summarised as itself. Rule ids, checked and pending counts come from `checked`, the
    per-rule table of the audit (`run_checks(...).checked`, or a `CheckResult`): they survive any filter, so
    rules that ran without a finding are listed too. Without it, the policy's rules are listed with
    checked and pending unknown (<NA>). Titles and source clauses come from `policy` (default: the shipped one).
    """
    if isinstance(checked, CheckResult):
        policy = checked.policy if policy is None else policy
        checked = checked.checked
    policy = policy if isinstance(policy, Policy) else load_policy(policy)
    if checked is None:
        table = pd.DataFrame({"rule_id": sorted(policy.rules)})
        table = table.assign(checked=pd.NA, pending=pd.NA, status=None).astype({"checked": "Int64", "pending": "Int64"})
    else:
        table = checked[["rule_id", "checked", "pending", "status"]].astype({"checked": "Int64", "pending": "Int64"})
    failed = findings["rule_id"].value_counts() if len(findings) else pd.Series(dtype="int64")
    unknown = sorted(set(failed.index) - set(table["rule_id"]))
    if unknown:
        raise OpskitError(f"findings of rules {', '.join(unknown)} are not in the checked table given to summary")
    out = table.assign(
        title=[policy[r].title_en for r in table["rule_id"]],
        title_zh=[policy[r].title_zh for r in table["rule_id"]],
        source_clause=[policy[r].source for r in table["rule_id"]],
        failed=table["rule_id"].map(failed).fillna(0).astype("int64"),
    )
    out["share_failed"] = (out["failed"] / out["checked"].where(out["checked"] > 0)).astype("float64").round(4)
    return out[SUMMARY_COLUMNS].reset_index(drop=True)


def rows(findings: pd.DataFrame, data: Data) -> pd.DataFrame:
    """The source rows behind `findings`: each finding's rule_id and key, then the loaded row it points at.

    Findings are matched to rows by `dataset` and `row` (the file line); findings that sum up several
    rows (a SKU's month total, a missing ledger day) point at no single row and are left out. When the
    findings come from several datasets the frame has the union of their columns and a `dataset` column."""
    wanted = findings.dropna(subset=["row"])
    parts = []
    for dataset, group in wanted.groupby("dataset", sort=False, observed=True):
        if dataset not in data.frames:
            raise OpskitError(f"the findings point at {dataset}, which this data does not hold")
        frame = data[dataset]
        picked = (
            group[["rule_id", "key", "row"]]
            .astype({"row": "int64"})
            .merge(frame, left_on="row", right_on="_row", how="inner")
        )
        parts.append(picked.drop(columns=["_row"]).assign(dataset=dataset))
    if not parts:
        return pd.DataFrame(columns=["rule_id", "key", "row", "dataset"])
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return out.drop(columns=["dataset"]) if len(parts) == 1 else out

"""What a rule is: an id, the datasets it needs, and a pure function from the audit context to an outcome.

Rule functions compute masks over whole frames and hand back the failing rows through `findings`;
the runner (`opskit.runner`) adds the policy's metadata and the source file, so every family of
rules reports alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import keys
from .loader import Data
from .policy import Policy, RulePolicy

FINDING_COLUMNS = ["key", "observed", "limit", "message", "row", "amount", "channel", "when", "open", "dataset"]


@dataclass
class Outcome:
    """Items decided (compliant or not), items still pending at `as_of`, and the failing ones."""

    checked: int
    findings: pd.DataFrame
    pending: int = 0


@dataclass(frozen=True)
class Rule:
    id: str
    needs: tuple[str, ...]
    fn: Callable[[Context], Outcome]
    columns: dict[str, tuple[str, ...]] | None = None
    month_first: tuple[str, ...] = ()


REGISTRY: dict[str, Rule] = {}


def all_rules() -> dict[str, Rule]:
    """Every registered rule by id; the families' rule modules are imported on first use."""
    from .reviews import load_rules

    load_rules()
    return REGISTRY


def rule(
    rule_id: str,
    *needs: str,
    columns: dict[str, tuple[str, ...]] | None = None,
    month_first: tuple[str, ...] = (),
) -> Callable[[Callable[[Context], Outcome]], Callable[[Context], Outcome]]:
    """Register a check under its spec id, with the datasets it cannot run without and, where
    declared, the columns it reads beyond each dataset's required ones (so a run of a few rules
    parses only those) and the datasets it reads only through `Context.first_in_month` (so a run
    of such rules loads only the month's first records of those: see `MONTH_FIRST`)."""

    def register(fn: Callable[[Context], Outcome]) -> Callable[[Context], Outcome]:
        REGISTRY[rule_id] = Rule(rule_id, needs, fn, columns, month_first)
        return fn

    return register


def columns_needed(rule_ids: list[str]) -> dict[str, set[str] | None]:
    """Per dataset, the columns the rules read; None (all) where any rule did not declare its columns."""
    needed: dict[str, set[str] | None] = {}
    for rule_id in rule_ids:
        rule = all_rules()[rule_id]
        for dataset in rule.needs:
            declared = (rule.columns or {}).get(dataset)
            if declared is None:
                needed[dataset] = None
            elif dataset not in needed:
                needed[dataset] = set(declared)
            elif needed[dataset] is not None:
                needed[dataset] |= set(declared)
    return needed


# dataset → (key, time that dates it in a month), as the rules call `Context.first_in_month`
MONTH_FIRST = {"orders": ("order_id", "created_at"), "cs_tickets": ("ticket_id", "created_at")}


def month_first_needed(rule_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Datasets that every chosen rule reading them reads only as the month's first records."""
    readers: dict[str, list[Rule]] = {}
    for rule_id in rule_ids:
        for dataset in all_rules()[rule_id].needs:
            readers.setdefault(dataset, []).append(all_rules()[rule_id])
    return {
        dataset: MONTH_FIRST[dataset]
        for dataset, rules in readers.items()
        if dataset in MONTH_FIRST and all(dataset in r.month_first for r in rules)
    }


@dataclass
class Context:
    """One audit: the data, month `M`, the moment `as_of`, the policy, and frames shared by rules."""

    data: Data
    month: pd.Period
    as_of: pd.Timestamp
    policy: Policy
    notices: list[str] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def start(self) -> pd.Timestamp:
        return self.month.start_time

    @property
    def end(self) -> pd.Timestamp:
        return (self.month + 1).start_time

    def in_month(self, ts: pd.Series) -> pd.Series:
        return (ts >= self.start) & (ts < self.end)

    def cached(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self.cache:
            self.cache[name] = make()
        return self.cache[name]

    def has(self, dataset: str) -> bool:
        return dataset in self.data.frames

    def notice(self, text: str) -> None:
        if text not in self.notices:
            self.notices.append(text)

    def first_in_month(self, dataset: str, key: str, when: str, note: str = "") -> pd.DataFrame:
        """Each `key`'s first occurrence, dated in the month by `when`; later repeats are set aside
        with a notice (the first record is what the rules judge)."""

        def make() -> pd.DataFrame:
            frame = self.data[dataset]
            loaded = getattr(self.data, "month_first", {}).get(dataset)
            if loaded is not None and loaded[:3] == (key, when, str(self.month)):
                first, later = frame.copy(deep=False), loaded[3]  # the loader kept exactly these rows
            else:
                repeated = keys.repeated(frame[key])
                later = int(repeated.sum())
                first = frame[~repeated] if later else frame
                in_month = self.in_month(first[when])
                first = first.copy(deep=False) if in_month.all() else first[in_month]  # no copy of the data
            if later:
                self.notice(
                    f"{self.data.files[dataset]}: {later} later rows of repeated {key} values "
                    f"set aside; rules use each one's first occurrence{note}"
                )
            return first

        return self.cached(f"first:{dataset}", make)


def num(values: pd.Series, digits: int = 1) -> pd.Series:
    """Numbers as short text for messages: `12`, `12.5`, `—` for missing."""
    values = pd.to_numeric(values, errors="coerce").astype("float64").round(digits)
    whole = values.notna() & (values == values.round(0))
    text = values.astype("str")
    text = text.where(~whole, values.where(whole).astype("Int64").astype("str"))
    return text.where(values.notna(), "—")


def findings(
    frame: pd.DataFrame,
    *,
    key: pd.Series | str,
    observed: pd.Series | float,
    limit: pd.Series | float | None,
    message: pd.Series | str,
    dataset: str,
    amount: pd.Series | float | None = None,
    channel: pd.Series | str | None = None,
    when: pd.Series | None = None,
    open: pd.Series | bool = False,
) -> pd.DataFrame:
    """The failing rows of `frame` as finding rows; every argument is aligned on `frame`'s index."""
    index = frame.index

    def col(value, dtype=None):
        if isinstance(value, str) and value in frame.columns:
            value = frame[value]
        series = value.reindex(index) if isinstance(value, pd.Series) else pd.Series(value, index=index)
        return series.astype(dtype) if dtype else series

    out = pd.DataFrame(
        {
            "key": col(key).astype("str"),
            "observed": col(observed, "float64"),
            "limit": col(limit, "float64"),
            "message": col(message).astype("str"),
            "row": frame["_row"] if "_row" in frame else pd.Series(pd.NA, index=index, dtype="Int64"),
            "amount": col(amount, "float64"),
            "channel": col(channel).astype("object") if channel is not None else None,
            "when": col(when) if when is not None else pd.NaT,
            "open": col(open).astype(bool),
            "dataset": dataset,
        },
        index=index,
    )
    return out.reset_index(drop=True)


def no_findings() -> pd.DataFrame:
    return pd.DataFrame(columns=FINDING_COLUMNS)


@dataclass
class Deadline:
    """A measured duration against its limit; `breached` and `pending` are masks on the scope."""

    observed: pd.Series
    limit: pd.Series
    recorded: pd.Series
    breached: pd.Series
    pending: pd.Series


def measure(
    ctx: Context,
    rp: RulePolicy,
    start: pd.Series,
    end: pd.Series,
    channel: pd.Series | None = None,
) -> Deadline:
    """Duration from `start` to `end` in the rule's unit and clock; an unrecorded end runs to `as_of`.

    A duration equal to its limit complies; an unrecorded event is a breach only once `as_of`
    is past the limit, and pending before that.
    """
    from .clock import elapsed

    recorded = end.notna()
    stop = end.where(recorded, ctx.as_of)
    observed = elapsed(start, stop, rp, ctx.policy)
    limit = rp.limits(channel, index=start.index)
    over = observed > limit
    return Deadline(observed, limit, recorded, over, ~recorded & ~over)


def duration_rule(
    ctx: Context,
    rule_id: str,
    frame: pd.DataFrame,
    start: str,
    end: str,
    *,
    key: str,
    event: str,
    after: str,
    dataset: str,
    scope: pd.Series | None = None,
) -> Outcome:
    """The common shape of "`end` within the limit after `start`" rules (ORD-001..003, CS, PRM, STK)."""
    rp = ctx.policy[rule_id]
    in_scope = frame[start].notna() if scope is None else scope & frame[start].notna()
    used = [c for c in dict.fromkeys((key, start, end, "channel", "_row")) if c in frame.columns]
    items = frame[used] if in_scope.all() else frame.loc[in_scope, used]  # the columns read, not the frame
    channel = items.get("channel")
    d = measure(ctx, rp, items[start], items[end], channel)
    bad = items[d.breached]
    unit = rp.unit
    obs, lim = num(d.observed[d.breached]), num(d.limit[d.breached])
    message = np.where(
        d.recorded[d.breached],
        event + " " + obs + f" {unit} after {after} (limit " + lim + f" {unit})",
        f"not {event} by as_of, " + obs + f" {unit} after {after} (limit " + lim + f" {unit})",
    )
    return Outcome(
        checked=int((~d.pending).sum()),
        pending=int(d.pending.sum()),
        findings=findings(
            bad,
            key=key,
            observed=d.observed,
            limit=d.limit,
            message=pd.Series(message, index=bad.index),
            dataset=dataset,
            channel=channel,
            when=bad[start],
            open=~d.recorded,
        ),
    )

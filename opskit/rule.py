"""What a rule is: an id, the datasets it needs, and a pure function from the audit context to a measurement.

A rule function states its scope (one row per item it judges) and what it measures there: a
quantity against the limit in force, a deadline (`deadline`: start and end columns), or a mask of
facts that break the rule by themselves. It names the outcome of each item with a `message_id`
and hands over the parameters its message needs, typed (`@rule(..., params={name: kind})`, see
`opskit.render`). It writes no prose and does not decide breaches: the runner compares by the
policy's `direction`, separates pending items, builds the finding rows and renders the words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import keys
from .errors import Notice
from .loader import Data
from .policy import Policy

FINDING_COLUMNS = [
    "key",
    "observed",
    "limit",
    "message_id",
    "row",
    "amount",
    "channel",
    "when",
    "open",
    "dataset",
]
PARAM_PREFIX = "param:"  # finding-row columns holding a message parameter until the runner renders it


@dataclass
class Measurement:
    """What a rule measured over its scope: one row of `items` per item judged (or still pending).

    Every Series is aligned on `items.index` (a longer Series is cut to it, a scalar applies to all).
    `observed` and `limit` are compared by the policy's `direction`; `breached` adds facts that break
    the rule whatever the comparison says (a missing approval, an unknown customer); `pending` marks
    items whose deadline has not passed at `as_of` (neither checked nor a finding). `message` is the
    message id of each item's outcome, `params` the values its template needs. `checked` overrides
    the count of items decided where the scope is not one row per item (ORD-010).
    """

    items: pd.DataFrame
    key: pd.Series | str
    message: pd.Series | str
    dataset: str
    observed: pd.Series | float = np.nan
    limit: pd.Series | float | None = None
    breached: pd.Series | None = None
    pending: pd.Series | bool = False
    params: dict[str, pd.Series | str | float] = field(default_factory=dict)
    amount: pd.Series | float | None = None
    channel: pd.Series | str | None = None
    when: pd.Series | str | None = None
    open: pd.Series | bool = False
    checked: int | None = None


@dataclass(frozen=True)
class Rule:
    """A registered rule: its spec id, the datasets it needs, its measuring function, the columns it
    reads and the kinds of its message parameters (see `opskit.render`)."""

    id: str
    needs: tuple[str, ...]
    fn: Callable[[Context], Measurement]
    columns: dict[str, tuple[str, ...]] | None = None
    params: dict[str, str] = field(default_factory=dict)
    month_first: tuple[str, ...] = ()

    @property
    def personal(self) -> set[str]:
        """The parameters declared personal (masked when rendering for managers)."""
        from .render import PERSONAL_KINDS

        return {name for name, kind in self.params.items() if kind in PERSONAL_KINDS}


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
    params: dict[str, str] | None = None,
    month_first: tuple[str, ...] = (),
) -> Callable[[Callable[[Context], Measurement]], Callable[[Context], Measurement]]:
    """Register a check under its spec id, with the datasets it cannot run without, where declared
    the columns it reads beyond each dataset's required ones (so a run of a few rules parses only
    those), the kind of each message parameter beyond `observed` and `limit`, and the datasets it
    reads only through `Context.first_in_month` (so a run of such rules loads only the month's first
    records of those: see `MONTH_FIRST`)."""
    from .render import valid_kind

    bad = {name: kind for name, kind in (params or {}).items() if not valid_kind(kind)}
    if bad:
        raise ValueError(f"{rule_id}: unknown parameter kinds {bad}")

    def register(fn: Callable[[Context], Measurement]) -> Callable[[Context], Measurement]:
        REGISTRY[rule_id] = Rule(rule_id, needs, fn, columns, dict(params or {}), month_first)
        return fn

    return register


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

    def first_in_month(
        self, dataset: str, key: str, when: str, changes: str = "", columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Each `key`'s first occurrence, dated in the month by `when`; later repeats are set aside
        with a notice (the first record is what the rules judge); `changes` names the rule that judges
        the repeats themselves, which the notice points to.

        With `columns`, only those (and `key`, `when`, `_row`) are taken, afresh for each caller and
        not kept: a rule copies the few columns it reads of a whole load's month, and the audit never
        holds a second copy of every column of the orders (at ten million orders, two gigabytes)."""

        def make() -> np.ndarray | None:
            frame = self.data[dataset]
            loaded = getattr(self.data, "month_first", {}).get(dataset)
            if loaded is not None and loaded[:3] == (key, when, str(self.month)):
                keep, later = None, loaded[3]  # the loader kept exactly these rows
            else:
                repeated = keys.repeated(frame[key])
                later = int(repeated.sum())
                keep = ~repeated & self.in_month(frame[when]).to_numpy()
                keep = None if keep.all() else keep
            if later:
                self.notice(
                    Notice(
                        "later_repeats" + ("_changes" if changes else ""),
                        file=self.data.files[dataset],
                        count=later,
                        key=key,
                        rule=changes,
                    )
                )
            return keep

        keep = self.cached(f"first-rows:{dataset}", make)
        frame = self.data[dataset]
        if columns is None:
            return self.cached(f"first:{dataset}", lambda: frame.copy(deep=False) if keep is None else frame[keep])
        wanted = {key, when, "_row", *columns}
        frame = frame[[c for c in frame.columns if c in wanted]]  # a lazy copy: nothing is copied yet
        return frame if keep is None else frame[keep]


def deadline(
    ctx: Context,
    rule_id: str,
    items: pd.DataFrame,
    start: str,
    end: str,
    *,
    key: str | pd.Series,
    dataset: str,
    channel: str | None = None,
    when: str | None = None,
    scope: pd.Series | None = None,
    keep: tuple[str, ...] = (),
) -> Measurement:
    """ "`end` within the limit after `start`", the one deadline of every duration rule.

    The scope is the items with a `start` (and `scope`, when given). The duration runs in the rule's
    unit and clock (`opskit.clock.elapsed`), to `as_of` when `end` is not recorded. A duration equal
    to its limit complies (direction `max`); an unrecorded event is pending until `as_of` is past
    the limit, then breached. Message ids: `late` (recorded past the limit), `open` (not recorded).
    The measurement's items hold only the columns named here (and `keep`, what the caller reads of
    them afterwards): a month of a big file is not copied whole for each duration rule.
    """
    from .clock import elapsed

    rp = ctx.policy[rule_id]
    in_scope = items[start].notna() if scope is None else scope & items[start].notna()
    wanted = {start, end, channel, when, "_row", *keep, *([key] if isinstance(key, str) else [])}
    items = items[[c for c in items.columns if c in wanted]]  # what is read, not every column
    items = items if in_scope.all() else items[in_scope]  # a copy only when rows fall out of scope
    recorded = items[end].notna()
    stop = items[end].where(recorded, ctx.as_of)
    observed = elapsed(items[start], stop, rp, ctx.policy)
    limit = rp.limits(items[channel] if channel else None, index=items.index)
    return Measurement(
        items,
        key=key,
        message=message_ids(items.index, "open", (recorded, "late")),
        dataset=dataset,
        observed=observed,
        limit=limit,
        pending=~recorded & ~(observed > limit),
        channel=channel,
        when=when or start,
        open=~recorded,
    )


def message_ids(index: pd.Index, default: str, *cases: tuple[pd.Series | np.ndarray, str]) -> pd.Series:
    """Each item's message id: the id of the first case whose mask holds, else `default` (what
    `np.select` gives), as pointers to a few shared strings — `np.where` on text makes a
    fixed-width string per item, tens of bytes a row on millions of rows, for a handful of ids."""
    ids = np.full(len(index), default, dtype=object)
    for mask, message in reversed(cases):
        ids[np.asarray(mask, dtype=bool)] = message
    return pd.Series(ids, index=index, dtype=object)

"""What a review shows from earlier months: change on the month before, a 12-month trend, findings
that recur, each finding's follow-up (整改) and the open items carried over from earlier months.

Earlier months come from the history store when there is one. Without a store, or when the store
does not hold the month before yet (a backfill renders months in parallel), the month before is
computed from the data root, so "change on last month" never depends on which month finished first.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import OpskitError
from ..history_context import CLOSED, STATUSES, MonthContext, finding_ids
from ..loader import month_folders
from .i18n import t

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .review import Review

SPAN = 12
# the headline figures each review draws month by month (shares on one scale, counts on another)
TREND_METRICS: dict[str, tuple[str, ...]] = {
    "order_sla_audit": ("on_time_shipping", "contact_within_limit"),
    "service_stats": ("first_reply_within_limit", "after_sales_within_limit", "complaint_feedback_within_limit"),
    "stocktake_variance": ("record_accuracy",),
    "promotion_review": ("findings", "over_budget"),
}
FOLLOWUP_COLUMNS = ["owner", "followup_status", "followup_note"]
STATUS_ALIASES = {s: s for s in STATUSES} | {
    "pending": "待处理",
    "in progress": "处理中",
    "fixed": "已整改",
    "resolved": "已整改",
    "not applicable": "不适用",
    "n/a": "不适用",
}


def month_context(
    review_cls: type[Review],
    data_root: str | Path | None,
    month: str,
    history: str | None,
    *,
    as_of: str | None = None,
    policy: Any = None,
) -> MonthContext:
    """Earlier months for a review of `month`: from the store, the month before filled from the data root."""
    ctx = MonthContext(month)
    if history:
        from ..history_store import HistoryStore  # SQLAlchemy, imported only when there is a store

        try:
            store = HistoryStore(history, create=False)
        except OpskitError:
            store = None  # no store yet (the first run): the data root tells what it can
        if store is not None:
            try:
                ctx = store.context(month, SPAN)
            finally:
                store.close()
    if ctx.previous_month is None and data_root is not None:
        _previous_from_data_root(ctx, review_cls, data_root, policy)
    return ctx


def _previous_from_data_root(ctx: MonthContext, review_cls: type[Review], data_root, policy) -> None:
    previous = str(pd.Period(ctx.month, "M") - 1)
    try:
        if previous not in month_folders(data_root):
            return
        from ..month import open_review

        before = open_review(review_cls, data_root, previous, policy=policy, lang="en", history=False)
    except OpskitError:
        return  # that month's own review reports its data errors
    kpis = {k: v for k, v in before.kpis().items() if not isinstance(v, str)}
    ctx.previous_month = previous
    ctx.previous_kpis[review_cls.name] = kpis
    ctx.previous_ids = set(finding_ids(before.findings)) if len(before.findings) else set()
    row = pd.DataFrame(
        {"month": previous, "review": review_cls.name, "metric": list(kpis), "value": list(kpis.values())}
    )
    ctx.trend = pd.concat([ctx.trend[ctx.trend["month"] != previous], row], ignore_index=True)
    found = before.findings
    if len(found):  # a month not recorded yet has no follow-up: all its findings are still open
        rows = pd.DataFrame(
            {
                "month": previous,
                "finding_id": finding_ids(found).to_numpy(),
                "rule_id": found["rule_id"].to_numpy(),
                "key": found["key"].to_numpy(),
                "message": found["message"].to_numpy(),
                "owner": None,
                "status": None,
                "note": None,
            }
        )
        kept = ctx.carried[ctx.carried["month"] != previous]
        ctx.carried = pd.concat([kept, rows], ignore_index=True) if len(kept) else rows
    if ctx.source == "none":
        ctx.source = "data root"


def previous_kpis(review: Review) -> dict[str, Any]:
    ctx = review.history
    return ctx.previous_kpis.get(review.name, {}) if ctx is not None else {}


def change(now: Any, before: Any) -> float | None:
    """The change of a figure on the month before (None when either is missing or not a number)."""
    if isinstance(now, bool | str) or isinstance(before, bool | str) or now is None or before is None:
        return None
    try:
        value = float(now) - float(before)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(value) else round(value, 4)


def is_share(metric: str, value: Any) -> bool:
    """Shares (0..1) change in percentage points."""
    share_words = ("within", "on_time", "accuracy", "share", "attainment")
    return any(w in metric for w in share_words) and isinstance(value, float)


def change_text(metric: str, now: Any, before: Any, lang: str) -> str:
    diff = change(now, before)
    if diff is None:
        return ""
    if is_share(metric, now):
        amount = f"{diff * 100:+.1f} pp" if lang == "en" else f"{diff * 100:+.1f}个百分点"
    elif float(diff).is_integer():
        amount = f"{int(diff):+,}"
    else:
        amount = f"{diff:+,.2f}"
    return f"{t('vs_previous_month', lang)} {amount}"


def with_followup(view: pd.DataFrame, findings: pd.DataFrame, review: Review) -> pd.DataFrame:
    """The findings view with its id, whether it recurs, and the managers' follow-up columns."""
    ctx, lang = review.history, review.lang
    ids = finding_ids(findings).to_numpy() if len(findings) else []
    follow = ctx.followups.set_index("finding_id") if ctx is not None and len(ctx.followups) else None
    recurring = pd.Series(ids, dtype="object").isin(ctx.previous_ids if ctx is not None else set())
    out = view.copy()
    out.insert(0, t("finding_id", lang), list(ids))
    out.insert(1, t("recurring", lang), recurring.map({True: t("yes", lang), False: ""}).to_numpy())
    for column, field in zip(FOLLOWUP_COLUMNS, ("owner", "status", "note"), strict=True):
        values = pd.Series(ids, dtype="object").map(follow[field]) if follow is not None else None
        out[t(column, lang)] = values.to_numpy() if values is not None else np.full(len(out), np.nan, dtype="object")
    return out


def carried_view(review: Review | None, ctx: MonthContext | None, lang: str, rules: list[str] | None = None):
    """Unresolved findings of earlier months (the follow-ups still open), editable like the findings."""
    frame = ctx.carried if ctx is not None else MonthContext("").carried
    if rules is not None:
        frame = frame[frame["rule_id"].isin(rules)]
    view = frame.rename(columns={"status": "followup_status", "note": "followup_note"})[
        ["month", "finding_id", "rule_id", "key", "message", *FOLLOWUP_COLUMNS]
    ]
    view = view.astype("object").where(view.notna(), np.nan)  # blank, not "None", in HTML and Excel
    if review is not None:
        view = review.shown(view)
    return view.rename(columns={c: t(c, lang) for c in view.columns}).reset_index(drop=True)


def trend_frame(review: Review) -> pd.DataFrame:
    """Month × metric of this review over the last 12 months, this month included."""
    ctx = review.history
    wanted = TREND_METRICS.get(review.name, ("findings",))
    earlier = ctx.trend if ctx is not None else pd.DataFrame(columns=["month", "review", "metric", "value"])
    earlier = earlier[(earlier["review"] == review.name) & earlier["metric"].isin(wanted)]
    now = review.kpis()
    current = pd.DataFrame(
        {
            "month": review.month,
            "metric": [m for m in wanted if m in now],
            "value": [now[m] for m in wanted if m in now],
        }
    )
    both = pd.concat([earlier[["month", "metric", "value"]], current], ignore_index=True)
    if both.empty:
        return pd.DataFrame()
    table = both.pivot_table(index="month", columns="metric", values="value", aggfunc="last").sort_index()
    return table.reindex(columns=[m for m in wanted if m in table.columns]).tail(SPAN)


def trend_chart(review: Review) -> Figure | None:
    """The 12-month trend of the review's headline figures; None with fewer than two months known."""
    table = trend_frame(review)
    if len(table) < 2:
        return None
    lang = review.chart_lang
    series = {t(m, lang): table[m].astype("float64") for m in table.columns}
    return monthly_lines(series, f"{t(review.name, lang)} · {t('trend_12_months', lang)}", lang)


def monthly_lines(series: dict[str, pd.Series], title: str, lang: str) -> Figure:
    """One line per figure over months (index: YYYY-MM); shares are drawn as percentages."""
    import matplotlib.pyplot as plt

    from . import charts

    fig, ax = charts._figure(title)
    shares = all(v.dropna().between(0, 1).all() for v in series.values())
    for (label, values), color in zip(series.items(), charts.COLORS, strict=False):
        shown = values * 100 if shares else values
        ax.plot(list(values.index), shown.to_numpy(), marker="o", markersize=4, label=label, color=color)
    ax.set_ylabel("%" if shares else t("count", lang))
    ax.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    plt.close(fig)
    return fig


def parse_status(value: Any) -> str | None:
    """A follow-up status as typed (Chinese or English); None when blank; ValueError when unknown."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    if not text:
        return None
    found = STATUS_ALIASES.get(text) or STATUS_ALIASES.get(text.lower())
    if found is None:
        raise ValueError(text)
    return found


__all__ = ["CLOSED", "month_context", "with_followup", "carried_view", "trend_chart", "change_text", "parse_status"]

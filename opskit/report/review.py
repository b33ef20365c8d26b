"""A monthly review's figures: headline figures, charts, tables and findings views of one computed month.

A `Review` is a pure function of a `MonthResult` (`opskit.month`): it reads no file and writes none,
and the language and the audience (analyst or manager, who sees personal data masked) are plain
parameters. `opskit.report.html` renders it statically (the batch's reports), `opskit.report.dashboard`
as a widget app; subclasses only say what their review shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from ..errors import say
from .i18n import columns, figure_text, localize_cells, status_text, t
from .masking import PERSONAL_COLUMNS, mask_frame, scrub

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.figure import Figure

    from ..month import MonthResult, MonthSource

if TYPE_CHECKING:
    from ..history_store import MonthContext

FINDING_VIEW = ["rule_id", "key", "observed", "limit", "unit", "message", "channel", "when", "source"]
SUMMARY_VIEW = ["rule_id", "title", "checked", "failed", "share_failed", "pending", "status", "source_clause"]
AUDIENCES = ("analyst", "manager")


class Review:
    """Base of the four reviews; `name` is the notebook's stem and `rules` its rule ids or prefixes."""

    name: ClassVar[str] = ""
    rules: ClassVar[str] = ""
    filters: ClassVar[tuple[str, ...]] = ("rule_id", "channel")
    browse_title: ClassVar[str] = "findings_table"
    items: ClassVar[tuple[str, str] | None] = None  # (dataset, time column) a dashboard filter narrows
    shared_frames: ClassVar[tuple[str, ...]] = ()  # frames from other months, kept however the view is narrowed

    def __init__(
        self,
        result: MonthResult | None,
        lang: str = "zh",
        audience: str = "analyst",
        error: str | None = None,
    ) -> None:
        if audience not in AUDIENCES:
            raise ValueError(f"audience is one of {AUDIENCES}, not {audience!r}")
        self.month_result, self.lang, self.audience, self.error = result, lang, audience, error
        self.result = result.check_result(self.rules) if result is not None else None
        self.data = result.data if result is not None else None
        self.data_root = result.data_root if result is not None else None
        self.scope: dict[str, Any] = {}
        self._local: dict[str, Any] | None = None  # a narrowed view's own frames
        self._history: MonthContext | None = None  # earlier months (opskit.report.history), when known
        self._history_from: dict[str, Any] | None = None  # how to read them, on first use
        self.history_url: str | None = None

    @classmethod
    def across_months(cls, result: MonthResult, month: MonthSource) -> dict[str, pd.DataFrame]:
        """Frames this review needs from other months of the data root, computed once with the month
        (`month("2026-09")` gives that month's data or None, `month.months()` the months there are);
        the review itself never reads a file."""
        return {}

    def cached(self, name: str, make: Callable[[], Any]) -> Any:
        """Figures several views need (reconciliation, trend) are computed once per month and kept
        with it, so a saved month comes back with them."""
        if self.month_result is None:
            return make()
        key = f"{self.name}:{name}"
        frames = self.month_result.frames
        if self._local is not None and name not in self.shared_frames:
            frames = self._local
        if key not in frames:
            frames[key] = make()
        return frames[key]

    # ------------------------------------------------------------------ narrowing (dashboard filters)

    def narrowed(self, choices: dict[str, str], start: Any = None, end: Any = None) -> Review:
        """The same review over what the filters keep: its items (orders, tickets, promotions) by the
        filter columns they have and by date (from `start` to `end` inclusive), the family's rules
        run again on them so rates stay exact, and the findings by every filter. A finding or item
        without a time is never dropped by a date filter."""
        choices = {k: v for k, v in choices.items() if v not in (None, "")}
        if self.month_result is None or (not choices and start is None and end is None):
            return self
        import copy

        from ..runner import run_checks

        view = copy.copy(self)
        view.scope = {
            **choices,
            **({"from": start} if start is not None else {}),
            **({"to": end} if end is not None else {}),
        }
        view._local = {}
        item_filters = {k: v for k, v in choices.items() if k != "rule_id"}
        if self.items and (item_filters or start is not None or end is not None):
            dataset, when = self.items
            data = self.data
            if dataset in data:
                frame = data[dataset]
                keep = _keep(frame, {k: v for k, v in item_filters.items() if k in frame}, when, start, end)
                data = copy.copy(data)
                data.frames = {**data.frames, dataset: frame[keep]}
                view.data = data
                view.result = run_checks(data, self.month, self.result.as_of, self.result.policy, self.rules)
        found = view.filterable_findings()
        keep = _keep(found, {k: v for k, v in choices.items() if k in found}, "when", start, end)
        r = view.result
        view.result = type(r)(found[keep].reset_index(drop=True), r.summary, r.month, r.as_of, r.policy, r.notices)
        return view

    def scope_text(self) -> str:
        """What the view is narrowed to, in words (the page says what is filtered)."""
        if not self.scope:
            return t("not_filtered", self.lang)
        parts = [f"{t(k, self.lang)} = {v}" for k, v in self.scope.items()]
        note = f" ({t('no_time', self.lang)})" if {"from", "to"} & set(self.scope) else ""
        return f"{t('filtered_by', self.lang)}: " + ", ".join(parts) + note

    @property
    def history(self) -> MonthContext | None:
        """Earlier months, read on first use (so opening a review costs no more than loading its month)."""
        if self._history is None and self._history_from is not None and self.result is not None:
            from .history import month_context

            source, self._history_from = self._history_from, None
            self._history = month_context(
                type(self),
                source["data_root"],
                self.month,
                self.history_url,
                as_of=source["as_of"],
                policy=source["policy"],
            )
        return self._history

    @history.setter
    def history(self, context: MonthContext | None) -> None:
        self._history, self._history_from = context, None

    @property
    def title(self) -> str:
        return t(self.name, self.lang)

    @property
    def findings(self) -> pd.DataFrame:
        return self.result.findings if self.result else pd.DataFrame(columns=FINDING_VIEW)

    @property
    def month(self) -> str:
        return self.result.month if self.result else ""

    def filterable_findings(self) -> pd.DataFrame:
        """Findings with the columns the dashboard filters on (subclasses join item attributes)."""
        return self.findings

    def browse(self) -> pd.DataFrame:
        """The table the dashboard filters (by `filters` and the `when` column): the findings by default."""
        return self.filterable_findings()

    def browse_view(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.findings_view(frame)

    # ------------------------------------------------------------------ what a review shows

    def kpis(self) -> dict[str, Any]:
        """Headline figures by key (labels come from `i18n`); subclasses add their own."""
        findings = self.findings
        return {"findings": len(findings), "open_breaches": int(findings["open"].sum()) if len(findings) else 0}

    def charts(self) -> list[Figure]:
        return []

    def tables(self) -> list[tuple[str, pd.DataFrame]]:
        """Extra tables (title, frame) for the report and the Excel workbook."""
        return []

    # ------------------------------------------------------------------ views

    def rules_view(self) -> pd.DataFrame:
        """The rules this review checks, with the thresholds in force and their source clauses."""
        from ..policy import load_policy
        from ..render import limit_text
        from ..runner import select_rules

        policy = self.result.policy if self.result else load_policy()
        rows = [policy[r] for r in select_rules(self.rules)]
        frame = pd.DataFrame(
            {
                "rule_id": [r.id for r in rows],
                "title": [r.title(self.lang) for r in rows],
                "limit": [limit_text(r, r.limit, self.lang) for r in rows],  # 24小时, ¥…, 3: as the title says it
                "unit": [r.unit for r in rows],
                "source_clause": [r.source for r in rows],
            }
        )
        frame = localize_cells(frame, self.lang)
        return frame.rename(columns=columns(frame.columns, self.lang)).set_index(t("rule_id", self.lang))

    def kpi_view(self) -> pd.DataFrame:
        from .history import change, previous_kpis

        items, before = self.kpis(), previous_kpis(self)
        frame = pd.DataFrame(
            {
                t("metric", self.lang): [t(k, self.lang, self.policy) for k in items],
                t("value", self.lang): [figure_text(k, v, self.lang) for k, v in items.items()],
            }
        )
        if before:
            frame[t("previous_month", self.lang)] = [before.get(k) for k in items]
            frame[t("change", self.lang)] = [change(v, before.get(k)) for k, v in items.items()]
        return frame

    @property
    def policy(self):
        """The policy in force for this review (titles and labels state its limits)."""
        return self.result.policy if self.result else None

    def summary_view(self) -> pd.DataFrame:
        """The rule summary with each rule's state: ran, skipped (and why) or pending, never a bare 0 of 0."""
        if self.month_result is None:
            return pd.DataFrame(columns=columns(SUMMARY_VIEW, self.lang).values())
        summary = self.result.summary
        status = self.month_result.rule_status().set_index("rule_id").reindex(summary["rule_id"])
        state = status["state"].map(lambda s: t(f"state_{s}", self.lang)).to_numpy()
        why = status["why"].fillna("").to_numpy()
        view = summary.assign(
            title=summary["title_zh"] if self.lang == "zh" else summary["title"],
            status=[f"{s}: {w}" if w else s for s, w in zip(state, why, strict=True)],
        )
        skipped = (status["state"] == "skipped").to_numpy()
        pending = (status["state"] == "pending").to_numpy()
        said = status_text(summary["status"].astype("str"), self.lang).to_numpy()
        counts = [f"{s}: {n}" for s, n in zip(state, summary["pending"], strict=True)]
        view["status"] = [said[i] if skipped[i] else counts[i] if pending[i] else state[i] for i in range(len(view))]
        view = view.reindex(columns=SUMMARY_VIEW)
        return view.rename(columns=columns(SUMMARY_VIEW, self.lang))

    def findings_view(self, findings: pd.DataFrame | None = None, *, followup: bool = True) -> pd.DataFrame:
        """The findings as shown; with earlier months known, with their id, recurrence and follow-up (整改)."""
        source = self.findings if findings is None else findings
        frame = source.reindex(columns=FINDING_VIEW)
        if self.result is not None and self.result.params is not None and len(frame):
            # words rendered late, in the reader's language; personal parameters masked by kind for managers
            said = self.result.messages(self.lang, mask=self.masked)
            kept = frame.index.isin(said.index)
            frame = frame.assign(message=said.reindex(frame.index).where(kept, frame["message"]))
        view = self.shown(frame).rename(columns=columns(FINDING_VIEW, self.lang))
        if self.history is None or not followup:
            return view
        from .history import with_followup

        return with_followup(view, source, self)

    def context(self) -> dict[str, Any]:
        """What a reader needs to trust the figures: the audit cut-off, the data folder and when each
        file was exported, the rules skipped and why, and what loading noticed."""
        m = self.month_result
        if m is None:
            return {}
        return {
            "as_of": f"{m.as_of:%Y-%m-%d %H:%M}",
            "folder": m.folder_label,
            "files": [(f.name, f"{f.modified:%Y-%m-%d %H:%M}", f.size) for f in m.files],
            "skipped": {r: why for r, why in m.skipped().items() if r in set(self.result.summary["rule_id"])},
            "notices": [say(n, self.lang) for n in m.notices],
        }

    def changes(self) -> dict[str, float]:
        """Each numeric headline figure's change against the previous month, when the data root has it."""
        m = self.month_result
        before = m.previous_kpis.get(self.name, {}) if m is not None else {}
        out = {}
        for key, value in self.kpis().items():
            old = before.get(key)
            if (
                isinstance(value, int | float)
                and isinstance(old, int | float)
                and not pd.isna(value)
                and not pd.isna(old)
            ):
                out[key] = round(value - old, 4)
        return out

    @property
    def masked(self) -> bool:
        """Whether personal data is masked: for managers, unless the policy turns masking off."""
        policy_allows = self.result.policy.masking if self.result else True
        return policy_allows and self.audience == "manager"

    def shown(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A frame as the audience may see it: codes shown by their names in the review's language, and
        personal data masked for managers."""
        frame = localize_cells(frame, self.lang)
        return mask_frame(frame, {c: t(c, self.lang) for c in PERSONAL_COLUMNS}) if self.masked else frame

    def chart_text(self, text: str) -> str:
        """Text from the data drawn into a chart (a promotion's name): a drawn picture cannot be masked
        afterwards and no text scan sees inside it, so personal data is scrubbed before it is drawn."""
        return scrub(text) if self.masked else text

    @property
    def chart_lang(self) -> str:
        from .charts import chart_lang  # matplotlib, imported when a chart is drawn

        return chart_lang(self.lang)


def _keep(frame: pd.DataFrame, equal: dict[str, str], when: str, start: Any, end: Any) -> pd.Series:
    """Rows whose columns equal the chosen values and whose time (when there is one) lies in the dates."""
    keep = pd.Series(True, index=frame.index)
    for column, value in equal.items():
        keep &= frame[column].astype("str") == str(value)
    if when in frame and (start is not None or end is not None):
        stamp = pd.to_datetime(frame[when])
        timeless = stamp.isna()
        if start is not None:
            keep &= timeless | (stamp >= pd.Timestamp(start))
        if end is not None:
            keep &= timeless | (stamp < pd.Timestamp(end) + pd.Timedelta(days=1))
    return keep

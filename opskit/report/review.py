"""A monthly review: its data and findings, headline figures, charts and tables, in one object.

Each notebook makes one `Review` and asks it to `report()` (static, for papermill and HTML) or
`dashboard()` (widgets, for JupyterLab and Voila). Subclasses only say what their review shows.
"""

from __future__ import annotations

import html
import json
import warnings
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
from matplotlib.figure import Figure

from ..errors import OpskitError, OpskitNotice
from ..loader import Data, Unloaded, load
from ..runner import CheckResult, run_checks
from .charts import chart_lang
from .files import atomic_write_text
from .i18n import columns, figure_text, localize_cells, present, status_text, t
from .masking import PERSONAL_COLUMNS, for_managers, mask_frame

FINDING_VIEW = ["rule_id", "key", "observed", "limit", "unit", "message", "channel", "when", "source"]
SUMMARY_VIEW = ["rule_id", "title", "checked", "failed", "share_failed", "pending", "source_clause"]
TABLE_CSS = (
    "<style>.opskit-table{border-collapse:collapse;font-size:12px;margin:4px 0 12px}"
    ".opskit-table th{background:#eef3f8;text-align:left;padding:3px 8px;border-bottom:1px solid #9bb}"
    ".opskit-table td{padding:2px 8px;border-bottom:1px solid #e5e5e5;vertical-align:top;text-align:left!important}"
    ".opskit-table th,.opskit-table thead tr{text-align:left!important}"
    ".opskit-kpi{display:inline-block;margin:4px 18px 8px 0}.opskit-kpi b{display:block;font-size:20px}"
    ".opskit-error{color:#8a1f11;background:#fbeaea;padding:8px 12px;border-radius:4px}</style>"
)


class Review:
    """Base of the four reviews; `name` is the notebook's stem and `rules` its rule ids or prefixes."""

    name: ClassVar[str] = ""
    rules: ClassVar[str] = ""
    filters: ClassVar[tuple[str, ...]] = ("rule_id", "channel")
    browse_title: ClassVar[str] = "findings_table"

    def __init__(
        self, data: Data | Unloaded | None, result: CheckResult | None, lang: str = "zh", error: str | None = None
    ):
        self.data, self.result, self.lang, self.error = data, result, lang, error
        self.data_root: Path | None = None
        self._cache: dict[str, Any] = {}

    def cached(self, name: str, make):
        """Figures several views need (reconciliation, trend) are computed once per review."""
        if name not in self._cache:
            self._cache[name] = make()
        return self._cache[name]

    # ------------------------------------------------------------------ building

    @classmethod
    def open(
        cls,
        data_root: str | Path,
        month: str | None = None,
        *,
        as_of: str | None = None,
        policy: str | Path | None = None,
        lang: str = "zh",
        strict: bool = True,
    ) -> Review:
        """Load and check one month; with `strict=False` bad data becomes a message instead of an error."""
        try:
            with warnings.catch_warnings():  # the review shows its own notices; no stderr text in reports
                warnings.simplefilter("ignore", OpskitNotice)
                data = load(data_root, month)
                result = run_checks(data, month or data.month, as_of, policy, cls.rules, lang)
        except OpskitError as exc:
            if strict:
                raise
            return cls(Unloaded(exc), None, lang, error=str(exc))
        review = cls(data, result, lang)
        review.data_root = Path(data_root)
        return review

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
        items = self.kpis()
        return pd.DataFrame(
            {
                t("metric", self.lang): [t(k, self.lang, self.policy) for k in items],
                t("value", self.lang): [figure_text(k, v, self.lang) for k, v in items.items()],
            }
        )

    @property
    def policy(self):
        """The policy in force for this review (titles and labels state its limits)."""
        return self.result.policy if self.result else None

    def summary_view(self) -> pd.DataFrame:
        summary = self.result.summary if self.result else pd.DataFrame(columns=SUMMARY_VIEW)
        view = summary.assign(
            title=summary["title_zh"] if self.lang == "zh" else summary["title"],
            status=status_text(summary["status"].astype("str"), self.lang),
        ).reindex(columns=SUMMARY_VIEW)
        return view.rename(columns=columns(SUMMARY_VIEW, self.lang))

    def findings_view(self, findings: pd.DataFrame | None = None) -> pd.DataFrame:
        frame = (self.findings if findings is None else findings).reindex(columns=FINDING_VIEW)
        if self.masked and self.result is not None and len(frame):
            # personal message parameters masked by kind, not by guessing at the text
            frame = frame.assign(message=self.result.messages(self.lang, mask=True).reindex(frame.index))
        return self.shown(frame).rename(columns=columns(FINDING_VIEW, self.lang))

    @property
    def masked(self) -> bool:
        """Whether personal data is masked: for managers, unless the policy turns masking off."""
        policy_allows = self.result.policy.masking if self.result else True
        return policy_allows and for_managers()

    def shown(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A frame as the audience may see it: codes shown by their names in the review's language, and
        personal data masked for managers."""
        frame = localize_cells(frame, self.lang)
        return mask_frame(frame, {c: t(c, self.lang) for c in PERSONAL_COLUMNS}) if self.masked else frame

    # ------------------------------------------------------------------ output

    def save_kpis(self, output_dir: str | Path | None) -> dict[str, Any]:
        """Record the headline figures for the batch's `kpis.json` (nothing when run interactively)."""
        figures = {"review": self.name, "month": self.month, **self.kpis()}
        if output_dir:
            path = Path(output_dir) / "kpis" / f"{self.name}.json"
            atomic_write_text(path, json.dumps(figures, ensure_ascii=False, indent=1, default=_jsonable))
        return figures

    def headline_html(self) -> str:
        cells = "".join(
            f'<div class="opskit-kpi">{html.escape(t(k, self.lang, self.policy))}'
            f"<b>{html.escape(figure_text(k, v, self.lang))}</b></div>"
            for k, v in self.kpis().items()
        )
        return f"{TABLE_CSS}<h3>{html.escape(self.title)} · {html.escape(self.month)}</h3><div>{cells}</div>"

    def error_html(self) -> str:
        message = html.escape(self.error or "")  # every bad cell on its own line
        return (
            f'{TABLE_CSS}<div class="opskit-error"><b>{t("data_error", self.lang)}</b>'
            f'<div style="white-space:pre-wrap">{message}</div></div>'
        )

    def display_head(self) -> None:
        """Headline figures, charts, the rule summary and the review's tables: what both the static
        report and the dashboard show above the findings."""
        from IPython.display import HTML, display

        if self.error:
            display(HTML(self.error_html()))
            return
        display(HTML(self.headline_html()))
        for fig in self.charts():
            display(fig)
        display(HTML(f"<h4>{t('rule_summary', self.lang)}</h4>" + table_html(self.summary_view())))
        for title, frame in self.tables():
            display(HTML(f"<h4>{html.escape(title)}</h4>" + table_html(self.shown(frame))))

    def report(self) -> None:
        """Display the whole review statically: what the batch's HTML and a manager read."""
        from IPython.display import HTML, display

        self.display_head()
        if not self.error:
            view = self.findings_view()
            display(HTML(f"<h4>{t('findings_table', self.lang)} ({len(view)})</h4>" + table_html(view)))

    def dashboard(self, data_root: str | Path, *, as_of: str | None = None, policy: str | Path | None = None):
        """The same review as a widget app (month picker and filters) for JupyterLab and Voila."""
        from .dashboard import ReviewApp

        return ReviewApp(type(self), data_root, review=self, as_of=as_of, policy=policy, lang=self.lang).container

    @property
    def chart_lang(self) -> str:
        return chart_lang(self.lang)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def table_html(frame: pd.DataFrame, max_rows: int = 500) -> str:
    """An escaped HTML table; long tables are cut with a note rather than flooding the page."""
    shown = present(frame.head(max_rows))
    body = shown.to_html(
        index=False,
        classes="opskit-table",
        na_rep="",
        escape=True,
        border=0,
        float_format=lambda v: f"{v:,.2f}".rstrip("0").rstrip("."),
    )
    if len(frame) > max_rows:
        body += f"<p>… {len(frame) - max_rows} more rows in the Excel workbook</p>"
    return TABLE_CSS + body

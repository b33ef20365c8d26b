"""A review rendered as HTML: the static report the batch exports and the head of every dashboard.

Everything here turns a `Review`'s figures into escaped HTML; nothing computes a figure, so the
batch's report and the dashboard of the same month show the same numbers.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import pandas as pd

from .i18n import figure_text, present, status_text, t

if TYPE_CHECKING:
    from .review import Review

TABLE_CSS = (
    "<style>.opskit-table{border-collapse:collapse;font-size:12px;margin:4px 0 12px}"
    ".opskit-table th{background:#eef3f8;text-align:left;padding:3px 8px;border-bottom:1px solid #9bb}"
    ".opskit-table td{padding:2px 8px;border-bottom:1px solid #e5e5e5;vertical-align:top;text-align:left!important}"
    ".opskit-table th,.opskit-table thead tr{text-align:left!important}"
    ".opskit-kpi{display:inline-block;margin:4px 18px 8px 0}.opskit-kpi b{display:block;font-size:20px}"
    ".opskit-kpi i,.opskit-change{display:block;font-size:11px;font-style:normal;color:#666}"
    ".opskit-context{font-size:12px;color:#333;background:#f6f8fa;padding:6px 10px;margin:6px 0;border-radius:4px}"
    ".opskit-context ul{margin:2px 0 2px 18px;padding:0}"
    ".opskit-filtered{font-size:12px;color:#7a4b00;background:#fff6e0;padding:4px 8px;margin:4px 0}"
    ".opskit-error{color:#8a1f11;background:#fbeaea;padding:8px 12px;border-radius:4px}</style>"
)


def fmt(value: Any) -> str:
    """A headline figure as text: shares as %, money with thousands separators, blanks as —."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.1%}" if 0 <= value <= 1 and not value.is_integer() else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def fmt_change(key: str, change: float, value: Any) -> str:
    """A change as text in the figure's own kind: percentage points for shares, else a signed number."""
    is_share = isinstance(value, float) and 0 <= value <= 1 and not float(value).is_integer()
    if is_share:
        return f"{change * 100:+.1f} pp"
    return f"{change:+,.0f}" if float(change).is_integer() else f"{change:+,.2f}"


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


def headline_html(review: Review, kpis: dict[str, Any] | None = None) -> str:
    """The review's title and headline figures, each with its change against the previous month."""
    lang = review.lang
    kpis = review.kpis() if kpis is None else kpis
    from .history import change_text, previous_kpis

    before = previous_kpis(review) if review.history is not None else {}  # the store's month before, first
    if not before and review.month_result is not None:
        before = dict(review.month_result.previous_kpis.get(review.name, {}))
    cells = []
    for key, value in kpis.items():
        said = change_text(key, value, before.get(key), lang)
        change = f'<small class="opskit-change">{html.escape(said)}</small>' if said else ""
        cells.append(
            f'<div class="opskit-kpi" data-kpi="{html.escape(key)}">{html.escape(t(key, lang, review.policy))}'
            f"<b>{html.escape(figure_text(key, value, lang))}</b>{change}</div>"
        )
    title = f"{html.escape(review.title)} · {html.escape(review.month)}"
    return f"{TABLE_CSS}<h3>{title}</h3><div>{''.join(cells)}</div>"


def context_html(review: Review) -> str:
    """As of, the data folder and its files' export times, skipped rules and why, the load's notices."""
    info = review.context()
    if not info:
        return ""
    lang = review.lang
    files = "; ".join(f"{html.escape(name)} ({when})" for name, when, _ in info["files"])
    parts = [
        f"<b>{t('audit_cutoff', lang)}</b> {html.escape(info['as_of'])} · "
        f"<b>{t('data_folder', lang)}</b> {html.escape(info['folder'])}",
        f"<b>{t('files_exported', lang)}</b> {files or '—'}",
    ]
    skipped = info["skipped"]
    if skipped:
        said = status_text(pd.Series([f"skipped: {why}" for why in skipped.values()], dtype="str"), lang)
        items = "".join(f"<li>{html.escape(r)}: {html.escape(w)}</li>" for r, w in zip(skipped, said, strict=True))
        parts.append(f'<b>{t("skipped_rules", lang)}</b><ul class="opskit-skipped">{items}</ul>')
    else:
        parts.append(f"<b>{t('skipped_rules', lang)}</b> {t('none', lang)}")
    if info["notices"]:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in info["notices"])
        parts.append(f'<b>{t("notices", lang)}</b><ul class="opskit-notices">{items}</ul>')
    else:
        parts.append(f"<b>{t('notices', lang)}</b> {t('none', lang)}")
    return '<div class="opskit-context">' + "<br>".join(parts) + "</div>"


def error_html(review: Review) -> str:
    message = html.escape(review.error or "")  # every bad cell on its own line
    return (
        f'{TABLE_CSS}<div class="opskit-error"><b>{t("data_error", review.lang)}</b>'
        f'<div style="white-space:pre-wrap">{message}</div></div>'
    )


def summary_html(review: Review) -> str:
    return f"<h4>{t('rule_summary', review.lang)}</h4>" + table_html(review.summary_view())


def tables_html(review: Review) -> str:
    return "".join(
        f"<h4>{html.escape(title)}</h4>" + table_html(review.shown(frame)) for title, frame in review.tables()
    )


def findings_html(review: Review, findings: pd.DataFrame | None = None) -> str:
    view = review.findings_view(findings)
    return f'<h4 class="opskit-findings">{t("findings_table", review.lang)} ({len(view)})</h4>' + table_html(view)


def report(review: Review) -> None:
    """Display the whole review statically: what the batch's HTML and a manager read."""
    from IPython.display import HTML, display

    if review.error:
        display(HTML(error_html(review)))
        return
    display(HTML(headline_html(review) + context_html(review)))
    for fig in review.charts():
        display(fig)
    history = history_figure(review)
    if history is not None:
        display(history)
    display(HTML(summary_html(review) + tables_html(review) + carried_html(review) + findings_html(review)))


def history_figure(review: Review):
    """The 12-month trend from the history store (or the data root), when earlier months are known."""
    from .history import trend_chart

    return trend_chart(review) if review.history is not None else None


def carried_html(review: Review) -> str:
    """Open follow-up items (整改) carried over from earlier months, for this review's rules."""
    if review.history is None:
        return ""
    from ..runner import select_rules
    from .history import carried_view

    carried = carried_view(review, review.history, review.lang, select_rules(review.rules))
    heading = f"{t('carried_over', review.lang)} ({len(carried)})"
    return f"<h4>{html.escape(heading)}</h4>" + table_html(carried)

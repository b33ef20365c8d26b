"""The widget app behind every dashboard: a month picker, filters, and outputs redrawn in place.

The month is chosen among the `YYYY-MM/` folders under the data root (viewers never type a path);
filters narrow the findings table by rule, channel and date. `filtered()` is a pure function of
the widget values, so the app is tested without a browser.
"""

from __future__ import annotations

import html
import sys
import traceback
from pathlib import Path

import ipywidgets as W
import pandas as pd
from IPython.display import HTML, display

from ..loader import month_folders
from ..locale import cell_codes
from .i18n import t
from .review import TABLE_CSS, Review, table_html


class ReviewApp:
    def __init__(
        self,
        review_cls: type[Review],
        data_root: str | Path,
        *,
        review: Review | None = None,
        month: str | None = None,
        as_of: str | None = None,
        policy: str | Path | None = None,
        lang: str = "zh",
    ) -> None:
        self.review_cls, self.data_root, self.as_of, self.policy, self.lang = review_cls, data_root, as_of, policy, lang
        months = month_folders(data_root)
        current = (review.month if review and review.month else month) or (months[-1] if months else None)
        options = months or ([current] if current else [])
        self.month = W.Dropdown(
            options=options, value=current if current in options else None, description=t("month", lang)
        )
        self.choices = {column: W.Dropdown(description=t(column, lang)) for column in review_cls.filters}
        self.start = W.DatePicker(description=t("from", lang))
        self.end = W.DatePicker(description=t("to", lang))
        widgets = {"month": self.month, **self.choices, "start": self.start, "end": self.end}
        for name, widget in widgets.items():
            widget.add_class(f"opskit-{name.removesuffix('_id')}")
        self.head = W.Output()
        self.table = W.Output()
        self.table.add_class("opskit-findings-output")
        filters = W.HBox([*self.choices.values(), self.start, self.end], layout=W.Layout(flex_flow="row wrap"))
        self.container = W.VBox([self.month, self.head, filters, self.table])
        self.review = review
        self._filling = False
        self.month.observe(lambda change: self.reload(), names="value")
        for widget in (*self.choices.values(), self.start, self.end):
            widget.observe(lambda change: None if self._filling else self.redraw(), names="value")
        if review is None:
            self.reload()
        else:
            self.draw_head()

    # ------------------------------------------------------------------ state

    def reload(self) -> None:
        """Load and check the chosen month, then draw everything again."""
        if self.month.value is None:
            return
        self.review = None  # nothing of the previous month may stay on screen, whatever happens next
        try:
            self.review = self.review_cls.open(
                self.data_root, self.month.value, as_of=self.as_of, policy=self.policy, lang=self.lang, strict=False
            )
        except Exception:  # noqa: BLE001 - a viewer gets a plain message; the log gets the traceback
            self.fail()
            return
        self.draw_head()

    def fail(self) -> None:
        """Replace everything shown by one plain message in the page's language (the traceback goes to the
        server's log, never to the page)."""
        traceback.print_exc(file=sys.__stderr__)
        self.review = None
        self._filling = True
        try:
            for widget in self.choices.values():
                widget.options = [(t("all", self.lang), "")]
                widget.value = ""
        finally:
            self._filling = False
        message = html.escape(t("dashboard_error", self.lang))
        self.table.clear_output()
        with self.head:
            self.head.clear_output()
            display(HTML(f'{TABLE_CSS}<div class="opskit-error">{message}</div>'))

    @property
    def rule(self) -> W.Dropdown:
        return self.choices["rule_id"]

    @property
    def channel(self) -> W.Dropdown:
        return self.choices["channel"]

    def filtered(self) -> pd.DataFrame:
        findings = self.review.browse() if self.review else pd.DataFrame()
        if findings.empty:
            return findings
        keep = pd.Series(True, index=findings.index)
        for column, widget in self.choices.items():
            if widget.value:
                keep &= findings[column].astype("str") == widget.value
        when = pd.to_datetime(findings["when"])
        if self.start.value:
            keep &= when >= pd.Timestamp(self.start.value)
        if self.end.value:
            keep &= when < pd.Timestamp(self.end.value) + pd.Timedelta(days=1)
        return findings[keep]

    # ------------------------------------------------------------------ drawing

    def draw_head(self) -> None:
        try:
            self._draw_head()
        except Exception:  # noqa: BLE001 - see fail()
            self.fail()

    def _draw_head(self) -> None:
        review = self.review
        self._filling = True
        try:
            findings = review.browse() if review and not review.error else pd.DataFrame()
            all_ = t("all", self.lang)
            for column, widget in self.choices.items():
                values = findings[column].dropna().astype("str").unique() if column in findings else []
                names = cell_codes(self.lang)  # a channel or ticket type is offered by its name, filtered by its code
                widget.options = [(all_, "")] + [(names.get(v, v), v) for v in sorted(values)]
                widget.value = ""
            if review and review.month:
                period = pd.Period(review.month, "M")
                self.start.value, self.end.value = period.start_time.date(), period.end_time.date()
            else:
                self.start.value = self.end.value = None
        finally:
            self._filling = False
        with self.head:
            self.head.clear_output(wait=True)
            if review is None:
                display(HTML(""))
            else:
                review.display_head()
        self._redraw()

    def redraw(self) -> None:
        try:
            self._redraw()
        except Exception:  # noqa: BLE001 - see fail()
            self.fail()

    def _redraw(self) -> None:
        if self.review is None or self.review.error:
            self.table.clear_output()  # at once: a deferred clear waits for output that never comes
            return
        with self.table:
            self.table.clear_output(wait=True)
            shown = self.filtered()
            label = f"{t(self.review.browse_title, self.lang)}: {len(shown)} {t('n_rows', self.lang)}"
            caption = f'<h4 class="opskit-count">{label}</h4>'
            display(HTML(caption + table_html(self.review.browse_view(shown))))

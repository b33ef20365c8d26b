"""The widget app behind every dashboard: a month picker, filters, and outputs redrawn in place.

The month is chosen among the `YYYY-MM/` folders under the data root (viewers never type a path)
and opened from its computed result (`opskit.month`), never loaded and checked again here. Nothing
is hidden on first render: filters start open, every finding of the review is listed, and a filter
narrows the headline figures and charts as well as the tables, with a line saying what is filtered.
`filtered()` is a pure function of the widget values, so the app is tested without a browser.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

import ipywidgets as W
import pandas as pd

from ..loader import month_folders
from ..locale import cell_codes
from . import html as render
from .i18n import t
from .review import Review


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
        audience: str = "analyst",
        history: str | None = None,
    ) -> None:
        self.review_cls, self.data_root, self.as_of, self.policy = review_cls, data_root, as_of, policy
        self.lang, self.audience = lang, audience
        self.history = history  # the history store: follow-up and earlier months of each month shown
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
        self.container = AppBox([self.month, filters, self.head, self.table], app=self)
        self.container.add_class("opskit-app")
        self.review = review
        self._filling = False
        self.month.observe(lambda change: self.reload(), names="value")
        for widget in (*self.choices.values(), self.start, self.end):
            widget.observe(lambda change: None if self._filling else self.redraw(), names="value")
        if review is None:
            self.reload()
        else:
            self.fill_filters()
            self.redraw()

    # ------------------------------------------------------------------ state

    def reload(self) -> None:
        """Open the chosen month's computed result, reset the filters to open, then draw everything."""
        if self.month.value is None:
            return
        from ..month import open_review

        self.review = None  # nothing of the previous month may stay on screen, whatever happens next
        try:
            self.review = open_review(
                self.review_cls,
                self.data_root,
                self.month.value,
                as_of=self.as_of,
                policy=self.policy,
                lang=self.lang,
                audience=self.audience,
                strict=False,
                history=self.history,
            )
            self.fill_filters()
        except Exception:  # noqa: BLE001 - a viewer gets a plain message; the log gets the traceback
            self.fail()
            return
        self.redraw()

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
        self.table.outputs = ()
        self.head.outputs = (html_output(f'{render.TABLE_CSS}<div class="opskit-error">{message}</div>'),)

    @property
    def rule(self) -> W.Dropdown:
        return self.choices["rule_id"]

    @property
    def channel(self) -> W.Dropdown:
        return self.choices["channel"]

    def selection(self) -> dict[str, Any]:
        return {column: widget.value for column, widget in self.choices.items() if widget.value}

    def view(self) -> Review | None:
        """The review narrowed to what the filters keep (the review itself when nothing is chosen)."""
        if self.review is None or self.review.error:
            return self.review
        return self.review.narrowed(self.selection(), self.start.value, self.end.value)

    def filtered(self) -> pd.DataFrame:
        """The findings the filters keep (findings without a time are kept whatever the dates)."""
        view = self.view()
        return view.findings if view is not None and not view.error else pd.DataFrame()

    def filtered_browse(self) -> pd.DataFrame:
        """The review's own table (the stock-take reconciliation) as the filters narrow it."""
        view = self.view()
        return view.browse() if view is not None and not view.error else pd.DataFrame()

    # ------------------------------------------------------------------ drawing

    def fill_filters(self) -> None:
        """Every filter starts open (all values, no dates), offering the values the month has."""
        review = self.review
        self._filling = True
        try:
            found = review.filterable_findings() if review and not review.error else pd.DataFrame()
            browse = review.browse() if review and not review.error else pd.DataFrame()
            all_ = t("all", self.lang)
            for column, widget in self.choices.items():
                values = set()
                for frame in (found, browse):
                    if column in frame:
                        values |= set(frame[column].dropna().astype("str").unique())
                names = cell_codes(self.lang)  # a channel or ticket type is offered by its name, filtered by its code
                widget.options = [(all_, "")] + [(names.get(v, v), v) for v in sorted(values)]
                widget.value = ""
            self.start.value = self.end.value = None
        finally:
            self._filling = False

    def head_html(self, view: Review) -> str:
        """Headline figures (narrowed), what is filtered, the audit's context: above the charts."""
        if view.error:
            return render.error_html(view)
        scope = f'<div class="opskit-filtered">{view.scope_text()}</div>'
        return render.headline_html(view) + scope + render.context_html(view)

    def tables_html(self, view: Review) -> str:
        """The rule summary and the review's tables: below the charts."""
        return render.summary_html(view) + render.tables_html(view) + render.carried_html(view)

    def findings_html(self, view: Review) -> str:
        """Every finding the filters keep, and the review's own table (the reconciliation) below it."""
        shown = view.findings
        label = f"{t('findings_table', self.lang)}: {len(shown)} {t('n_rows', self.lang)}"
        body = f'<h4 class="opskit-count">{label}</h4>' + render.table_html(view.findings_view(shown))
        if view.browse_title != "findings_table":
            rows = view.browse()
            title = f"{t(view.browse_title, self.lang)}: {len(rows)} {t('n_rows', self.lang)}"
            body += f'<h4 class="opskit-browse-count">{title}</h4>' + render.table_html(view.browse_view(rows))
        return body

    def redraw(self) -> None:
        try:
            self._redraw()
        except Exception:  # noqa: BLE001 - see fail()
            self.fail()

    def _redraw(self) -> None:
        """Each output area is replaced in one assignment of its whole content.

        `with out: display(...)` would send one message per item and, while Voila runs the notebook,
        go through nbclient's stand-in for Output widgets, which re-sends the growing list on each
        item; one assignment is one state update, whatever runs the kernel. The lists are built
        before either area changes, so a failure leaves the previous view whole for `fail()`.

        The unfiltered view is what every viewer of a month sees first, in the same words: it is
        drawn once and kept beside the cached month result (`view_file`), like its charts.
        """
        view = self.view()
        path = view_file(view, self.history) if view is not None else None
        kept = _read_kept(path)
        if isinstance(kept, dict) and isinstance(kept.get("head"), list) and isinstance(kept.get("table"), list):
            head, table = kept["head"], kept["table"]
        else:
            head, table = self.draw(view)
            if path is not None and _kept_charts(view):
                _keep(path, {"head": head, "table": table})
        self.head.outputs = tuple(head)
        self.table.outputs = tuple(table)

    def draw(self, view: Review | None) -> tuple[list[dict], list[dict]]:
        """The two output areas' items for a view: headline, charts and tables above; findings below."""
        head: list[dict] = []
        table: list[dict] = []
        if view is not None:
            head.append(html_output(self.head_html(view)))
            if not view.error:
                head += [display_output(data, metadata) for data, metadata in chart_outputs(view)]
                head.append(html_output(self.tables_html(view)))
                table.append(html_output(self.findings_html(view)))
        return head, table

    def static_html(self) -> str:
        """What the output areas show now, as plain HTML (charts as inline images), with a line saying
        the filters are still loading: the page shows this as soon as the notebook has run, before
        the browser has loaded and started the widget code (most of a page's cost on a busy machine),
        and the widgets replace it when they are drawn."""
        parts = [f'<div class="opskit-static-note">{html.escape(t("filters_loading", self.lang))}</div>']
        for item in (*self.head.outputs, *self.table.outputs):
            data = item.get("data", {})
            if "text/html" in data:
                parts.append(data["text/html"])
            elif "image/png" in data:
                parts.append(f'<img src="data:image/png;base64,{data["image/png"]}" alt="" />')
        return "".join(parts)


class AppBox(W.VBox):
    """The dashboard's outermost box. Displayed, it carries beside the widget its first view as HTML
    (`ReviewApp.static_html`), marked for opskit's Voila template, which shows that HTML at once and
    lets the widgets replace it; JupyterLab shows the widget, a viewer without widgets the HTML."""

    def __init__(self, children: list[W.Widget], *, app: ReviewApp) -> None:
        super().__init__(children)
        self._app = app

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        data = super()._repr_mimebundle_(**kwargs)
        if not data:
            return data
        return {**data, "text/html": self._app.static_html()}, {"opskit": "first-view"}


def html_output(markup: str) -> dict:
    """An output area's item showing HTML, as IPython would display `HTML(markup)`."""
    return display_output({"text/html": markup, "text/plain": "<IPython.core.display.HTML object>"}, {})


def display_output(data: Any, metadata: dict | None) -> dict:
    """One `display_data` item of an output area: a mime bundle as given, or a figure (outside a
    kernel, where nothing formats it) drawn to PNG as IPython's inline backend would."""
    if metadata is None:
        import base64
        import io

        import matplotlib.pyplot as plt

        buffer = io.BytesIO()
        data.savefig(buffer, format="png", bbox_inches="tight")
        plt.close(data)
        data, metadata = (
            {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"), "text/plain": repr(data)},
            {},
        )
    return {"output_type": "display_data", "data": data, "metadata": metadata}


CHARTS_FOLDER = "charts"
VIEWS_FOLDER = "views"


def chart_file(view: Review) -> Path | None:
    """Where an unfiltered view's charts are kept: beside the cached month result it was opened from,
    one file per review, language and audience (masked names differ). None for a filtered view or a
    result computed here rather than read from the cache."""
    m = view.month_result
    if m is None or m.saved is None or view.scope or view.error:
        return None
    return m.saved / CHARTS_FOLDER / f"{view.name}-{view.lang}-{'masked' if view.masked else 'plain'}.json"


def view_file(view: Review, history: str | bool | None) -> Path | None:
    """Where an unfiltered view's whole first render is kept: as `chart_file`, and only when what it
    shows of earlier months comes from the data root (`history` None, covered by the month result's
    fingerprint, which holds every month folder and opskit's code) or is not shown (`history` False).
    A history store changes without the fingerprint knowing, so with one the view is drawn each time.
    Nothing in a rendered view depends on the clock: the audit's `as_of` is the result's own."""
    charts = chart_file(view)
    if charts is None or history:  # a store URL (or file)
        return None
    earlier = "none" if history is False else "root"
    return charts.parent.parent / VIEWS_FOLDER / f"{charts.stem}-{earlier}.json"


def _kept_charts(view: Review) -> bool:
    """Whether a view's charts are the ones every viewer should see: formatted by a kernel as IPython
    formats figures, in the view's language (not the English fallback of a missing CJK font)."""
    from IPython import get_ipython

    return get_ipython() is not None and view.chart_lang == view.lang


def _read_kept(path: Path | None) -> Any:
    """A kept file's content; None when there is none or it cannot be read (it is drawn again)."""
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def chart_outputs(view: Review) -> list[tuple[Any, dict | None]]:
    """The view's charts as display data: (mime bundle, metadata), or (figure, None) outside a kernel.

    Drawing the charts is most of what a dashboard costs on its first render (matplotlib's import, the
    CJK font, one PNG per chart), yet an unfiltered view shows the same charts to every viewer of the
    month in that language and audience. Those are drawn once, formatted as IPython formats figures
    (so the page is the same), and kept beside the cached month result; a filtered view is drawn each
    time. A kept file that cannot be read is drawn again; one that cannot be written only costs time.
    """
    path = chart_file(view)
    kept = _read_kept(path)
    if kept is not None:
        try:
            return [(item["data"], item["metadata"]) for item in kept]
        except (TypeError, KeyError):
            pass  # damaged: draw it below
    from IPython import get_ipython

    shell = get_ipython()
    figures = view.charts()
    if shell is None:  # plain Python (tests, scripts): the figures themselves
        return [(fig, None) for fig in figures]
    outputs = [shell.display_formatter.format(fig) for fig in figures]
    if path is not None and _kept_charts(view):
        _keep(path, [{"data": data, "metadata": metadata} for data, metadata in outputs])
    return outputs


def _keep(path: Path, content: Any) -> None:
    """Write a kept file whole or not at all: a viewer reading while another writes sees no half file."""
    try:
        path.parent.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError:
        return  # a cache folder that cannot be written: the next viewer draws them again
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(content, out, ensure_ascii=False)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def show(
    review: Review,
    interactive: bool,
    data_root: str | Path | None = None,
    *,
    as_of: str | None = None,
    policy: str | Path | None = None,
) -> W.VBox | None:
    """What a review notebook's last cell shows: the widget app (JupyterLab, Voila) or the static
    report (the batch's HTML)."""
    if not interactive:
        render.report(review)
        return None
    return ReviewApp(
        type(review),
        data_root or (review.data_root or ""),
        review=review,
        as_of=as_of,
        policy=policy,
        lang=review.lang,
        audience=review.audience,
        history=review.history_url,
    ).container

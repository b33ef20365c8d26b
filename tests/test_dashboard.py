"""Nothing hidden by default: every dashboard lists all of its findings on first render, filters start
open, a finding without a time survives a date filter, and a filter narrows the headline too."""

import datetime as dt
import json

import pytest
from helpers import SAMPLES

from opskit.month import open_review
from opskit.report.dashboard import ReviewApp
from opskit.report.notebooks import REVIEWS, review_class


@pytest.fixture(scope="module")
def apps():
    out = {}
    for name in REVIEWS:
        review = open_review(name, SAMPLES, "2026-10", lang="en")
        out[name] = ReviewApp(review_class(name), SAMPLES, review=review, lang="en")
    return out


@pytest.mark.parametrize("name", REVIEWS)
def test_first_render_lists_every_finding_with_open_filters(apps, name):
    app = apps[name]
    assert all(widget.value == "" for widget in app.choices.values())
    assert app.start.value is None and app.end.value is None
    review = app.review
    shown = app.filtered()
    assert len(shown) == len(review.findings) == review.kpis()["findings"] > 0
    table = app.findings_html(app.view())
    assert f"Findings: {len(shown)} rows" in table
    assert all(key in table for key in review.findings["key"])
    assert "Not filtered: everything is shown" in app.head_html(app.view())


def test_the_stocktake_dashboard_lists_its_findings_and_the_reconciliation(apps):
    app = apps["stocktake_variance"]
    table = app.findings_html(app.view())
    for key in ("PD2610-B", "SKU0036", "2026-10-18", "SKU0022/2026-10-15", "SKU9001"):
        assert key in table
    assert "Findings: 15 rows" in table and "Three-way reconciliation (count / ledger / finance): 41 rows" in table
    app.choices["variance"].value = "True"
    narrowed = app.view()
    assert narrowed.kpis()["skus_counted"] == 4 and len(narrowed.browse()) == 4
    assert set(app.filtered()["key"].str.split("/").str[0]) <= {"SKU0001", "SKU0002", "SKU0036", "SKU9002"}
    app.choices["variance"].value = ""


def test_a_finding_without_a_time_survives_a_date_filter(apps):
    app = apps["promotion_review"]
    timeless = app.review.findings[app.review.findings["when"].isna()]
    assert set(timeless["rule_id"]) == {"PRM-006"}
    app.start.value, app.end.value = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
    try:
        kept = app.filtered()
        assert "P2610-03/SKU0003" in set(kept["key"]) and len(kept) == len(app.review.findings)
        assert app.view().kpis()["findings"] == len(kept)
        assert "items without a time are always shown" in app.head_html(app.view())
    finally:
        app.start.value = app.end.value = None


def test_filters_narrow_the_headline_and_say_what_is_filtered(apps):
    app = apps["order_sla_audit"]
    orders = app.review.data["orders"].drop_duplicates("order_id")
    distributor = int((orders["channel"] == "distributor").sum())
    app.channel.value = "distributor"
    try:
        view = app.view()
        figures = view.kpis()
        assert figures["orders"] == distributor < app.review.kpis()["orders"]
        assert figures["findings"] == len(app.filtered()) == 5
        assert set(app.filtered()["channel"]) == {"distributor"}
        head = app.head_html(view)
        assert "Filtered by: Channel = distributor" in head and f'data-kpi="orders">Orders<b>{distributor}</b>' in head
    finally:
        app.channel.value = ""
    assert app.view().kpis() == app.review.kpis()


def test_the_rule_filter_narrows_the_findings_and_their_count(apps):
    app = apps["service_stats"]
    app.rule.value = "CS-001"
    try:
        assert set(app.filtered()["key"]) == {"CS001-LATE-2610", "CS001-NEVER-2610"}
        assert app.view().kpis()["findings"] == 2
    finally:
        app.rule.value = ""


@pytest.mark.parametrize("name", REVIEWS)
def test_headline_figures_show_the_change_against_the_previous_month(apps, name):
    review = apps[name].review
    changes = review.changes()
    assert changes and set(changes) <= set(review.kpis())
    before = review.month_result.previous_kpis[name]
    key = "findings"
    assert changes[key] == review.kpis()[key] - before[key]
    assert "vs last month" in apps[name].head_html(apps[name].view())


KERNEL_LIKE = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()  # what a dashboard kernel has: display formats figures
if sys.argv[2] == "png":
    from IPython.core.pylabtools import select_figure_formats
    select_figure_formats(shell, {"png"})  # what the inline backend does once matplotlib is imported
from opskit.month import open_review
from opskit.report.dashboard import chart_outputs

review = open_review("order_sla_audit", sys.argv[1], "2026-10", audience="manager", strict=False)
images = [data["image/png"] for data, _ in chart_outputs(review) if "image/png" in data]
heavy = ("matplotlib", "sqlalchemy", "opskit.history_store", "pyarrow.csv", "python_calamine", "openpyxl")
print(json.dumps({"images": images, "imported": [m for m in heavy if m in sys.modules]}))
"""


def test_an_unfiltered_dashboard_draws_its_charts_once_per_month_and_imports_little(tmp_path):
    """The first viewer of a month draws the charts and keeps them beside the cached month; the next
    viewer's kernel shows the same images without importing matplotlib, SQLAlchemy or the readers."""
    import json
    import os
    import subprocess
    import sys

    from helpers import ROOT

    env = {**os.environ, "OPSKIT_CACHE": str(tmp_path / "cache")}

    def viewer(formats: str) -> dict:
        run = subprocess.run(
            [sys.executable, "-c", KERNEL_LIKE, str(SAMPLES), formats],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=300,
            check=True,
        )
        return json.loads(run.stdout.strip().splitlines()[-1])

    first = viewer("png")
    kept = list((tmp_path / "cache").glob("2026-10-*/charts/order_sla_audit-zh-masked.json"))
    assert len(first["images"]) == 3 and len(kept) == 1
    second = viewer("none")
    assert second["images"] == first["images"]
    assert second["imported"] == []


def test_a_filtered_dashboard_draws_its_own_charts(apps, tmp_path):
    from opskit.report.dashboard import chart_file, view_file

    app = apps["order_sla_audit"]
    assert chart_file(app.view()) is not None
    assert view_file(app.view(), None).name == "order_sla_audit-en-plain-root.json"
    assert view_file(app.view(), False).name == "order_sla_audit-en-plain-none.json"
    assert view_file(app.view(), f"sqlite:///{tmp_path / 'history.db'}") is None  # a store changes on its own
    app.channel.value = "distributor"
    try:
        assert chart_file(app.view()) is None and view_file(app.view(), None) is None
    finally:
        app.channel.value = ""


VIEWER = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()  # what a dashboard kernel has: display formats figures
from IPython.core.pylabtools import select_figure_formats
select_figure_formats(shell, {"png"})
from opskit.month import open_review
from opskit.report import dashboard
from opskit.report.notebooks import review_class

draw = dashboard.ReviewApp.draw
if sys.argv[2] == "kept":  # the second viewer must not draw the unfiltered view again
    def drawn(*args, **kwargs):
        raise AssertionError("drawn again")
    dashboard.ReviewApp.draw = drawn
history = None if sys.argv[3] == "root" else sys.argv[3]
review = open_review("service_stats", sys.argv[1], "2026-10", lang="zh", audience="manager", history=history)
app = dashboard.ReviewApp(
    review_class("service_stats"), sys.argv[1], review=review, lang="zh", audience="manager", history=history
)
first = {"head": list(app.head.outputs), "table": list(app.table.outputs)}
dashboard.ReviewApp.draw = draw
app.channel.value = app.channel.options[-1][1]  # a filtered view: drawn, never kept
filtered = app.table.outputs[0]["data"]["text/html"]
print(json.dumps({"first": first, "filtered": filtered, "view_file": str(dashboard.view_file(app.review, history))}))
"""


def test_an_unfiltered_view_is_drawn_once_per_month_and_the_next_viewer_shows_it_whole(tmp_path):
    """What every viewer of a month sees first (headline, charts, tables, findings) is drawn by the first
    viewer and kept beside the cached month result; the next viewer's kernel assigns it as kept. A
    filtered view is drawn each time and never kept (nor is any view with a history store: see
    test_a_filtered_dashboard_draws_its_own_charts)."""
    import json
    import os
    import subprocess
    import sys

    from helpers import ROOT

    env = {**os.environ, "OPSKIT_CACHE": str(tmp_path / "cache")}

    def viewer(mode: str) -> dict:
        run = subprocess.run(
            [sys.executable, "-c", VIEWER, str(SAMPLES), mode, "root"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        return json.loads(run.stdout.strip().splitlines()[-1])

    first = viewer("draw")
    kept = list((tmp_path / "cache").glob("2026-10-*/views/service_stats-zh-masked-root.json"))
    assert len(kept) == 1 and first["view_file"] == str(kept[0])
    items = first["first"]["head"] + first["first"]["table"]
    assert sum("image/png" in item["data"] for item in items) >= 1  # the charts are in it
    assert "客服" in first["first"]["head"][0]["data"]["text/html"]  # in the viewer's language
    second = viewer("kept")
    assert second["first"] == first["first"]
    assert (
        second["filtered"] == first["filtered"]
        and second["filtered"] != first["first"]["table"][0]["data"]["text/html"]
    )
    assert len(list((tmp_path / "cache").glob("2026-10-*/views/*.json"))) == 1  # the filtered view was not kept


def test_a_damaged_kept_view_is_drawn_again(tmp_path, monkeypatch):
    from opskit.report import dashboard

    review = open_review("order_sla_audit", SAMPLES, "2026-10", lang="en")
    path = tmp_path / "order_sla_audit-en-plain-root.json"
    path.write_text('{"head": [{"output_type": "display_data", "data": {"text/html": "stale', encoding="utf-8")
    monkeypatch.setattr(dashboard, "view_file", lambda view, history: path)
    app = ReviewApp(review_class("order_sla_audit"), SAMPLES, review=review, lang="en")
    assert "Findings: " in app.table.outputs[0]["data"]["text/html"]
    assert "stale" not in json.dumps(app.head.outputs)
    assert path.read_text(encoding="utf-8").endswith("stale")  # outside a kernel nothing is kept (charts unformatted)


def test_the_app_displays_its_first_view_as_html_beside_the_widget(apps):
    """What opskit's Voila template writes into the page before the widget code runs (and what a viewer
    without widgets sees): the app's current outputs as HTML, charts inline, marked for the template."""
    app = apps["order_sla_audit"]
    data, metadata = app.container._repr_mimebundle_()
    assert metadata == {"opskit": "first-view"}
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == app.container.model_id
    page = data["text/html"]
    assert page.startswith('<div class="opskit-static-note">The filters are loading; the whole month is shown')
    assert "Findings: 20 rows" in page and all(key in page for key in app.review.findings["key"])
    assert page.count('<img src="data:image/png;base64,') == sum("image/png" in o["data"] for o in app.head.outputs) > 0
    assert "opskit-app" in app.container._dom_classes

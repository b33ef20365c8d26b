"""What a dashboard viewer may never see: a traceback, mathtext errors from data, boxes for Chinese
labels, or the previous month's findings under a new month's error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import matplotlib.pyplot as plt
import pytest
from helpers import SAMPLES

from opskit import month
from opskit.report.charts import CJK_FONTS, cjk_font
from opskit.report.dashboard import ReviewApp
from opskit.report.i18n import t
from opskit.reviews.orders.review import OrderSlaReview

HOSTILE = r"Price $\frac{1}{0$ promo"


def test_text_from_data_is_drawn_literally(tmp_path):
    fig, ax = plt.subplots()
    ax.set_title(HOSTILE)
    ax.bar([HOSTILE, "$x^2$"], [1, 2])
    fig.savefig(tmp_path / "chart.png")  # with mathtext on, this raises ValueError while drawing
    plt.close(fig)
    assert (tmp_path / "chart.png").stat().st_size > 1000
    assert ax.title.get_text() == HOSTILE


@pytest.mark.parametrize("name", ["order_sla_audit", "service_stats", "stocktake_variance", "promotion_review"])
def test_no_chart_prints_mathtext_markup_as_text(name):
    """Literal text must not turn an axis's own labels (a log scale's `$10^{3}$`) into code on the page."""
    review = month.open_review(name, SAMPLES, "2026-10", lang="zh", history=False)
    for fig in review.charts():
        fig.canvas.draw()
        for ax in fig.axes:
            shown = [label.get_text() for label in ax.get_xticklabels() + ax.get_yticklabels()]
            assert not [text for text in shown if "$" in text or "mathdefault" in text], (name, ax.get_title())


def cjk_installed() -> bool:
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    return bool(out.strip())


needs_cjk = pytest.mark.skipif(
    not cjk_installed() and os.environ.get("CI") != "true", reason="no CJK font installed (fonts-noto-cjk)"
)


@needs_cjk
def test_charts_resolve_a_cjk_font():
    from matplotlib import font_manager

    name = cjk_font()
    assert name in CJK_FONTS
    path = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]), fallback_to_default=False)
    assert name in {f.name for f in font_manager.fontManager.ttflist if f.fname == path}


@needs_cjk
def test_a_stale_font_cache_is_refreshed(tmp_path):
    """A cache built before the CJK font was installed lists no CJK font; opskit rebuilds it."""
    script = (
        "import json, sys, matplotlib\n"
        "from matplotlib import font_manager as fm\n"
        "fm.fontManager.ttflist = [f for f in fm.fontManager.ttflist if 'CJK' not in f.name]\n"
        "from opskit.report.charts import cjk_font\n"
        "print(json.dumps({'font': cjk_font(), 'cached': open(sys.argv[1]).read().count('CJK') > 0}))\n"
    )
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path)}
    from matplotlib import font_manager

    cache = tmp_path / f"fontlist-v{font_manager.FontManager.__version__}.json"
    out = subprocess.run(
        [sys.executable, "-c", script, str(cache)], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["font"] in CJK_FONTS and result["cached"], result


def shown(area) -> list[str]:
    """What an output area shows, item by item: the HTML of each, or the kind of a chart."""
    return [item["data"].get("text/html", "image") for item in area.outputs]


@pytest.fixture
def root(tmp_path):
    shutil.copytree(SAMPLES / "2026-10", tmp_path / "2026-10")
    (tmp_path / "2026-11").mkdir()
    (tmp_path / "2026-11" / "orders.csv").write_text("订单编号,渠道,下单时间\nN1,京东,2026-11-03\n", encoding="utf-8")
    return tmp_path


def test_switching_to_a_bad_month_clears_the_previous_findings(root):
    app = ReviewApp(OrderSlaReview, root, month="2026-10", lang="en")
    assert any("ORD003-LATE-2610" in html for html in shown(app.table))
    assert "image" in shown(app.head)  # the charts, between the headline and the tables
    app.month.value = "2026-11"
    assert app.table.outputs == ()  # emptied, not left showing October under November's error
    assert len(shown(app.head)) == 1 and "orders.csv, row 2, column 渠道 (channel)" in shown(app.head)[0]
    assert "ORD003" not in shown(app.head)[0]
    assert app.rule.options == (("All", ""),)


def test_each_output_area_is_replaced_in_one_update(root):
    """One state update per area and redraw: what Voila's kernel sends the page, and what keeps
    nbclient's stand-in for `with out:` out of the way while the notebook runs."""
    app = ReviewApp(OrderSlaReview, root, month="2026-10", lang="en")
    updates = {"head": 0, "table": 0}
    for name in updates:
        getattr(app, name).observe(lambda change, name=name: updates.__setitem__(name, updates[name] + 1), "outputs")
    app.channel.value = "distributor"
    assert updates == {"head": 1, "table": 1}
    assert "Filtered by: Channel = distributor" in shown(app.head)[0]
    assert all(item["output_type"] == "display_data" for item in (*app.head.outputs, *app.table.outputs))


def test_an_unexpected_error_shows_one_plain_message(root, monkeypatch, capfd):
    app = ReviewApp(OrderSlaReview, root, month="2026-10", lang="zh")

    def broken(*args, **kwargs):
        raise RuntimeError("internal detail /srv/opskit/secret.py line 3")

    monkeypatch.setattr(month, "open_review", broken)
    app.month.value = "2026-11"
    assert app.review is None
    assert app.table.outputs == ()
    assert len(shown(app.head)) == 1 and t("dashboard_error", "zh") in shown(app.head)[0]
    assert "internal detail" not in shown(app.head)[0] and "Traceback" not in shown(app.head)[0]
    assert "RuntimeError: internal detail" in capfd.readouterr().err  # the server's log keeps the traceback
    assert app.rule.options == (("全部", ""),)

"""Personal data planted in every spelling people type never reaches a dashboard page.

One `opskit serve` (its own process group, stopped with every kernel whatever happens) serves the
personal-data corpus (`pii_corpus`: 48 values planted in October) and a November whose orders quote
a phone and an e-mail in a bad cell. Headless Chromium opens the landing page and the four
dashboards, in Chinese and in English; each dashboard shows October's findings whole (the table
holds every finding its count names, so no filter or page has to be walked to show one), is
narrowed by its rule filter to its busiest rule (a table the kernel redraws over the websocket),
then is switched to the bad November so its error box is drawn. Of every page the test keeps the
HTML as the server sent it, the DOM (`page.content()`: widget labels and state included), the text
a viewer reads, and every websocket frame the kernel sent (widget state, redrawn outputs): all are
scanned with the corpus scanner, 0 leaks, and the masked forms of the planted values are shown, so
the scan can fail. Chart pictures cannot be scanned as text; their text is checked where it is
drawn (`test_no_planted_value_is_drawn_into_a_chart`).
"""

from __future__ import annotations

import io
import re
import time

import pytest
import test_browser
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from pii_corpus import CARD_ACCOUNTS, CHAT, PLANTED, bad_month, leaks_in
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from test_serve import start_server, stop, wait_ready

from opskit.month import open_review
from opskit.report.masking import scrub
from opskit.report.notebooks import REVIEWS, review_class

pytestmark = test_browser.pytestmark
browser = test_browser.browser  # one Chromium for the module, launched as the other browser tests do

LANGS = ("zh", "en")
SEEN: dict[str, str] = {}  # what each page showed or was sent, by "page · what"
VISITS: list[str] = []
SERVER_LOG: list = []


def decoded(payload: str | bytes) -> str:
    """A websocket frame as text: the kernel protocol's binary frames carry UTF-8 JSON between their
    offsets; `\\uXXXX` escapes are undone so a value spelled in full-width digits is seen as such."""
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


@pytest.fixture(scope="module")
def data_root(planted):
    bad_month(planted / "2026-11")
    return planted


@pytest.fixture(scope="module")
def server(data_root):
    proc, log = start_server(data_root, "--port", "0")
    try:
        SERVER_LOG.append(log)
        yield f"http://127.0.0.1:{wait_ready(proc, log)}"
    finally:
        stop(proc)


def without_pictures(text: str) -> str:
    """Charts travel as base64 PNG (checked where they are drawn); the rest is scanned whole."""
    return re.sub(r"base64,[A-Za-z0-9+/=\\n]{200,}", "base64,…", text)


def keep(label: str, page, response=None) -> None:
    SEEN[f"{label} · text"] = page.inner_text("body")
    SEEN[f"{label} · dom"] = without_pictures(page.content())
    if response is not None:
        SEEN[f"{label} · sent"] = without_pictures(response.text())


def findings_shown(page, label: str) -> None:
    """Wait for the findings table drawn by the widgets (the page first shows it as HTML, kept in what the
    server sent). A page that shows none is reloaded once, as a manager would, and the reload is reported
    (see `rendered` in test_browser.py)."""
    try:
        page.wait_for_selector(".opskit-app .opskit-count", timeout=150_000)
        return
    except PlaywrightTimeout:
        shown = page.inner_text("body")[:2000]
    VISITS.append(f"{label}: RELOADED ONCE, it showed {shown[:200]!r}")
    page.reload(timeout=300_000)
    try:
        page.wait_for_selector(".opskit-app .opskit-count", timeout=150_000)
    except PlaywrightTimeout:
        log = SERVER_LOG[0].read_text()[-3000:]
        pytest.fail(f"{label} showed no findings, twice:\n{shown}\n--- server log\n{log}")


def table_complete(page) -> int:
    """The findings table holds as many rows as its count line says: every finding is on the page
    (nothing is cut or paged away), so no filter needs walking to show one."""
    count = int(re.search(r"(\d+)", page.inner_text(".opskit-count")).group(1))
    rows = page.locator(".opskit-findings-output table.opskit-table").first.locator("tbody tr").count()
    assert rows == count and "…" not in page.inner_text(".opskit-findings-output")
    return count


def narrow_to_busiest_rule(page, label: str) -> str:
    """Filter by the rule with the most findings: its table is redrawn by the kernel, over the websocket."""
    cells = page.locator(".opskit-findings-output table.opskit-table").first.locator("tbody td").all_inner_texts()
    ids = [c.strip() for c in cells if re.fullmatch(r"[A-Z]+-\d{3}", c.strip())]
    rule = max(sorted(set(ids)), key=ids.count)
    page.locator(".opskit-rule select").select_option(rule)
    page.wait_for_function(
        """rule => {
            const table = document.querySelector('.opskit-findings-output table.opskit-table');
            const count = document.querySelector('.opskit-count');
            if (!table || !count) return false;
            const rows = [...table.tBodies[0].rows];
            return rows.length > 0 && rows.every(r => [...r.cells].some(c => c.innerText.trim() === rule))
                && count.innerText.includes(' ' + rows.length + ' ');
        }""",
        arg=rule,
        timeout=60_000,
    )
    keep(f"{label} · {rule}", page)
    return rule


def open_dashboard(browser, server: str, name: str, lang: str) -> tuple:
    """A dashboard page on October, its kernel's websocket frames recorded; returns at once (the page
    renders while the test reads another)."""
    page = browser.new_page(viewport={"width": 1300, "height": 1600})
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append(decoded(p))))
    # every document the tab loads: a page that reloads itself (busy server, widgets not drawn) or is
    # reloaded by `findings_shown` is read from its last document, whose body the browser still holds
    documents: list = []
    page.on("response", lambda r: documents.append(r) if r.request.resource_type == "document" else None)
    url = f"{server}/voila/render/{name}.ipynb?month=2026-10&lang={lang}"
    page.goto(url, wait_until="commit", timeout=300_000)
    return page, frames, documents


def read_dashboard(page, frames: list[str], documents: list, label: str, started: float) -> None:
    """Every finding of October, one rule's narrowed table, then the bad month's error box."""
    try:
        findings_shown(page, label)
        count = table_complete(page)
        if len(documents) > 1:
            VISITS.append(f"{label}: the page loaded {len(documents)} times (it reloaded itself)")
        response = documents[-1]
        response.finished()
        keep(label, page, response)
        rule = narrow_to_busiest_rule(page, label) if page.locator(".opskit-rule select").count() else "no rule filter"
        page.locator(".opskit-month select").select_option("2026-11")
        page.wait_for_function("!document.querySelector('.opskit-count')", timeout=60_000)
        page.wait_for_selector(".opskit-error", timeout=60_000)
        SEEN[f"{label} · error box"] = page.inner_text(".opskit-error")
        keep(f"{label} · 2026-11", page)
        VISITS.append(f"{label}: {count} findings, {rule}, 2026-11's error ({time.monotonic() - started:.0f} s)")
    finally:
        page.close()
    SEEN[f"{label} · websocket"] = without_pictures("\n".join(frames))


@pytest.fixture(scope="module")
def seen(server, browser):
    """Visit every page in both languages and keep all that was shown or sent. The two languages of a
    dashboard are opened together, so one renders while the other is read."""
    started = time.monotonic()
    for name in sorted(REVIEWS):
        opened = {lang: open_dashboard(browser, server, name, lang) for lang in LANGS}
        for lang, (page, frames, documents) in opened.items():
            read_dashboard(page, frames, documents, f"{name} {lang}", started)
    for lang in LANGS:  # last: the server computes its figures in the background meanwhile
        page = browser.new_page(viewport={"width": 1300, "height": 1600})
        response = page.goto(f"{server}/?lang={lang}", timeout=300_000)
        assert page.locator(".opskit-month-row").count() == 3
        keep(f"landing {lang}", page, response)
        VISITS.append(f"landing {lang} ({time.monotonic() - started:.0f} s)")
        page.close()
    print(f"dashboard pages: {len(VISITS)} views, {len(SEEN)} texts kept", *VISITS, sep="\n  ")
    return SEEN


def test_no_planted_value_leaks_into_any_dashboard_page(seen):
    leaks = {where: found for where, text in seen.items() if (found := leaks_in(text))}
    assert leaks == {}, leaks
    print(f"PII corpus on the dashboards: {len(PLANTED)} planted values, {len(seen)} page texts, {len(leaks)} leaks")


def test_the_pages_showed_the_planted_values_masked(seen):
    """The scan can fail: the planted values did reach the pages, masked."""
    assert len([k for k in seen if k.endswith("· 2026-11 · text")]) == len(REVIEWS) * len(LANGS)
    for lang in LANGS:
        landing = seen[f"landing {lang} · text"]
        assert "138****5698" in landing and "z***@163.com" in landing  # the bad month's error, on its row
        for name in REVIEWS:
            box = seen[f"{name} {lang} · error box"]
            assert "orders.csv, row 2, column 渠道 (channel)" in box and "138****5698" in box, box
        orders = seen[f"order_sla_audit {lang} · text"]
        assert "6228 **** 2222" in orders
        shown = [scrub(v) for v in CARD_ACCOUNTS if scrub(v) in orders]
        assert len(shown) >= 4, shown
        service = seen[f"service_stats {lang} · text"]
        chat = [scrub(v) for v in CHAT if scrub(v) in service]
        assert len(chat) >= len(CHAT) // 2, chat
        frames = seen[f"service_stats {lang} · websocket"]
        assert any(scrub(v) in frames for v in CHAT)  # the narrowed tables came over the websocket


@pytest.mark.parametrize("lang", LANGS)
def test_no_planted_value_is_drawn_into_a_chart(data_root, lang):
    """Charts reach the page as pictures: every text drawn into them (titles, ticks, legends), as a
    manager's dashboard draws them, is scanned; the promotion named with a hotline is among them."""
    drawn = {}
    for name in sorted(REVIEWS):
        review = open_review(review_class(name), data_root, "2026-10", lang=lang, audience="manager")
        for n, fig in enumerate(review.charts()):
            FigureCanvasAgg(fig).print_png(io.BytesIO())  # drawn: tick labels exist only once drawn
            drawn[f"{name} chart {n}"] = "\n".join(t.get_text() for t in fig.findobj(Text))
    leaks = {where: found for where, text in drawn.items() if (found := leaks_in(text))}
    assert leaks == {}, leaks
    assert any("茶叶节 报名热线138-****-5699" in text for text in drawn.values())

"""The dashboards' front door: every month under the data root, with its as_of, headline figures and
links to the four reviews, in Chinese (English by switch).

The server process stays small: a month's figures are computed in a short-lived child process
(`python -m opskit.report.landing ROOT MONTH`), which loads and checks the month once, and kept
while the month's files are unchanged (same names, sizes and modification times).
"""

from __future__ import annotations

import html
import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .i18n import t

TIMEOUT = 300  # seconds one month may take to load and check


def fingerprint(folder: Path) -> tuple:
    """What changes when an export is replaced: names, sizes and modification times of the month's files."""
    return tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()))


def month_summary(root: Path, month: str) -> dict[str, Any]:
    """The month's computed result (the one its dashboards open, from the cache when its files are
    unchanged); the figures the landing page shows, or the data error in one sentence."""
    from ..errors import OpskitError
    from ..month import cached
    from ..reviews import FAMILIES

    summary: dict[str, Any] = {"month": month, "as_of": "", "reviews": {}, "error": ""}
    try:
        result = cached(root, month)
    except OpskitError as exc:
        summary["error"] = str(exc)
        return summary
    findings = result.findings
    summary["as_of"] = result.as_of.strftime("%Y-%m-%d %H:%M")
    for family in FAMILIES:
        mine = findings[findings["rule_id"].str.startswith(family.prefix)] if len(findings) else findings
        open_ = int(mine["open"].sum()) if len(mine) and "open" in mine else 0
        summary["reviews"][family.notebook] = {"findings": len(mine), "open": open_}
    return summary


class MonthSummaries:
    """Headline figures per month, computed in a child process on first need and kept while files stay."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, tuple[tuple, dict]] = {}
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._children: set[subprocess.Popen] = set()
        self._closed = False

    def months(self) -> list[str]:
        from ..loader import month_folders

        return month_folders(self.root)

    def get(self, month: str) -> dict[str, Any]:
        folder = self.root / month
        try:
            mark = fingerprint(folder)
        except OSError as exc:
            return {"month": month, "as_of": "", "reviews": {}, "error": f"{month}: {exc.strerror}"}
        with self._lock:
            month_lock = self._locks.setdefault(month, threading.Lock())
        with month_lock:  # a second visitor waits for the computation under way instead of repeating it
            cached = self._cache.get(month)
            if cached and cached[0] == mark:
                return cached[1]
            summary = self._compute(month)
            self._cache[month] = (mark, summary)
            return summary

    def all(self) -> list[dict[str, Any]]:
        months = self.months()
        with ThreadPoolExecutor(max_workers=1) as pool:  # one child at a time: the server shares its cores
            return list(pool.map(self.get, reversed(months)))

    def _compute(self, month: str) -> dict[str, Any]:
        if self._closed:
            return {"month": month, "as_of": "", "reviews": {}, "error": "server stopping"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "opskit.report.landing", str(self.root), month],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self._children.add(proc)
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return {"month": month, "as_of": "", "reviews": {}, "error": f"{month}: not checked within {TIMEOUT} s"}
        finally:
            self._children.discard(proc)
        if proc.returncode != 0:
            last = (err.strip().splitlines() or ["no output"])[-1]
            return {"month": month, "as_of": "", "reviews": {}, "error": f"{month}: {last}"}
        return json.loads(out)

    def close(self) -> None:
        """Stop any child still computing (the server is shutting down)."""
        self._closed = True
        for proc in list(self._children):
            proc.kill()


PAGE_CSS = (
    "body{font-family:'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif;margin:24px 40px;color:#222}"
    "h1{font-size:22px}table{border-collapse:collapse;font-size:14px}"
    "th,td{padding:6px 12px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}"
    "th{background:#eef3f8}.opskit-lang{float:right}.opskit-note{color:#666;font-size:13px}"
    ".opskit-error{color:#8a1f11}a{color:#2f6f9f}"
)


def page(lang: str, title: str, body: str, head: str = "") -> str:
    """A small self-contained page (no request leaves the machine) in `lang`."""
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
        f'<link rel="icon" href="data:;base64,="><style>{PAGE_CSS}</style>{head}</head>'
        f"<body>{body}</body></html>"
    )


def landing_html(rows: list[dict[str, Any]], lang: str, reviews: list[str], switch: str) -> str:
    """The landing page: one row per month (newest first), its as_of, and per review a link with its figures."""
    head = "".join(f"<th>{html.escape(t(name, lang))}</th>" for name in reviews)
    body_rows = []
    for row in rows:
        month = html.escape(row["month"])
        cells = []
        for name in reviews:
            figures = row["reviews"].get(name)
            link = f'<a class="opskit-review" href="/voila/render/{name}.ipynb?month={month}&amp;lang={lang}">'
            if figures is None:
                cells.append(f"<td>{link}{t('open_review', lang)}</a></td>")
                continue
            text = f"{figures['findings']} {t('n_findings', lang)}"
            if figures["open"]:
                text += f" · {figures['open']} {t('n_open', lang)}"
            cells.append(f"<td>{link}{html.escape(text)}</a></td>")
        error = f'<div class="opskit-error">{html.escape(row["error"])}</div>' if row.get("error") else ""
        as_of = html.escape(row.get("as_of") or "—")
        cells_html = "".join(cells)
        head_cells = f"<td><b>{month}</b>{error}</td><td>{as_of}</td>"
        body_rows.append(f'<tr class="opskit-month-row">{head_cells}{cells_html}</tr>')
    if not rows:
        body_rows.append(f'<tr><td colspan="{2 + len(reviews)}">{t("no_months", lang)}</td></tr>')
    table = (
        f'<table class="opskit-landing"><thead><tr><th>{t("month", lang)}</th><th>{t("as_of", lang)}</th>{head}'
        f"</tr></thead><tbody>{''.join(body_rows)}</tbody></table>"
    )
    body = f"{switch}<h1>{t('site_title', lang)}</h1><p class='opskit-note'>{t('landing_note', lang)}</p>{table}"
    return page(lang, t("site_title", lang), body)


if __name__ == "__main__":
    print(json.dumps(month_summary(Path(sys.argv[1]), sys.argv[2]), ensure_ascii=False))

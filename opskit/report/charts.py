"""Charts for the reviews, and the CJK font they need for Chinese labels.

Chinese labels render as boxes without a CJK font, so `chart_lang` falls back to English labels
(with one warning) when no known CJK font is installed.
"""

from __future__ import annotations

import contextlib
import warnings
from functools import cache
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter, PercentFormatter

from .i18n import t

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Source Han Sans SC",
)
COLORS = ["#2f6f9f", "#e0823d", "#4b9b62", "#b5484b", "#7d64a8", "#8c6d4f"]


# Text drawn from data (promotion names, SKUs, agents) is literal: with mathtext on, a name such as
# `Price $\frac{1}{0$ promo` raises while the figure is drawn.
matplotlib.rcParams["text.parse_math"] = False

CJK_FILE_HINTS = ("cjk", "wqy", "wenquanyi", "simhei", "msyh", "pingfang", "sourcehansans", "notosanssc")


def refresh_font_cache() -> bool:
    """Rebuild matplotlib's font list when a CJK font is installed on the system but unknown to it.

    matplotlib caches the fonts it found when the cache was first built (`fontlist-*.json`); a CJK font
    installed afterwards is ignored until the cache is rebuilt, and Chinese labels draw as boxes.
    Returns whether the cache was rebuilt.
    """
    known = {Path(f.fname).name.lower() for f in font_manager.fontManager.ttflist}
    system = [Path(p) for p in font_manager.findSystemFonts()]
    missing = [p for p in system if any(h in p.name.lower() for h in CJK_FILE_HINTS) and p.name.lower() not in known]
    if not missing:
        return False
    added = 0
    for path in missing:
        try:
            font_manager.fontManager.addfont(str(path))
            added += 1
        except (OSError, RuntimeError, ValueError):  # a file FreeType cannot read is skipped, as matplotlib does
            continue
    if not added:
        return False
    cache = Path(matplotlib.get_cachedir()) / f"fontlist-v{font_manager.FontManager.__version__}.json"
    with contextlib.suppress(OSError):  # a read-only cache folder: this process still has the fonts
        font_manager.json_dump(font_manager.fontManager, str(cache))
    cjk_font.cache_clear()
    return True


@cache
def cjk_font() -> str | None:
    """The first installed CJK font, set as matplotlib's sans-serif; None when there is none."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    if not any(name in installed for name in CJK_FONTS) and refresh_font_cache():
        installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            matplotlib.rcParams["font.sans-serif"] = [name, "DejaVu Sans"]
            matplotlib.rcParams["axes.unicode_minus"] = False
            return name
    warnings.warn(
        "no CJK font installed (e.g. `apt-get install fonts-noto-cjk`): chart labels are drawn in English",
        stacklevel=2,
    )
    return None


def chart_lang(lang: str) -> str:
    """Label language for charts; data values may be Chinese whatever `lang` is, so the font is always set."""
    font = cjk_font()
    return lang if lang != "zh" or font else "en"


def _figure(title: str, width: float = 7.5, height: float = 3.2) -> tuple[Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    ax.set_title(title, loc="left", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def daily_counts(series: dict[str, pd.Series], title: str, lang: str, *, shares: bool = False) -> Figure:
    """One line per named series of daily counts (index: day), or of shares (0–1) drawn in %."""
    fig, ax = _figure(title)
    for (label, values), color in zip(series.items(), COLORS, strict=False):
        ax.plot(values.index, values.to_numpy(), marker="o", markersize=3, label=label, color=color)
    if shares:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1, symbol="%"))
    else:
        ax.set_ylabel(t("count", lang))
    ax.legend(frameon=False, fontsize=9)
    fig.autofmt_xdate()
    fig.tight_layout()
    plt.close(fig)
    return fig


def histogram(values: pd.Series, limit: float, title: str, unit_label: str, lang: str) -> Figure:
    """Distribution of durations with the policy limit drawn as a line."""
    fig, ax = _figure(title)
    clean = values.dropna()
    if len(clean):
        ax.hist(clean.clip(upper=max(limit * 3, 1)), bins=30, color=COLORS[0], alpha=0.85)
    ax.axvline(limit, color=COLORS[3], linestyle="--", label=f"{t('limit_line', lang)} {limit:g} {unit_label}")
    ax.set_xlabel(unit_label)
    ax.set_ylabel(t("count", lang))
    ax.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    plt.close(fig)
    return fig


def stacked_bars(table: pd.DataFrame, title: str, lang: str) -> Figure:
    """Rows as bars, columns stacked (e.g. findings by rule and channel)."""
    fig, ax = _figure(title)
    bottom = pd.Series(0.0, index=table.index)
    for column, color in zip(table.columns, COLORS * 3, strict=False):
        ax.bar(
            table.index.astype(str), table[column].to_numpy(), bottom=bottom.to_numpy(), label=str(column), color=color
        )
        bottom += table[column]
    ax.set_ylabel(t("count", lang))
    if len(table.columns):
        ax.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    plt.close(fig)
    return fig


def bars(values: pd.Series, title: str, lang: str) -> Figure:
    """Horizontal bars, signed (e.g. the largest variances at retail)."""
    fig, ax = _figure(title, height=max(2.4, 0.32 * len(values) + 1))
    colors = [COLORS[3] if v < 0 else COLORS[2] for v in values.to_numpy()]
    ax.barh(values.index.astype(str)[::-1], values.to_numpy()[::-1], color=colors[::-1])
    ax.axvline(0, color="#555", linewidth=0.8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def phases(daily: pd.DataFrame, title: str, labels: dict[str, str], lang: str) -> Figure:
    """Daily revenue around a promotion: baseline, window and after-window shaded differently."""
    fig, ax = _figure(title, height=2.8)
    ax.plot(daily["day"], daily["revenue"], color="#333", linewidth=1.2, marker="o", markersize=2.5)
    for phase, color in (("baseline", COLORS[0]), ("window", COLORS[1]), ("after", COLORS[2])):
        days = daily.loc[daily["phase"] == phase, "day"]
        if len(days):
            ax.axvspan(days.min(), days.max() + pd.Timedelta(days=1), color=color, alpha=0.12, label=labels[phase])
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    plt.close(fig)
    return fig


def grouped_bars(table: pd.DataFrame, title: str, lang: str) -> Figure:
    """Rows as groups, columns as bars side by side (e.g. budget, cost, revenue, target per promotion)."""
    fig, ax = _figure(title)
    width = 0.8 / max(len(table.columns), 1)
    positions = np.arange(len(table.index))
    for i, (column, color) in enumerate(zip(table.columns, COLORS, strict=False)):
        ax.bar(positions + i * width, table[column].fillna(0).to_numpy(), width, label=str(column), color=color)
    ax.set_xticks(positions + width * (len(table.columns) - 1) / 2, table.index.astype(str))
    ax.set_yscale("symlog")  # a target ten times the cost stays readable beside it
    # the log scale's own labels are mathtext (`$10^{3}$`), which literal text would print as code
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig

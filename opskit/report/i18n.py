"""Labels for reports in Chinese (`zh`) or English (`en`), looked up in the catalogues
`opskit/locale/zh.yaml` and `en.yaml` (nothing is written here in Python).

A label that states a rule's limit (`on_time_shipping` → "24小时内发货率") is that rule's headline
label template in the policy, filled from the policy in force; pass `policy` to get it right when a
user's policy changes the limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from ..locale import catalogue, cell_codes

if TYPE_CHECKING:
    from ..policy import Policy


def t(key: str, lang: str = "zh", policy: Policy | None = None) -> str:
    """The label for `key` in `lang`; unknown keys are shown as they are."""
    entry = catalogue(lang)["labels"].get(key)
    if entry is None:
        return key
    if isinstance(entry, dict):
        from ..render import label_of

        return str(label_of(key, lang, policy))
    return str(entry)


def columns(frame_columns: Iterable[str], lang: str, policy: Policy | None = None) -> dict[str, str]:
    """Column labels of a frame in `lang`, for `DataFrame.rename(columns=...)`."""
    return {c: t(c, lang, policy) for c in frame_columns}


KEEP_CODES = {"rule_id", "key", "source", "message", "title", "sku", "ticket_id", "order_id", "promo_id", "count_id"}


def localize_cells(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Cells holding a code (channel, ticket type, unit, clock, severity, boolean, …) shown by their label
    in `lang`; identifiers, keys and messages are left as they are. The frame's machine columns in
    `opskit.check` are untouched: this is for what a person reads."""
    table = cell_codes(lang)
    keep = KEEP_CODES | {t(c, lang) for c in KEEP_CODES}
    out = frame.copy()
    for column in out.columns:
        if column in keep:
            continue
        values = out[column]
        if values.dtype == bool or str(values.dtype) == "boolean":
            out[column] = (
                values.astype("object").map({True: table["True"], False: table["False"]}).where(values.notna(), None)
            )
        elif values.dtype.kind == "O" or isinstance(values.dtype, (pd.CategoricalDtype, pd.StringDtype)):
            text = values.astype("object")
            as_text = text.astype("str")
            known = as_text.isin(list(table)) & text.notna()
            if known.any():
                out[column] = text.where(~known, as_text.map(table))
    return out


# What a column holds, by its key: how tables (HTML, Excel) and headline figures show its numbers.
MONEY_KEYS = frozenset(
    {
        "amount",
        "budget",
        "cost",
        "revenue",
        "promo_revenue",
        "promo_cost",
        "baseline_revenue",
        "baseline_weekday_adjusted",
        "incremental_revenue",
        "incremental_gross_margin",
        "after_revenue",
        "target_sales",
        "diff_at_cost",
        "diff_at_retail",
        "compensation",
        "compensation_due",
        "net_variance_cost",
        "abs_variance_cost",
        "net_variance_retail",
        "abs_variance_retail",
    }
)
SHARE_KEYS = frozenset(
    {
        "share_failed",
        "attainment",
        "replied_within_24h",
        "uplift",
        "roi",
        "dip_after",
        "other_skus_change",
        "record_accuracy",
        "repeat_contact_share",
        "on_time_shipping",
        "contact_within_limit",
        "first_reply_within_limit",
        "after_sales_within_limit",
        "complaint_feedback_within_limit",
    }
)


def kind_of_column(name: str) -> str | None:
    """`money`, `share` or None for a column given by key or by its label in either language."""
    from ..locale import LANGS

    for key in (*MONEY_KEYS, *SHARE_KEYS):
        if name == key or any(name == _plain_label(key, lang) for lang in LANGS):
            return "money" if key in MONEY_KEYS else "share"
    return None


def _plain_label(key: str, lang: str) -> str | None:
    entry = catalogue(lang)["labels"].get(key)
    return entry if isinstance(entry, str) else None


def figure_text(key: str, value, lang: str) -> str:
    """A headline figure as a manager reads it: shares in %, money with ¥, counts with separators."""
    from ..render import money, number

    if value is None or (isinstance(value, float) and value != value):
        return catalogue(lang)["formats"]["missing"]
    if key in SHARE_KEYS:
        return catalogue(lang)["formats"]["percent"].format(n=number(float(value) * 100, 1))
    if key in MONEY_KEYS:
        return money(float(value), lang)
    if isinstance(value, bool):
        return cell_codes(lang)[str(value)]
    if isinstance(value, (int, float)):
        return number(value, 2)
    return str(value)


def present(frame: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """A table as text for HTML: money with ¥ and separators, shares in %, other numbers with
    separators and no float noise, times without seconds or a needless ` 00:00`."""
    from ..render import money_text, number_text, percent_text, time_text

    out = frame.copy()
    for column in out.columns:
        values = out[column]
        kind = kind_of_column(str(column))
        if values.dtype.kind in "mM":
            out[column] = time_text(values, lang).where(values.notna(), "")
        elif values.dtype.kind in "iuf" and values.dtype != bool:
            if kind == "money":
                text = money_text(values, lang)
            elif kind == "share":
                text = percent_text(values, lang)
            else:
                text = number_text(values, lang, 2)
            out[column] = text.where(values.notna(), "")
    return out


def translate_notes(notes: pd.Series, lang: str) -> pd.Series:
    """The promotion-effect notes (English from the metrics) in `lang`, note by note."""
    import re

    table = catalogue(lang)["notes"]
    patterns = []
    for source, target in table.items():
        regex = (
            re.escape(source).replace(r"\{start\}", r"(?P<start>\S+)").replace(r"\{baseline\}", r"(?P<baseline>\S+)")
        )
        patterns.append((re.compile(f"^{regex}$"), target))

    def one(note: str) -> str:
        for pattern, target in patterns:
            match = pattern.match(note)
            if match:
                return target.format(**match.groupdict())
        return note

    def all_of(text: str) -> str:
        return "; ".join(one(n) for n in text.split("; ")) if text else text

    return notes.map(all_of, na_action="ignore")  # a handful of promotions a month


def status_text(status: pd.Series, lang: str) -> pd.Series:
    """Summary statuses: `ran`, or `skipped: no a, b` with the missing datasets named in `lang`."""
    book = catalogue(lang)
    names = book["codes"]["datasets"]
    missing = status.str.removeprefix("skipped: no ").where(status.str.startswith("skipped"), "")
    shown = missing.str.split(", ").map(
        lambda parts: book["formats"]["list_separator"].join(names.get(p, p) for p in parts), na_action="ignore"
    )
    skipped = book["skipped"].split("{datasets}")
    text = (skipped[0] + shown + skipped[1]).where(
        status.str.startswith("skipped"), status.map(book["codes"]["statuses"])
    )
    return text.fillna(status)

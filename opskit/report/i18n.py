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
            out[column] = values.astype("object").map({True: table["True"], False: table["False"]}).where(
                values.notna(), None
            )
        elif values.dtype.kind == "O" or isinstance(values.dtype, (pd.CategoricalDtype, pd.StringDtype)):
            text = values.astype("object")
            as_text = text.astype("str")
            known = as_text.isin(list(table)) & text.notna()
            if known.any():
                out[column] = text.where(~known, as_text.map(table))
    return out

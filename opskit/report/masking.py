"""Masking of personal data in what managers read (HTML, Excel, dashboards).

Analysts in JupyterLab see raw data. What managers read is masked: the batch renders for the
`manager` audience, and `opskit serve` sets `OPSKIT_AUDIENCE=manager` for its kernels, which the
notebooks pass to the review as a plain parameter. Unless the policy says `masking: false`, pay
accounts keep their first and last four digits, mobile numbers their first three and last four, and
buyer accounts and customer names their first character.
"""

from __future__ import annotations

import pandas as pd

AUDIENCE = "OPSKIT_AUDIENCE"
ACCOUNT = r"(?<!\d)(\d{4})[\d \-]{4,}(\d{4})(?!\d)"  # 12+ digit account numbers, spaces or dashes allowed
MOBILE = r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)"  # mainland mobile numbers
PERSONAL_COLUMNS = ("customer_id", "pay_account", "registered_account", "customer_name")


def mask_text(values: pd.Series) -> pd.Series:
    """Account and phone numbers inside free text, masked in place."""
    text = values.astype("str")
    text = text.str.replace(MOBILE, r"\1****\2", regex=True)
    text = text.str.replace(ACCOUNT, r"\1 **** \2", regex=True)
    return text.where(values.notna(), values)


def mask_identifier(values: pd.Series) -> pd.Series:
    """An identifier shown by its first character only (`tb_10350` → `t*******`)."""
    text = values.astype("str")
    masked = text.str.slice(0, 1) + text.str.slice(1).str.replace(r".", "*", regex=True)
    return masked.where(values.notna(), values)


def mask_frame(frame: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Mask the personal columns (by canonical or labelled name) and the numbers inside text columns."""
    out = frame.copy()
    personal = set(PERSONAL_COLUMNS) | {labels[c] for c in PERSONAL_COLUMNS if labels and c in labels}
    for column in out.columns:
        if out[column].dtype.kind in "biufcmM":
            continue
        if column in personal:
            out[column] = mask_identifier(out[column]) if "account" not in str(column) else mask_text(out[column])
        else:
            out[column] = mask_text(out[column])
    return out

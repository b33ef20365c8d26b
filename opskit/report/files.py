"""Files that appear complete or not at all, and cells no spreadsheet will evaluate."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# Spreadsheets evaluate a cell starting with = + - @ (and tab/CR smuggle one in). East-Asian input
# methods type the full-width forms, and some spreadsheet builds fold them (and other look-alikes:
# small and superscript signs, the minus sign, hyphens and dashes) to the ASCII sign on import, so
# every one of them is neutralised like its ASCII form.
FORMULA_LOOKALIKES = (
    "\uff1d\ufe66\u207c\u208c\u2e40\u30a0"  # ＝ ﹦ ⁼ ₌ ⹀ ゠
    "\uff0b\ufe62\u207a\u208a"  # ＋ ﹢ ⁺ ₊
    "\uff0d\ufe63\u2212\u2010\u2011\u2012\u2013\u2014\u2015\u207b\u208b\u2796\u2795"  # － ﹣ − ‐ ‑ ‒ – — ― ⁻ ₋ ➖ ➕
    "\uff20\ufe6b"  # ＠ ﹫
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", *FORMULA_LOOKALIKES)


def is_risky(text: str) -> bool:
    """Whether a spreadsheet could read this text as a formula."""
    return text.startswith(FORMULA_PREFIXES)


def neutralise(values: pd.Series) -> pd.Series:
    """Prefix text that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR, and their
    full-width and other look-alikes) with a quote."""
    if values.dtype.kind in "biufcmM":
        return values
    text = values.astype("object")
    risky = text.map(lambda v: isinstance(v, str) and is_risky(v), na_action="ignore")
    return text.where(~risky.eq(True), "'" + text.astype("str"))  # a missing cell is not risky


def safe_cells(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        out[column] = neutralise(out[column])
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; reports are read by others
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None  # a full disk names the file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# C0 and C1 control characters (ESC starts terminal escape sequences), DEL, and the invisible
# bidirectional overrides that reorder what a terminal shows.
_CONTROLS = "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"


def terminal_safe(text: str) -> str:
    """Text for a terminal: control characters and bidi overrides removed, tabs kept as spaces."""
    return re.sub(_CONTROLS, "", text.replace("\t", " "))


def terminal_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text cell terminal-safe, and its line breaks and tabs made spaces so a row stays one line."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype.kind in "biufcmM":
            continue
        text = out[column].astype("str").str.replace(r"[\r\n\t]+", " ", regex=True)
        text = text.str.replace(_CONTROLS, "", regex=True)
        out[column] = text.where(out[column].notna(), out[column])
    out.columns = [terminal_safe(str(c)) for c in out.columns]
    return out

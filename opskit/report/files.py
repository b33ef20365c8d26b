"""Files that appear complete or not at all, and cells no spreadsheet will evaluate."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(values: pd.Series) -> pd.Series:
    """Prefix text that Excel would read as a formula (`=`, `+`, `-`, `@`, tab, CR) with a quote."""
    if values.dtype.kind in "biufcmM":
        return values
    text = values.astype("object")
    risky = text.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES), na_action="ignore")
    return text.where(~risky.fillna(False).astype(bool), "'" + text.astype("str"))


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
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""Write the golden snapshots of `opskit.check` on the samples: both months, both languages.

    python tests/snapshots/make_snapshots.py

Run it when a message, title or template changes on purpose, then read the diff: every word a
manager reads is in these files, beside the machine columns that must never move.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MONTHS = ("2026-09", "2026-10")
LANGS = ("zh", "en")
COLUMNS = ["rule_id", "key", "observed", "limit", "message", "title"]


def snapshot(month: str, lang: str) -> pd.DataFrame:
    """The columns a snapshot keeps, numbers rounded so float noise never shows as a change."""
    import opskit

    findings = opskit.check(opskit.load(ROOT / "data_samples", month=month), month=month, lang=lang)
    out = findings[COLUMNS].copy()
    out[["observed", "limit"]] = out[["observed", "limit"]].astype("float64").round(6)
    return out


def path_of(month: str, lang: str) -> Path:
    return HERE / f"check-{month}-{lang}.csv"


def main() -> int:
    for month in MONTHS:
        for lang in LANGS:
            snapshot(month, lang).to_csv(path_of(month, lang), index=False, lineterminator="\n")
            print(f"wrote {path_of(month, lang).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())

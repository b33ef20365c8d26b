"""Golden snapshots: `check()` on both sample months in both languages gives exactly the stored
rule ids, keys, observed values, limits, messages and titles (regenerate with
`python tests/snapshots/make_snapshots.py` when the words change on purpose)."""

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent / "snapshots"))
from make_snapshots import LANGS, MONTHS, path_of, snapshot  # noqa: E402


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("month", MONTHS)
def test_check_matches_its_snapshot(month, lang):
    stored = pd.read_csv(path_of(month, lang), dtype={"rule_id": str, "key": str, "message": str, "title": str})
    pd.testing.assert_frame_equal(snapshot(month, lang).reset_index(drop=True), stored, check_dtype=False)


def test_both_languages_judge_alike():
    zh, en = (pd.read_csv(path_of("2026-10", lang)) for lang in LANGS)
    pd.testing.assert_frame_equal(
        zh[["rule_id", "key", "observed", "limit"]], en[["rule_id", "key", "observed", "limit"]]
    )
    assert (zh["message"] != en["message"]).all()

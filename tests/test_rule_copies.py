"""The pieces that let all 34 rules run on a whole load without copying whole frames give exactly
what the plain pandas spellings they replace give (the rules' findings rest on them)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from helpers import write

import opskit
from opskit import keys
from opskit.policy import load_policy
from opskit.reviews.orders.rules import SPACE_OR_DASH, _accounts
from opskit.rule import Context, message_ids

PYTHON_SPACES = [chr(c) for c in range(0x110000) if re.match(r"\s", chr(c))]


def _context(tmp_path) -> Context:
    t = pd.Timestamp("2026-10-05 10:00")
    orders = pd.DataFrame(
        {
            "order_id": ["A", "B", "A", "C", "D"],
            "channel": ["tmall", "wechat", "tmall", "tmall", "distributor"],
            "created_at": [t, t, t + pd.Timedelta(days=1), pd.Timestamp("2026-09-30 10:00"), t],
            "paid_at": [t, None, t, t, t],
            "amount": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    data = opskit.load(write(tmp_path / "2026-10", orders=orders))
    return Context(data, pd.Period("2026-10", "M"), pd.Timestamp("2026-11-01"), load_policy(None))


def test_first_records_with_columns_are_the_first_records_cut_to_those_columns(tmp_path):
    ctx = _context(tmp_path)
    part = ctx.first_in_month("orders", "order_id", "created_at", columns=["paid_at"])
    whole = ctx.first_in_month("orders", "order_id", "created_at")
    assert list(part.columns) == ["order_id", "created_at", "paid_at", "_row"]
    pd.testing.assert_frame_equal(part, whole[part.columns])
    assert list(whole["order_id"]) == ["A", "B", "D"]  # A's repeat and September's C set aside
    assert sum("1 later rows of repeated order_id values set aside" in n for n in ctx.notices) == 1


def test_a_rule_changing_its_columns_does_not_change_the_loaded_frame(tmp_path):
    ctx = _context(tmp_path)
    before = ctx.data["orders"].copy()
    part = ctx.first_in_month("orders", "order_id", "created_at", columns=["paid_at"])
    part["paid_at"] = pd.NaT
    pd.testing.assert_frame_equal(ctx.data["orders"], before)


def test_message_ids_are_what_np_select_gives():
    rng = np.random.default_rng(3)
    a, b = rng.random(200) < 0.3, rng.random(200) < 0.5
    index = pd.RangeIndex(200)
    got = message_ids(index, "other", (a, "first"), (pd.Series(b, index=index), "second"))
    assert got.tolist() == np.select([a, b], ["first", "second"], "other").tolist()
    assert got.dtype == object


def test_the_pattern_spells_exactly_pythons_white_space():
    found = [c for c in map(chr, range(0x110000)) if re.search(r"\s", c)]
    assert found == PYTHON_SPACES
    arrow = pd.Series(["x" + c + "y" for c in PYTHON_SPACES] + ["x-y", "x\u200by"], dtype="str")
    import pyarrow.compute as pc

    stripped = pc.replace_substring_regex(arrow.array._pa_array, SPACE_OR_DASH, "").to_pylist()
    assert stripped == ["xy"] * (len(PYTHON_SPACES) + 1) + ["x\u200by"]  # a zero-width space is not white space


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_accounts_compare_as_pandas_python_regex_spelling_does(dtype):
    values = [f"62 22{c}02-10" for c in PYTHON_SPACES] + ["ab-cd", "ＡＢ　ｃ", "straße", "é\u00a0e", None, "", " - "]
    accounts = pd.Series(values, dtype=dtype)
    expected = accounts.str.replace(r"[\s\-]", "", regex=True).str.upper()
    pd.testing.assert_series_equal(_accounts(accounts), expected)


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_positions_are_a_left_joins_row_lookup(dtype):
    values = pd.Series(["c2", "c9", "c1", None, "c2", "客户3"], dtype=dtype)
    ids = pd.Series(["c1", "c2", "客户3", "c4"], dtype=dtype)
    assert keys.positions(values, ids).tolist() == pd.Index(ids).get_indexer(values).tolist() == [1, -1, 0, -1, 1, 2]


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_enum_spellings_read_cell_by_cell_as_the_column_does(dtype):
    from opskit.parsing import parse_enum, to_text
    from opskit.schema import CHANNELS

    spellings = ["tmall", " 天猫 ", "  ", None, "TMALL", "bogus", "微店", "", " bogus ", "ｔｍａｌｌ"]
    cells = pd.Series(spellings * 3, dtype=dtype)
    out, bad = parse_enum(cells, CHANNELS)
    for cell, value, refused in zip(cells, out, bad, strict=True):
        one, one_bad = parse_enum(to_text(pd.Series([cell], dtype=dtype)), CHANNELS)
        assert (value, refused) == (one.iloc[0], one_bad.iloc[0]) or (pd.isna(value) and pd.isna(one.iloc[0]))
        assert refused == bool(one_bad.iloc[0])
    assert bad.tolist() == [False, False, False, False, False, True, False, False, True, False] * 3

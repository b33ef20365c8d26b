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


def _deadline_on_copied_rows(ctx, rule_id, items, start, end, *, key, dataset, channel=None, scope=None):
    """The pandas spelling `deadline` replaces: the rows in scope copied, every measure a Series over them."""
    from opskit.clock import elapsed
    from opskit.rule import Measurement

    rp = ctx.policy[rule_id]
    in_scope = items[start].notna() if scope is None else scope & items[start].notna()
    items = items[in_scope]
    recorded = items[end].notna()
    observed = elapsed(items[start], items[end].where(recorded, ctx.as_of), rp, ctx.policy)
    limit = rp.limits(items[channel] if channel else None, index=items.index)
    return Measurement(
        items,
        key=key,
        message=message_ids(items.index, "open", (recorded, "late")),
        dataset=dataset,
        observed=observed,
        limit=limit,
        pending=~recorded & ~(observed > limit),
        channel=channel,
        when=start,
        open=~recorded,
    )


@pytest.mark.parametrize("clock", ["calendar", "business"])
@pytest.mark.parametrize("with_scope", [False, True])
def test_deadline_measured_in_place_judges_as_the_copied_rows_do(clock, with_scope):
    """Findings (every column), items checked and items pending are those of the rows copied whole;
    the items the measurement holds are only the findings and the pending ones."""
    from opskit.rule import all_rules, deadline
    from opskit.runner import judge

    rng = np.random.default_rng(11)
    n, channels = 3000, ["tmall", "wechat", "jd"]
    paid = pd.Timestamp("2026-10-01") + pd.to_timedelta(rng.integers(0, 31 * 24 * 60, n), unit="min")
    took = pd.to_timedelta(rng.choice([0, 12 * 60, 24 * 60, 30 * 60, 48 * 60, 72 * 60, 200 * 60], n), unit="min")
    orders = pd.DataFrame(
        {
            "order_id": pd.Series([f"O{i:05d}" for i in range(n)], dtype="str"),
            "channel": pd.Categorical(rng.choice(["tmall", "wechat", "jd", None], n), categories=channels),
            "paid_at": pd.Series(paid).where(rng.random(n) > 0.1),
            "shipped_at": pd.Series(paid + took).where(rng.random(n) > 0.05),
            "amount": rng.random(n),
            "_row": np.arange(2, n + 2),
        },
        index=pd.RangeIndex(n) * 3 + 7,  # labels that are not positions
    )
    policy = load_policy({"rules": {"ORD-003": {"limit": 24, "by_channel": {"wechat": 30}, "clock": clock}}})
    ctx = Context(None, pd.Period("2026-10", "M"), pd.Timestamp("2026-10-25"), policy)
    scope = pd.Series(rng.random(n) > 0.2, index=orders.index) if with_scope else None
    args = dict(key="order_id", dataset="orders", channel="channel", scope=scope)
    rule, rp = all_rules()["ORD-003"], policy["ORD-003"]

    got = deadline(ctx, "ORD-003", orders, "paid_at", "shipped_at", **args)
    expected = _deadline_on_copied_rows(ctx, "ORD-003", orders, "paid_at", "shipped_at", **args)
    checked, pending, rows = judge(rule, rp, got)
    want_checked, want_pending, want_rows = judge(rule, rp, expected)
    assert (checked, pending) == (want_checked, want_pending)
    assert 0 < len(rows) < checked and pending > 0  # the data has findings, pending and compliant orders
    pd.testing.assert_frame_equal(rows, want_rows)
    assert len(got.items) == len(rows) + pending  # no compliant order was copied
    assert "amount" not in got.items  # nor a column the deadline does not read


def test_rows_kept_for_the_callers_own_findings_are_in_scope_and_not_counted_twice():
    """CS-002 judges resolved tickets without feedback whatever their duration: `also` keeps those rows
    (in scope only), and the items checked stay those in scope and not pending."""
    from opskit.rule import deadline

    t = pd.Timestamp("2026-10-05 10:00")
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T1", "T2", "T3", "T4", "T5"],
            "created_at": [t, t, t, None, t],
            "resolved_at": [t + pd.Timedelta(hours=1), t + pd.Timedelta(hours=100), None, t, t],
            "_row": [2, 3, 4, 5, 6],
        }
    )
    ctx = Context(None, pd.Period("2026-10", "M"), pd.Timestamp("2026-10-06"), load_policy(None))
    also = pd.Series([True, False, False, True, True])  # T4 has no start: out of scope whatever `also` says
    scope = pd.Series([True, True, True, True, False])  # T5 out of scope
    args = dict(key="ticket_id", dataset="cs_tickets", scope=scope, also=also)
    got = deadline(ctx, "CS-002", tickets, "created_at", "resolved_at", **args)
    assert got.items["ticket_id"].tolist() == ["T1", "T2", "T3"]  # kept, late, pending (not yet past the limit)
    assert got.pending.tolist() == [False, False, True]
    assert got.checked == 2

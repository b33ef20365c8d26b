"""Properties that must hold for any input, checked with hypothesis (derandomised: CI is repeatable)."""

import datetime as dt
import shutil

import pandas as pd
from helpers import SAMPLES, write
from hypothesis import given, settings
from hypothesis import strategies as st

import opskit
from opskit.parsing import parse_money, parse_timestamps
from opskit.policy import load_policy

FAST = settings(max_examples=40, deadline=None, derandomize=True)
SLOW = settings(max_examples=15, deadline=None, derandomize=True)

moments = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0)
)


@FAST
@given(st.lists(moments, min_size=1, max_size=20))
def test_timestamps_round_trip_in_every_spelling(values):
    ts = pd.Series(pd.to_datetime(values))
    y, m, d = (part.astype("str") for part in (ts.dt.year, ts.dt.month, ts.dt.day))
    clock = ts.dt.strftime("%H:%M")
    for spelling in (
        ts.dt.strftime("%Y-%m-%d %H:%M:%S"),
        y + "/" + m + "/" + d + " " + clock,
        y + "年" + m + "月" + d + "日 " + clock,
    ):
        parsed, bad = parse_timestamps(spelling.astype("str"))
        assert not bad.any()
        assert (parsed == ts).all()


@FAST
@given(st.lists(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False), min_size=1, max_size=20))
def test_money_round_trips(values):
    numbers = pd.Series([float(v) for v in values])
    for spelling in (numbers.map("¥{:,.2f}".format), numbers.map("{:,.2f}".format), numbers.map("{:.2f}元".format)):
        parsed, bad = parse_money(spelling.astype("str"))
        assert not bad.any()
        assert ((parsed - numbers).abs() < 1e-6).all()


def order_rows(draw_values):
    base = pd.Timestamp("2026-10-05 10:00")
    rows = []
    for i, (contact, ship, _reply) in enumerate(draw_values):
        t = base + pd.Timedelta(hours=i)
        rows.append(
            dict(
                order_id=f"O{i}",
                channel="tmall",
                created_at=t,
                accepted_at=t,
                contacted_at=t + pd.Timedelta(minutes=contact),
                paid_at=t,
                shipped_at=None if ship is None else t + pd.Timedelta(minutes=ship),
            )
        )
    return rows


durations = st.lists(
    st.tuples(st.integers(0, 30), st.one_of(st.none(), st.integers(0, 3000)), st.integers(0, 3000)),
    min_size=1,
    max_size=25,
)


def findings_of(folder, policy=None):
    found = opskit.check(opskit.load(folder), month="2026-10", rules="ORD-001,ORD-003,ORD-005,ORD-009", policy=policy)
    return set(zip(found["rule_id"], found["key"], found["observed"].round(6), strict=True))


@SLOW
@given(durations, st.randoms(use_true_random=False), st.integers(0, 5))
def test_findings_do_not_change_when_rows_are_shuffled_or_duplicated(tmp_path_factory, values, rnd, copies):
    rows = order_rows(values)
    first = write(tmp_path_factory.mktemp("a"), orders=rows)
    shuffled = rows[:]
    rnd.shuffle(shuffled)
    shuffled += [rnd.choice(rows) for _ in range(copies)]  # exact duplicates
    second = write(tmp_path_factory.mktemp("b"), orders=shuffled)
    assert findings_of(first) == findings_of(second)


@SLOW
@given(durations, st.integers(0, 40), st.integers(0, 40))
def test_raising_a_limit_never_adds_findings(tmp_path_factory, values, low, extra):
    folder = write(tmp_path_factory.mktemp("o"), orders=order_rows(values))
    strict = {"rules": {"ORD-001": {"limit": low}, "ORD-003": {"limit": low}}}
    lenient = {"rules": {"ORD-001": {"limit": low + extra}, "ORD-003": {"limit": low + extra}}}
    assert {k[:2] for k in findings_of(folder, lenient)} <= {k[:2] for k in findings_of(folder, strict)}


BREAKS = {
    "max": lambda o, lim: o > lim,
    "min": lambda o, lim: o < lim,
    "abs_max": lambda o, lim: abs(o) > lim,
    "eq": lambda o, lim: o != lim,
}


def assert_observed_breaks_limit(found):
    policy = load_policy()
    measured = found.dropna(subset=["observed", "limit"])
    assert len(measured) > 0
    for rule_id, observed, limit in zip(measured["rule_id"], measured["observed"], measured["limit"], strict=True):
        direction = policy[rule_id].direction
        assert direction in BREAKS, rule_id
        assert BREAKS[direction](observed, limit), (rule_id, observed, limit)


def test_every_observed_breaks_its_limit_on_the_samples():
    assert_observed_breaks_limit(opskit.check(opskit.load(SAMPLES, "2026-10"), month="2026-10"))


@SLOW
@given(durations)
def test_every_observed_breaks_its_limit_on_any_orders(tmp_path_factory, values):
    folder = write(tmp_path_factory.mktemp("o"), orders=order_rows(values))
    found = opskit.check(opskit.load(folder), month="2026-10", rules="ORD")
    if found["observed"].notna().any():
        assert_observed_breaks_limit(found)
    shutil.rmtree(folder)

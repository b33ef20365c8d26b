"""Calendar and business clocks for duration rules.

Business time counts only service hours (08:50–18:10 by default) on working days: Monday–Friday,
minus mainland-China public holidays, plus their weekend make-up working days (调休), as the
`holidays` package's China calendar lists them (seed 002 九).

It is vectorised through a cumulative table: F(t) = service minutes from the first day up to t,
so the business duration of any pair is F(end) − F(start), whatever the number of tickets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .policy import Policy, RulePolicy

_DAY = pd.Timedelta(days=1)
_MINUTE = pd.Timedelta(minutes=1)


def working_days(first: pd.Timestamp, last: pd.Timestamp, policy: Policy) -> pd.Series:
    """Whether each day from `first` to `last` is a working day under the policy's calendar."""
    days = pd.date_range(first.normalize(), last.normalize(), freq="D")
    working = days.day_of_week.isin(policy.workdays)
    if policy.holidays == "CN":
        import holidays

        cn = holidays.China(years=range(days[0].year, days[-1].year + 1))
        off = days.isin(pd.DatetimeIndex(list(cn.keys())))
        make_up = days.isin(pd.DatetimeIndex(sorted(cn.weekend_workdays)))
        working = (working & ~off) | make_up
    return pd.Series(working, index=days)


def _minutes_of(text: str) -> float:
    t = pd.Timestamp(f"2000-01-01 {text}")
    return t.hour * 60 + t.minute


def business_minutes(start: pd.Series, end: pd.Series, policy: Policy) -> pd.Series:
    """Service minutes between `start` and `end` (negative when `end` comes first); NaN if either is missing."""
    valid = start.notna() & end.notna()
    out = pd.Series(np.nan, index=start.index, dtype="float64")
    if not valid.any():
        return out
    s, e = start[valid], end[valid]
    first, last = min(s.min(), e.min()).normalize(), max(s.max(), e.max()).normalize()
    table = working_days(first, last, policy)
    working = table.to_numpy()
    open_min = _minutes_of(policy.service_hours[0])
    length = _minutes_of(policy.service_hours[1]) - open_min
    before = np.concatenate([[0], np.cumsum(working)[:-1]]) * length

    def upto(t: pd.Series) -> np.ndarray:
        day = t.dt.normalize()
        idx = ((day - first) // _DAY).to_numpy(dtype="int64")
        within = (((t - day) / _MINUTE) - open_min).clip(0, length).to_numpy()
        return before[idx] + within * working[idx]

    out[valid] = upto(e) - upto(s)
    return out


def in_service_hours(ts: pd.Series, policy: Policy) -> pd.Series:
    """Whether each moment falls inside service hours on a working day."""
    valid = ts.notna()
    out = pd.Series(False, index=ts.index)
    if not valid.any():
        return out
    t = ts[valid]
    table = working_days(t.min(), t.max(), policy)
    day = t.dt.normalize()
    minutes = (t - day) / _MINUTE
    open_min, close_min = (_minutes_of(h) for h in policy.service_hours)
    working = table.reindex(day).to_numpy()
    out[valid] = working & (minutes >= open_min).to_numpy() & (minutes <= close_min).to_numpy()
    return out


def elapsed(start: pd.Series, end: pd.Series, rp: RulePolicy, policy: Policy) -> pd.Series:
    """Duration from `start` to `end` in the rule's unit, on the rule's clock."""
    if rp.clock == "business":
        return business_minutes(start, end, policy) / (rp.step / _MINUTE)
    return (end - start) / rp.step

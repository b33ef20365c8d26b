"""Customer-service statistics beyond the CS rules: volumes, reply and resolution times on both
clocks, SLA attainment per agent, backlog at `as_of`, out-of-hours contacts, repeat contacts and
the week-on-week trend. Every figure is a grouped pandas operation over the month's tickets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...clock import business_minutes, in_service_hours
from ...policy import Policy

REPEAT_WINDOW = pd.Timedelta(days=7)
DIMENSIONS = ("channel", "type", "category", "agent")
BACKLOG_BUCKETS = [0, 24, 48, 24 * 7, np.inf]
BACKLOG_LABELS = ["<24h", "24–48h", "48h–7d", ">7d"]


def month_tickets(tickets: pd.DataFrame, month: str) -> pd.DataFrame:
    """Each ticket's first occurrence, created in `month`."""
    period = pd.Period(month, "M")
    first = tickets.drop_duplicates("ticket_id", keep="first")
    return first[(first["created_at"] >= period.start_time) & (first["created_at"] < (period + 1).start_time)]


def durations(tickets: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """First-reply and resolution hours per ticket, on the calendar and the business clock."""
    out = pd.DataFrame(index=tickets.index)
    for event in ("first_reply_at", "resolved_at"):
        name = event.removesuffix("_at")
        out[f"{name}_h"] = (tickets[event] - tickets["created_at"]) / pd.Timedelta(hours=1)
        out[f"{name}_business_h"] = business_minutes(tickets["created_at"], tickets[event], policy) / 60
    return out


def duration_stats(tickets: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Median and p90 of first reply and resolution, both clocks (hours)."""
    d = durations(tickets, policy)
    rows = []
    for column in d.columns:
        values = d[column].dropna()
        rows.append(
            {
                "measure": column.removesuffix("_h").removesuffix("_business"),
                "clock": "business" if "_business" in column else "calendar",
                "tickets": len(values),
                "median_h": round(values.median(), 2) if len(values) else np.nan,
                "p90_h": round(values.quantile(0.9), 2) if len(values) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def volumes(tickets: pd.DataFrame) -> pd.DataFrame:
    """Tickets per value of each dimension (channel, type, category, agent), in one long table."""
    parts = []
    for dim in DIMENSIONS:
        counts = tickets[dim].astype("object").fillna("—").value_counts()
        parts.append(pd.DataFrame({"dimension": dim, "value": counts.index.astype(str), "tickets": counts.to_numpy()}))
    return pd.concat(parts, ignore_index=True)


def daily(tickets: pd.DataFrame, month: str) -> pd.DataFrame:
    """Tickets per day and channel (all days of the month, zeros included)."""
    period = pd.Period(month, "M")
    days = pd.date_range(period.start_time, periods=period.days_in_month, freq="D")
    table = pd.crosstab(tickets["created_at"].dt.normalize(), tickets["channel"].astype("object"))
    return table.reindex(days, fill_value=0)


def agent_attainment(tickets: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    """Per agent: tickets, tickets with a finding of the duration rules, and the share that complied."""
    timed = findings[findings["rule_id"].isin(["CS-001", "CS-002", "CS-003"])]
    failed = tickets["ticket_id"].isin(timed["key"])
    agent = tickets["agent"].astype("object").fillna("—")
    table = pd.DataFrame({"tickets": agent.value_counts(), "breached": failed.groupby(agent).sum()}).fillna(0)
    table["attainment"] = (1 - table["breached"] / table["tickets"]).round(4)
    return table.astype({"tickets": "int64", "breached": "int64"}).rename_axis("agent").reset_index()


def backlog(tickets: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Tickets not resolved at `as_of`, by age."""
    created = tickets["created_at"] <= as_of
    open_ = created & (tickets["resolved_at"].isna() | (tickets["resolved_at"] > as_of))
    age = (as_of - tickets.loc[open_, "created_at"]) / pd.Timedelta(hours=1)
    bucket = pd.cut(age, BACKLOG_BUCKETS, labels=BACKLOG_LABELS, right=False)
    counts = bucket.value_counts().reindex(BACKLOG_LABELS, fill_value=0)
    return pd.DataFrame({"age": BACKLOG_LABELS, "tickets": counts.to_numpy()})


def out_of_hours(tickets: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Contacts inside service hours, on working days after hours, and on days off; how fast each got a reply."""
    inside = in_service_hours(tickets["created_at"], policy)
    from ...clock import working_days

    if len(tickets):
        table = working_days(tickets["created_at"].min(), tickets["created_at"].max(), policy)
        workday = table.reindex(tickets["created_at"].dt.normalize()).to_numpy()
    else:
        workday = np.array([], dtype=bool)
    when = np.where(inside, "in_hours", np.where(workday, "after_hours", "day_off"))
    reply = (tickets["first_reply_at"] - tickets["created_at"]) / pd.Timedelta(hours=1)
    groups = pd.DataFrame({"when": when, "reply": reply.to_numpy(), "within_24h": (reply <= 24).to_numpy()})
    out = groups.groupby("when").agg(
        tickets=("reply", "size"), median_reply_h=("reply", "median"), replied_within_24h=("within_24h", "mean")
    )
    out = out.reindex(["in_hours", "after_hours", "day_off"]).fillna({"tickets": 0})
    return out.round({"median_reply_h": 2, "replied_within_24h": 4}).astype({"tickets": "int64"}).reset_index()


def repeat_contacts(tickets: pd.DataFrame, window: pd.Timedelta = REPEAT_WINDOW) -> pd.Series:
    """True for a ticket whose customer had another ticket within `window` before it."""
    known = tickets[tickets["customer_id"].notna()].sort_values(["customer_id", "created_at"], kind="stable")
    gap = known["created_at"] - known.groupby("customer_id")["created_at"].shift(1)
    return (gap <= window).reindex(tickets.index, fill_value=False)


def weekly(tickets: pd.DataFrame) -> pd.DataFrame:
    """Tickets and median first reply per week (weeks start on Monday), with the change on the week before."""
    week = tickets["created_at"].dt.to_period("W-SUN").dt.start_time
    reply = (tickets["first_reply_at"] - tickets["created_at"]) / pd.Timedelta(hours=1)
    out = (
        pd.DataFrame({"week": week, "reply": reply})
        .groupby("week")
        .agg(tickets=("reply", "size"), median_reply_h=("reply", "median"))
    )
    out["tickets_change"] = out["tickets"].pct_change().round(4)
    return out.round({"median_reply_h": 2}).reset_index()

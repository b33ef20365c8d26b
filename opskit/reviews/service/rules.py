"""Customer-service rules CS-001..CS-007 (seed 001 第五节 3, 003 四(二) 2, 000 第六章 3, 002 十).

The chat-script rules read `cs_messages` with pandas string methods: the first and last agent
message of each online chat, and whether any agent message uses a polite word.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd

from ...rule import Context, Measurement, deadline, rule


def month_tickets(ctx: Context) -> pd.DataFrame:
    return ctx.first_in_month("cs_tickets", "ticket_id", "created_at")


@rule("CS-001", "cs_tickets", columns={"cs_tickets": ("first_reply_at",)})
def first_reply(ctx: Context) -> Measurement:
    """Every ticket of the month: first reply within the limit after `created_at` (001 第五节 3)."""
    return deadline(
        ctx,
        "CS-001",
        month_tickets(ctx),
        "created_at",
        "first_reply_at",
        key="ticket_id",
        dataset="cs_tickets",
        channel="channel",
    )


@rule("CS-002", "cs_tickets", columns={"cs_tickets": ("resolved_at", "feedback_at")}, params={"took": "duration"})
def after_sales_resolved(ctx: Context) -> Measurement:
    """After-sales tickets: resolved within the limit, and a resolved one has `feedback_at` (001 第五节 3).
    Spec choice: a ticket resolved in time without feedback is a finding with no `observed` or `limit`
    (no threshold was broken); one still open within the limit is pending unless resolved unfed."""
    tickets = month_tickets(ctx)
    d = deadline(
        ctx,
        "CS-002",
        tickets,
        "created_at",
        "resolved_at",
        key="ticket_id",
        dataset="cs_tickets",
        channel="channel",
        scope=tickets["type"] == "after_sales",
    )
    items = d.items
    late = d.observed > d.limit
    no_feedback = items["resolved_at"].notna() & items["feedback_at"].isna()
    message = np.select([late & d.open, late & no_feedback, late], ["open", "late_no_feedback", "late"], "no_feedback")
    return replace(
        d,
        message=pd.Series(message, index=items.index),
        observed=d.observed.where(late),  # feedback alone missing: no threshold broken
        limit=d.limit.where(late),
        breached=no_feedback,
        pending=d.pending & ~no_feedback,
        params={"took": d.observed},
    )


@rule("CS-003", "cs_tickets", columns={"cs_tickets": ("feedback_at",)})
def complaint_feedback(ctx: Context) -> Measurement:
    """Complaints: `feedback_at` within the limit after `created_at` (003 四(二) 2)."""
    tickets = month_tickets(ctx)
    return deadline(
        ctx,
        "CS-003",
        tickets,
        "created_at",
        "feedback_at",
        key="ticket_id",
        dataset="cs_tickets",
        channel="channel",
        scope=tickets["type"] == "complaint",
    )


@rule("CS-004", "cs_tickets", columns={"cs_tickets": ("category",)})
def classified(ctx: Context) -> Measurement:
    """Every ticket of the month has a `category` (001 第五节 3, 000 第六章 3)."""
    tickets = month_tickets(ctx)
    return Measurement(
        tickets,
        key="ticket_id",
        message="unclassified",
        dataset="cs_tickets",
        breached=tickets["category"].isna(),
        channel="channel",
        when="created_at",
    )


def agent_messages(ctx: Context) -> pd.DataFrame:
    """Agent messages of the month's online chats, in the order they were sent."""

    def make() -> pd.DataFrame:
        tickets = month_tickets(ctx)
        chats = tickets.loc[tickets["channel"] == "online_chat", ["ticket_id", "channel", "created_at"]]
        msgs = ctx.data["cs_messages"]
        msgs = msgs[(msgs["sender"] == "agent") & msgs["ticket_id"].isin(chats["ticket_id"])]
        msgs = msgs.sort_values(["ticket_id", "sent_at", "_row"], kind="stable")
        msgs = msgs.assign(text=msgs["text"].fillna(""))
        return msgs.merge(chats, on="ticket_id", how="left")

    return ctx.cached("agent_messages", make)


def _phrases(ctx: Context, rule_id: str) -> tuple[str, str]:
    words = ctx.policy[rule_id].param("phrases")
    return "/".join(words), "|".join(re.escape(w) for w in words)


SCRIPT_PARAMS = {"words": "words", "text": "text"}


def _script_rule(ctx: Context, rule_id: str, keep: str, message: str) -> Measurement:
    words, pattern = _phrases(ctx, rule_id)
    msgs = agent_messages(ctx).drop_duplicates("ticket_id", keep=keep)
    return Measurement(
        msgs,
        key="ticket_id",
        message=message,
        dataset="cs_messages",
        breached=~msgs["text"].str.contains(pattern, regex=True),
        params={"words": words, "text": msgs["text"].str.slice(0, 60)},
        channel="channel",
        when="sent_at",
    )


@rule("CS-005", "cs_tickets", "cs_messages", params=SCRIPT_PARAMS)
def greeting(ctx: Context) -> Measurement:
    """Online chats with an agent message: the first one greets with a greeting phrase (002 十 客服要求 2(1))."""
    return _script_rule(ctx, "CS-005", "first", "no_greeting")


@rule("CS-006", "cs_tickets", "cs_messages", params=SCRIPT_PARAMS)
def closing(ctx: Context) -> Measurement:
    """Online chats with an agent message: the last one closes with a closing phrase (002 十 客服要求 2(3))."""
    return _script_rule(ctx, "CS-006", "last", "no_closing")


@rule("CS-007", "cs_tickets", "cs_messages", params=SCRIPT_PARAMS)
def polite_words(ctx: Context) -> Measurement:
    """Online chats with an agent message: some agent message uses a polite word (002 十 客服要求 2(2));
    the message quotes the chat's first agent message."""
    words, pattern = _phrases(ctx, "CS-007")
    msgs = agent_messages(ctx)
    polite = msgs["text"].str.contains(pattern, regex=True).groupby(msgs["ticket_id"]).any()
    first = msgs.drop_duplicates("ticket_id", keep="first").set_index("ticket_id", drop=False)
    return Measurement(
        first,
        key="ticket_id",
        message="impolite",
        dataset="cs_messages",
        breached=~polite.reindex(first.index).astype(bool),
        params={"words": words, "text": first["text"].str.slice(0, 60)},
        channel="channel",
        when="sent_at",
    )

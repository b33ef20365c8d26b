"""Customer-service rules CS-001..CS-007 (seed 001 第五节 3, 003 四(二) 2, 000 第六章 3, 002 十).

The chat-script rules read `cs_messages` with pandas string methods: the first and last agent
message of each online chat, and whether any agent message uses a polite word.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd

from ...report.masking import clip_text
from ...rule import Context, Measurement, deadline, rule


def month_tickets(ctx: Context, *columns: str) -> pd.DataFrame:
    """The month's tickets, first occurrence of each ticket_id; with `columns`, only those (and the
    id, `created_at`, `_row`)."""
    return ctx.first_in_month("cs_tickets", "ticket_id", "created_at", columns=columns or None)


@rule("CS-001", "cs_tickets", columns={"cs_tickets": ("first_reply_at",)}, month_first=("cs_tickets",))
def first_reply(ctx: Context) -> Measurement:
    """First reply within the limit after the ticket is created (001 第五节 3).

    Scope: the month's tickets (by created_at, first occurrence of each ticket_id).
    Clock: the rule's clock, calendar by default (`clock: business`: 08:50–18:10 working days).
    Spec choice: no reply recorded is pending until as_of is past the limit."""
    return deadline(
        ctx,
        "CS-001",
        month_tickets(ctx, "channel", "first_reply_at"),
        "created_at",
        "first_reply_at",
        key="ticket_id",
        dataset="cs_tickets",
        channel="channel",
    )


@rule(
    "CS-002",
    "cs_tickets",
    columns={"cs_tickets": ("resolved_at", "feedback_at")},
    params={"took": "duration"},
    month_first=("cs_tickets",),
)
def after_sales_resolved(ctx: Context) -> Measurement:
    """An after-sales ticket is resolved within the limit, and a resolved one has feedback (001 第五节 3).

    Scope: the month's after_sales tickets.
    Clock: the rule's clock, calendar by default.
    Spec choice: resolved in time but never fed back is a finding of its own, with no observed value."""
    tickets = month_tickets(ctx, "channel", "type", "resolved_at", "feedback_at")
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
        keep=("feedback_at",),
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


@rule("CS-003", "cs_tickets", columns={"cs_tickets": ("feedback_at",)}, month_first=("cs_tickets",))
def complaint_feedback(ctx: Context) -> Measurement:
    """A complaint gets feedback within the limit after creation (003 四(二) 2).

    Scope: the month's complaint tickets.
    Clock: the rule's clock, calendar by default.
    Spec choice: no feedback recorded is pending until as_of is past the limit."""
    tickets = month_tickets(ctx, "channel", "type", "feedback_at")
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


@rule("CS-004", "cs_tickets", columns={"cs_tickets": ("category",)}, month_first=("cs_tickets",))
def classified(ctx: Context) -> Measurement:
    """Every ticket is classified: category not blank (001 第五节 3, 000 第六章 3).

    Scope: the month's tickets.
    Clock: none.
    Spec choice: white space counts as blank."""
    tickets = month_tickets(ctx, "channel", "category")
    return Measurement(
        tickets,
        key="ticket_id",
        message="unclassified",
        dataset="cs_tickets",
        breached=tickets["category"].isna(),
        channel="channel",
        when="created_at",
    )


SEND_ORDER = ("ticket_id", "sent_at", "_row")  # a chat's messages in the order they were sent


def agent_messages(ctx: Context) -> pd.DataFrame:
    """Agent messages of the month's online chats, in the order they were sent, with their ticket's
    channel and creation time; without the text (see `message_texts`), indexed as in `cs_messages`."""

    def make() -> pd.DataFrame:
        tickets = month_tickets(ctx, "channel")
        chats = tickets.loc[tickets["channel"] == "online_chat", ["ticket_id", "channel", "created_at"]]
        msgs = ctx.data["cs_messages"]
        wanted = (msgs["sender"] == "agent") & msgs["ticket_id"].isin(chats["ticket_id"])
        msgs = msgs.loc[wanted, list(SEND_ORDER)].sort_values(list(SEND_ORDER), kind="stable")
        chats = chats.set_index("ticket_id")  # one row per ticket: a left join is a lookup per column
        for column in ("channel", "created_at"):
            msgs[column] = msgs["ticket_id"].map(chats[column])
        return msgs

    return ctx.cached("agent_messages", make)


def message_texts(ctx: Context, labels: pd.Index) -> pd.Series:
    """The text of the messages at `labels` (blank as ""), in that order.

    Only the few messages a rule judges are taken — the text is most of `cs_messages` — and by a
    filter, which Arrow runs chunk by chunk, before reordering those few: a take in send order
    straight from the file's chunks would first join every chunk of the column into one copy."""
    text = ctx.data["cs_messages"]["text"]
    picked = text[text.index.isin(labels)].reindex(labels)
    return picked.fillna("") if picked.hasnans else picked


def _phrases(ctx: Context, rule_id: str) -> tuple[str, str]:
    words = ctx.policy[rule_id].param("phrases")
    return "/".join(words), "|".join(re.escape(w) for w in words)


SCRIPT_PARAMS = {"words": "words", "text": "text"}


def _script_rule(ctx: Context, rule_id: str, keep: str, message: str) -> Measurement:
    words, pattern = _phrases(ctx, rule_id)
    msgs = agent_messages(ctx).drop_duplicates("ticket_id", keep=keep)
    msgs = msgs.assign(text=message_texts(ctx, msgs.index))
    breached = ~msgs["text"].str.contains(pattern, regex=True)
    return Measurement(
        msgs,
        key="ticket_id",
        message=message,
        dataset="cs_messages",
        breached=breached,
        params={"words": words, "text": clip_text(msgs.loc[breached, "text"], 60)},  # failing rows only
        channel="channel",
        when="sent_at",
    )


@rule("CS-005", "cs_tickets", "cs_messages", params=SCRIPT_PARAMS, month_first=("cs_tickets",))
def greeting(ctx: Context) -> Measurement:
    """An online chat's first agent message greets with one of `params.phrases` (002 十 客服要求 2(1)).

    Scope: the month's online_chat tickets with at least one agent message.
    Clock: none (messages in sent_at order).
    Spec choice: a phrase anywhere in the first agent message counts."""
    return _script_rule(ctx, "CS-005", "first", "no_greeting")


@rule("CS-006", "cs_tickets", "cs_messages", params=SCRIPT_PARAMS, month_first=("cs_tickets",))
def closing(ctx: Context) -> Measurement:
    """An online chat's last agent message closes with one of `params.phrases` (002 十 客服要求 2(3)).

    Scope: the month's online_chat tickets with at least one agent message.
    Clock: none (messages in sent_at order).
    Spec choice: a phrase anywhere in the last agent message counts."""
    return _script_rule(ctx, "CS-006", "last", "no_closing")


@rule("CS-007", "cs_tickets", "cs_messages", params=SCRIPT_PARAMS, month_first=("cs_tickets",))
def polite_words(ctx: Context) -> Measurement:
    """An online chat uses polite words: some agent message holds one of `params.phrases` (002 十 客服要求 2(2)).

    Scope: the month's online_chat tickets with at least one agent message.
    Clock: none.
    Spec choice: one polite message is enough for the whole chat."""
    words, pattern = _phrases(ctx, "CS-007")
    msgs = agent_messages(ctx)
    all_msgs = ctx.data["cs_messages"]
    agents = all_msgs.index.isin(msgs.index)  # in file order: whether any is polite does not need the send order
    said = all_msgs["text"].str.contains(pattern, regex=True, na=False)[agents]  # no copy of the text
    polite = said.groupby(all_msgs.loc[agents, "ticket_id"]).any()
    first = msgs.drop_duplicates("ticket_id", keep="first")
    first = first.assign(text=message_texts(ctx, first.index)).set_index("ticket_id", drop=False)
    rude = ~polite.reindex(first.index).astype(bool)
    return Measurement(
        first,
        key="ticket_id",
        message="impolite",
        dataset="cs_messages",
        breached=rude,
        params={"words": words, "text": clip_text(first.loc[rude, "text"], 60)},  # failing rows only
        channel="channel",
        when="sent_at",
    )

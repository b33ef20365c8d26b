"""Customer-service rules CS-001..CS-007 (seed 001 第五节 3, 003 四(二) 2, 000 第六章 3, 002 十).

The chat-script rules read `cs_messages` with pandas string methods: the first and last agent
message of each online chat, and whether any agent message uses a polite word.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ...report.masking import clip_text
from ...rule import Context, Outcome, duration_rule, findings, measure, num, rule


def month_tickets(ctx: Context) -> pd.DataFrame:
    return ctx.first_in_month("cs_tickets", "ticket_id", "created_at")


@rule("CS-001", "cs_tickets", columns={"cs_tickets": ("first_reply_at",)})
def first_reply(ctx: Context) -> Outcome:
    """First reply within the limit after the ticket is created (001 第五节 3).

    Scope: the month's tickets (by created_at, first occurrence of each ticket_id).
    Clock: the rule's clock, calendar by default (`clock: business`: 08:50–18:10 working days).
    Spec choice: no reply recorded is pending until as_of is past the limit."""
    return duration_rule(
        ctx,
        "CS-001",
        month_tickets(ctx),
        "created_at",
        "first_reply_at",
        key="ticket_id",
        event="first reply",
        after="creation",
        dataset="cs_tickets",
    )


@rule("CS-002", "cs_tickets", columns={"cs_tickets": ("resolved_at", "feedback_at")})
def after_sales_resolved(ctx: Context) -> Outcome:
    """An after-sales ticket is resolved within the limit, and a resolved one has feedback (001 第五节 3).

    Scope: the month's after_sales tickets.
    Clock: the rule's clock, calendar by default.
    Spec choice: resolved in time but never fed back is a finding of its own, with no observed value."""
    rp = ctx.policy["CS-002"]
    tickets = month_tickets(ctx)
    items = tickets[tickets["type"] == "after_sales"]
    d = measure(ctx, rp, items["created_at"], items["resolved_at"], items["channel"])
    no_feedback = items["resolved_at"].notna() & items["feedback_at"].isna()
    bad = d.breached | no_feedback
    obs, lim = num(d.observed), num(d.limit)
    message = np.select(
        [d.breached & ~d.recorded, d.breached & no_feedback, d.breached],
        [
            "not resolved by as_of, " + obs + " h after creation (limit " + lim + " h)",
            "resolved " + obs + " h after creation (limit " + lim + " h) and no feedback to the customer",
            "resolved " + obs + " h after creation (limit " + lim + " h)",
        ],
        "resolved in " + obs + " h but no feedback to the customer",
    )
    pending = d.pending & ~no_feedback
    return Outcome(
        checked=int((~pending).sum()),
        pending=int(pending.sum()),
        findings=findings(
            items[bad],
            key="ticket_id",
            observed=d.observed.where(d.breached),  # feedback alone missing: no threshold broken
            limit=d.limit.where(d.breached),
            message=pd.Series(message, index=items.index),
            dataset="cs_tickets",
            channel="channel",
            when=items["created_at"],
            open=~d.recorded,
        ),
    )


@rule("CS-003", "cs_tickets", columns={"cs_tickets": ("feedback_at",)})
def complaint_feedback(ctx: Context) -> Outcome:
    """A complaint gets feedback within the limit after creation (003 四(二) 2).

    Scope: the month's complaint tickets.
    Clock: the rule's clock, calendar by default.
    Spec choice: no feedback recorded is pending until as_of is past the limit."""
    tickets = month_tickets(ctx)
    return duration_rule(
        ctx,
        "CS-003",
        tickets,
        "created_at",
        "feedback_at",
        key="ticket_id",
        event="fed back",
        after="the complaint",
        dataset="cs_tickets",
        scope=tickets["type"] == "complaint",
    )


@rule("CS-004", "cs_tickets", columns={"cs_tickets": ("category",)})
def classified(ctx: Context) -> Outcome:
    """Every ticket is classified: category not blank (001 第五节 3, 000 第六章 3).

    Scope: the month's tickets.
    Clock: none.
    Spec choice: white space counts as blank."""
    tickets = month_tickets(ctx)
    bad = tickets[tickets["category"].isna()]
    return Outcome(
        checked=len(tickets),
        findings=findings(
            bad,
            key="ticket_id",
            observed=np.nan,
            limit=None,
            message="ticket has no category",
            dataset="cs_tickets",
            channel="channel",
            when=bad["created_at"],
        ),
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


def _phrases(ctx: Context, rule_id: str) -> tuple[list[str], str]:
    words = ctx.policy[rule_id].param("phrases")
    return words, "|".join(re.escape(w) for w in words)


def _script_rule(ctx: Context, rule_id: str, keep: str, which: str) -> Outcome:
    words, pattern = _phrases(ctx, rule_id)
    msgs = agent_messages(ctx).drop_duplicates("ticket_id", keep=keep)
    bad = msgs[~msgs["text"].str.contains(pattern, regex=True)]
    message = f"{which} agent message has none of {'/'.join(words)}: “" + clip_text(bad["text"], 60) + "”"
    return Outcome(
        checked=len(msgs),
        findings=findings(
            bad,
            key="ticket_id",
            observed=np.nan,
            limit=None,
            message=message,
            dataset="cs_messages",
            channel="channel",
            when=bad["sent_at"],
        ),
    )


@rule("CS-005", "cs_tickets", "cs_messages")
def greeting(ctx: Context) -> Outcome:
    """An online chat's first agent message greets with one of `params.phrases` (002 十 客服要求 2(1)).

    Scope: the month's online_chat tickets with at least one agent message.
    Clock: none (messages in sent_at order).
    Spec choice: a phrase anywhere in the first agent message counts."""
    return _script_rule(ctx, "CS-005", "first", "first")


@rule("CS-006", "cs_tickets", "cs_messages")
def closing(ctx: Context) -> Outcome:
    """An online chat's last agent message closes with one of `params.phrases` (002 十 客服要求 2(3)).

    Scope: the month's online_chat tickets with at least one agent message.
    Clock: none (messages in sent_at order).
    Spec choice: a phrase anywhere in the last agent message counts."""
    return _script_rule(ctx, "CS-006", "last", "last")


@rule("CS-007", "cs_tickets", "cs_messages")
def polite_words(ctx: Context) -> Outcome:
    """An online chat uses polite words: some agent message holds one of `params.phrases` (002 十 客服要求 2(2)).

    Scope: the month's online_chat tickets with at least one agent message.
    Clock: none.
    Spec choice: one polite message is enough for the whole chat."""
    words, pattern = _phrases(ctx, "CS-007")
    msgs = agent_messages(ctx)
    polite = msgs["text"].str.contains(pattern, regex=True).groupby(msgs["ticket_id"]).any()
    first = msgs.drop_duplicates("ticket_id", keep="first").set_index("ticket_id", drop=False)
    bad = first[~polite.reindex(first.index).astype(bool)]
    message = f"no agent message uses {'/'.join(words)}; first: “" + bad["text"].str.slice(0, 60) + "”"
    return Outcome(
        checked=len(first),
        findings=findings(
            bad,
            key="ticket_id",
            observed=np.nan,
            limit=None,
            message=message,
            dataset="cs_messages",
            channel="channel",
            when=bad["sent_at"],
        ),
    )

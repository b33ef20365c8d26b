"""CS-001 on Arrow columns, for the Arrow path of `opskit check` (`opskit.fastcheck`).

The same rule as `rules.first_reply`, measured without pandas so a check from the command line does
not pay for importing it; the tests hold both to the same findings, byte for byte.
"""

from __future__ import annotations

READS = {"cs_tickets": ("first_reply_at",)}  # as the rule's `columns=`
MONTH_FIRST = ("cs_tickets", "ticket_id", "created_at", "")  # dataset, key, time, rule judging the repeats


def measure(ctx):
    """First reply within the limit after the ticket is created."""
    from ...fastcheck import deadline

    return deadline(ctx, "CS-001", "cs_tickets", "created_at", "first_reply_at", key="ticket_id", channel="channel")

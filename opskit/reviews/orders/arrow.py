"""ORD-003 on Arrow columns, for the Arrow path of `opskit check` (`opskit.fastcheck`).

The same rule as `rules.ship_after_payment`, measured without pandas so a check from the command
line does not pay for importing it; the tests hold both to the same findings, byte for byte.
"""

from __future__ import annotations

READS = {"orders": ("paid_at", "shipped_at", "refunded_at")}  # as the rule's `columns=`
MONTH_FIRST = ("orders", "order_id", "created_at", "ORD-010")  # dataset, key, time, rule judging the repeats


def measure(ctx):
    """Shipped within the limit after payment; a refunded order never shipped is exempt."""
    from ...fastcheck import deadline

    refunded, shipped = ctx.present("orders", "refunded_at"), ctx.present("orders", "shipped_at")
    return deadline(
        ctx,
        "ORD-003",
        "orders",
        "paid_at",
        "shipped_at",
        key="order_id",
        channel="channel",
        scope=~(refunded & ~shipped),
    )

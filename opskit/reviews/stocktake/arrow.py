"""STK-007 on Arrow columns and numpy, for the Arrow path of `opskit check` (`opskit.fastcheck`).

The same rule as `rules.rolls_forward`, measured without pandas so a check from the command line
does not pay for importing it; the tests hold both to the same findings, byte for byte.
"""

from __future__ import annotations

import numpy as np

READS = {"stock_ledger": ("in_qty", "out_qty", "gift_qty", "return_qty")}  # as the rule's `columns=`
MONTH_FIRST = None
QUANTITIES = ("opening_qty", "in_qty", "return_qty", "out_qty", "gift_qty", "closing_qty")


def measure(ctx):
    """Each ledger row rolls forward: closing = opening + in + return − out − gift, and opening = the
    SKU's previous row's closing. Later rows for a SKU and date already in the ledger are set aside
    with a notice; one finding per row, observed the arithmetic difference when both break."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ...errors import Notice
    from ...fastcheck import Decline, Found

    rp = ctx.policy["STK-007"]
    if rp.direction != "abs_max" or rp.limit is None:
        raise Decline("STK-007: another direction")
    table = ctx.data["stock_ledger"].table  # the ledger is read whole: every row is one the rule sees
    sku = table.column("sku").combine_chunks()
    codes = pc.dictionary_encode(sku).indices.to_numpy().astype(np.int64)
    days = ctx.times("stock_ledger", "date").view(np.int64)  # the ledger is read whole, every row seen
    _, first = np.unique(np.stack([codes, days], axis=1), axis=0, return_index=True)
    kept = np.zeros(len(codes), dtype=bool)
    kept[first] = True
    if not kept.all():
        ctx.notice(Notice("ledger_repeats", file=ctx.files["stock_ledger"], count=int((~kept).sum())))
    at = np.flatnonzero(kept)
    ordered = pc.sort_indices(
        pa.table({"sku": sku.take(at), "date": table.column("date").take(at)}),
        sort_keys=[("sku", "ascending"), ("date", "ascending")],
    ).to_numpy()
    at = at[ordered]  # one row per SKU and date, by SKU then date
    q = {}
    for name in QUANTITIES:
        values = table.column(name).take(at).to_numpy(zero_copy_only=False).astype("float64")
        q[name] = np.where(np.isnan(values), 0.0, values)
    expected = q["opening_qty"] + q["in_qty"] + q["return_qty"] - q["out_qty"] - q["gift_qty"]
    arith = q["closing_qty"] - expected
    same = np.r_[False, codes[at][1:] == codes[at][:-1]]  # the row before is the same SKU's
    previous = np.where(same, np.r_[np.nan, q["closing_qty"][:-1]], np.nan)
    dates = ctx.times("stock_ledger", "date")[at].astype("datetime64[ns]")
    previous_date = np.where(same, np.r_[np.datetime64("NaT", "ns"), dates[:-1]], np.datetime64("NaT", "ns"))
    carry = q["opening_qty"] - previous
    carry = np.where(np.isnan(carry), 0.0, carry)
    broken_a, broken_c = np.abs(arith) > rp.limit, np.abs(carry) > rp.limit
    observed = np.where(broken_a, arith, carry)
    hit = np.flatnonzero(ctx.in_month(dates) & (np.abs(observed) > rp.limit))
    names = sku.take(at[hit]).to_pylist()
    days_text = np.datetime_as_string(dates[hit], unit="D").tolist()
    return Found(
        "stock_ledger",
        at[hit] + 1,
        [f"{s}/{d}" for s, d in zip(names, days_text, strict=True)],
        observed[hit],
        np.full(len(hit), rp.limit),
        np.select([broken_a & broken_c, broken_a], ["both", "arithmetic"], "carry")[hit].tolist(),
        dates[hit],
        np.zeros(len(hit), dtype=bool),
        params={
            "closing": ("qty", q["closing_qty"][hit]),
            "expected": ("qty", expected[hit]),
            "opening": ("qty", q["opening_qty"][hit]),
            "previous": ("qty", previous[hit]),
            "previous_date": ("date", previous_date[hit]),
        },
    )

"""The analyst's hand-written SQL for ORD-003, CS-001 and STK-007, run by DuckDB on the same files.

python -m benchmarks.duckdb_reference DIR csv|parquet   → prints JSON {rule: [[key, observed], …] sorted}

Timed from outside as a whole process (interpreter and `import duckdb` included), like opskit's side.
The keys are the ones opskit reports (`order_id`, `ticket_id`, `sku/YYYY-MM-DD`), so the harness can
compare the findings themselves (key and measured value), not only their number.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

START, END, AS_OF = "2026-10-01", "2026-11-01", "2026-11-01"


def source(folder: Path, name: str, fmt: str) -> str:
    path = folder / f"{name}.{fmt}"
    if fmt == "csv":
        return f"read_csv('{path}', header=true, timestampformat='%Y-%m-%d %H:%M:%S')"
    return f"read_parquet('{path}')"


def queries(folder: Path, fmt: str) -> dict[str, str]:
    orders, tickets, ledger = (source(folder, n, fmt) for n in ("orders", "cs_tickets", "stock_ledger"))
    return {
        "ORD-003": f"""
            WITH src AS (SELECT *, row_number() OVER () AS rn FROM {orders}),
            first AS (SELECT * FROM src QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY rn) = 1)
            SELECT order_id, epoch(coalesce(shipped_at, TIMESTAMP '{AS_OF}') - paid_at) / 3600.0 FROM first
            WHERE created_at >= TIMESTAMP '{START}' AND created_at < TIMESTAMP '{END}'
              AND paid_at IS NOT NULL AND NOT (refunded_at IS NOT NULL AND shipped_at IS NULL)
              AND epoch(coalesce(shipped_at, TIMESTAMP '{AS_OF}') - paid_at) / 3600.0 > 24""",
        "CS-001": f"""
            WITH src AS (SELECT *, row_number() OVER () AS rn FROM {tickets}),
            first AS (SELECT * FROM src QUALIFY row_number() OVER (PARTITION BY ticket_id ORDER BY rn) = 1)
            SELECT ticket_id, epoch(coalesce(first_reply_at, TIMESTAMP '{AS_OF}') - created_at) / 3600.0 FROM first
            WHERE created_at >= TIMESTAMP '{START}' AND created_at < TIMESTAMP '{END}'
              AND epoch(coalesce(first_reply_at, TIMESTAMP '{AS_OF}') - created_at) / 3600.0 > 24""",
        "STK-007": f"""
            WITH src AS (SELECT *, row_number() OVER () AS rn FROM {ledger}),
            l AS (SELECT * FROM src QUALIFY row_number() OVER (PARTITION BY sku, date ORDER BY rn) = 1),
            w AS (SELECT *, lag(closing_qty) OVER (PARTITION BY sku ORDER BY date) AS prev,
                         opening_qty + coalesce(in_qty, 0) + coalesce(return_qty, 0)
                         - coalesce(out_qty, 0) - coalesce(gift_qty, 0) AS expected FROM l)
            SELECT sku || '/' || strftime(date, '%Y-%m-%d'),
                   CASE WHEN closing_qty <> expected THEN closing_qty - expected ELSE opening_qty - prev END
            FROM w
            WHERE date >= DATE '{START}' AND date < DATE '{END}'
              AND (closing_qty <> expected OR (prev IS NOT NULL AND opening_qty <> prev))""",
    }


def run(folder: Path, fmt: str) -> dict[str, list[list]]:
    import duckdb

    con = duckdb.connect()
    return {
        rule: sorted([str(key), round(float(value), 2)] for key, value in con.execute(sql).fetchall())
        for rule, sql in queries(folder, fmt).items()
    }


if __name__ == "__main__":
    print(json.dumps(run(Path(sys.argv[1]), sys.argv[2])))

"""opskit's side of a measurement, in its own process so its peak memory is its own.

python -m benchmarks.opskit_runner DIR [RULES]   → prints JSON {rule: findings, "seconds": …, "rows": …}
"""

from __future__ import annotations

import json
import sys
import time

if __name__ == "__main__":
    from opskit.runner import run_checks  # library start-up is excluded on both sides, as for DuckDB

    started = time.perf_counter()

    folder = sys.argv[1]
    rules = sys.argv[2] if len(sys.argv) > 2 else None
    result = run_checks(folder, "2026-10", rules=rules)
    counts = result.findings["rule_id"].value_counts().to_dict()
    checked = int(result.summary["checked"].sum() + result.summary["pending"].sum())
    print(json.dumps({**counts, "seconds": time.perf_counter() - started, "items": checked}))

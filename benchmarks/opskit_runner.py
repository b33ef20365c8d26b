"""opskit's side of the all-rules measurement, in its own process so its peak memory is its own.

python -m benchmarks.opskit_runner DIR   → prints JSON {"load_s": …, "families": {"ORD": {"s", "findings",
"items"}, …}, "check_s": …}

Every dataset is loaded once, whole, as an analyst's `opskit.load` does; then each rule family is
checked on it and timed on its own.
"""

from __future__ import annotations

import json
import sys
import time

FAMILIES = ("ORD", "PRM", "CS", "STK")

if __name__ == "__main__":
    started = time.perf_counter()
    from opskit.loader import load
    from opskit.runner import run_checks

    data = load(sys.argv[1])
    loaded = time.perf_counter()
    families = {}
    for family in FAMILIES:
        begun = time.perf_counter()
        result = run_checks(data, "2026-10", rules=family)
        families[family] = {
            "s": time.perf_counter() - begun,
            "findings": len(result.findings),
            "items": int(result.summary["checked"].sum() + result.summary["pending"].sum()),
        }
    done = time.perf_counter()
    print(json.dumps({"load_s": loaded - started, "families": families, "check_s": done - loaded}))

"""Where the memory of the all-rules run goes: resident memory before, at its peak during and after
each dataset's load and each rule, in one process as `opskit_runner` runs them (Linux: the peak is
reset through /proc/self/clear_refs before each step).

python -m benchmarks.rule_memory DIR [FAMILY,…]   → one line per step: MiB before, peak (+rise), after, CPU s
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

FAMILIES = ("ORD", "PRM", "CS", "STK")


def _resident() -> tuple[float, float]:
    """Resident memory now and its peak since the last reset, in MiB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _measured(name: str, fn):
    def step(*args, **kwargs):
        before, _ = _resident()
        Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from here
        cpu = time.process_time()
        out = fn(*args, **kwargs)
        after, peak = _resident()
        print(
            f"{name:24s} before {before:7.0f}  peak {peak:7.0f} (+{peak - before:5.0f})  after {after:7.0f}"
            f"  cpu {time.process_time() - cpu:6.2f}",
            flush=True,
        )
        return out

    return step


def main(argv: list[str]) -> int:
    import opskit.loader as loader
    import opskit.runner as runner
    from opskit.rule import all_rules

    whole = loader.load_dataset
    loader.load_dataset = lambda path, name, *a, **k: _measured(f"load {name}", whole)(path, name, *a, **k)
    for rule_id, rule in all_rules().items():
        object.__setattr__(rule, "fn", _measured(rule_id, rule.fn))
    data = loader.load(argv[0])
    for family in argv[1].split(",") if len(argv) > 1 else FAMILIES:
        runner.run_checks(data, "2026-10", rules=family)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

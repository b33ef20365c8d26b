"""Where the time of one `opskit check` process goes, step by step: printed by `make bench` under a
ratio that misses its target, so the miss comes with the profile that explains it.

    python -m benchmarks.phases FOLDER MONTH RULES OUTPUT   # prints one JSON object of seconds

The steps are timed inside the process with the command's own functions wrapped, in the order they
run: importing pandas, importing the rest of opskit, reading each file (with its cut to the month's
first records), checking and converting its cells, the rest of the load, the rules with their
messages, and the findings formatted and written. What the
process spends before its first line (the interpreter starting) is the whole-process wall time,
measured outside, less the sum of these.
"""

from __future__ import annotations

import json
import sys
import time
from functools import wraps

STEPS = (
    "import pandas",
    "import opskit",
    "read + month cut",
    "check cells",
    "rest of the load",
    "rules + messages",
    "findings written",
)


def _timed(owner, name: str, into: dict[str, float], step: str) -> None:
    """Replace `owner.name` by a wrapper adding its wall seconds to `into[step]`."""
    original = getattr(owner, name)

    @wraps(original)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into[step] += time.perf_counter() - started

    setattr(owner, name, wrapper)


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    folder, month, rules, output = argv if argv is not None else sys.argv[1:]
    seconds = dict.fromkeys(STEPS, 0.0)
    import pandas  # noqa: F401  (timed: every opskit check pays it first)

    seconds["import pandas"] = time.perf_counter() - started
    mark = time.perf_counter()
    from opskit import cli, loader, runner

    runner.all_rules()  # the rule modules, imported by the command before it reads anything
    seconds["import opskit"] = time.perf_counter() - mark
    for name in ("read_csv", "read_parquet", "read_excel"):
        _timed(loader, name, seconds, "read + month cut")
    _timed(loader, "shape", seconds, "check cells")
    whole = dict.fromkeys(("command", "checks", "load"), 0.0)
    _timed(cli, "main", whole, "command")
    _timed(runner, "run_checks", whole, "checks")
    _timed(runner, "load", whole, "load")
    code = cli.main(["check", folder, "--month", month, "--rules", rules, "--format", "csv", "--output", output])
    seconds["rest of the load"] = whole["load"] - seconds["read + month cut"] - seconds["check cells"]
    seconds["rules + messages"] = whole["checks"] - whole["load"]
    seconds["findings written"] = whole["command"] - whole["checks"]
    seconds["in process"] = time.perf_counter() - started
    seconds["between steps"] = seconds["in process"] - sum(seconds[step] for step in STEPS)
    print(json.dumps(seconds))
    cli._leave(code)  # the process ends as the command's own does
    return code


if __name__ == "__main__":
    sys.exit(main())

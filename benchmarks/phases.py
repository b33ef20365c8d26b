"""Where the time of one `opskit check` process goes, step by step: printed by `make bench` under a
ratio that misses its target, so the miss comes with the profile that explains it.

    python -m benchmarks.phases FOLDER MONTH RULES OUTPUT   # prints one JSON object of seconds

The steps are timed inside the process with the command's own functions wrapped, in the order they
run: importing numpy and pyarrow, importing the command, then the Arrow path (`opskit.fastcheck`:
reading and checking each file, the month cut, the rules, the findings written) and, when it
declines, the ordinary path (importing pandas and the rules, reading each file with its cut to the
month's first records, checking and converting its cells, the rest of the load, the rules with their
messages, the findings written). A path that did not run shows zeros. What the process spends
before its first line (the interpreter starting) is the whole-process wall time, measured outside,
less the sum of these.
"""

from __future__ import annotations

import json
import sys
import time
from functools import wraps

STEPS = (
    "import numpy + pyarrow",
    "import opskit",
    "Arrow: read, check cells, month cut",
    "Arrow: rules",
    "Arrow: findings written",
    "Arrow: declined",
    "import pandas",
    "import the rules",
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
    import numpy  # noqa: F401  (timed: both paths need them first)
    import pyarrow.compute  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    seconds["import numpy + pyarrow"] = time.perf_counter() - started
    mark = time.perf_counter()
    from opskit import cli, fastcheck

    seconds["import opskit"] = time.perf_counter() - mark
    arrow = dict.fromkeys(("path", "load", "csv", "pandas"), 0.0)
    _timed(fastcheck, "_load_all", arrow, "load")  # the files, two at a time: one wall-clock step
    _timed(fastcheck, "_csv", arrow, "csv")
    _timed(fastcheck, "_give_pandas_back", seconds, "import pandas")
    args = cli._parser().parse_args(
        ["check", folder, "--month", month, "--rules", rules, "--format", "csv", "--output", output]
    )
    args.ends_process = True  # as the `opskit` program runs it: pandas hidden from pyarrow
    mark = time.perf_counter()
    code = fastcheck.try_check(args, cli._write)
    arrow["path"] = time.perf_counter() - mark
    if code is not None:
        seconds["Arrow: read, check cells, month cut"] = arrow["load"]
        seconds["Arrow: rules"] = arrow["path"] - arrow["load"] - arrow["csv"]
        seconds["Arrow: findings written"] = arrow["csv"]  # the findings' words and the file
    else:
        seconds["Arrow: declined"] = arrow["path"] - seconds["import pandas"]
        code = _ordinary(args, cli, seconds)
    seconds["in process"] = time.perf_counter() - started
    seconds["between steps"] = seconds["in process"] - sum(seconds[step] for step in STEPS)
    print(json.dumps(seconds))
    cli._leave(code)  # the process ends as the command's own does
    return code


def _ordinary(args, cli, seconds: dict[str, float]) -> int:
    """The ordinary path, after the Arrow path declined."""
    import os

    mark = time.perf_counter()
    import pandas  # noqa: F401  (already imported where the Arrow path gave it back to pyarrow)

    seconds["import pandas"] += time.perf_counter() - mark
    mark = time.perf_counter()
    from opskit import loader, runner

    runner.all_rules()  # the rule modules, imported by the command before it reads anything
    seconds["import the rules"] = time.perf_counter() - mark
    for name in ("read_csv", "read_parquet", "read_excel"):
        _timed(loader, name, seconds, "read + month cut")
    _timed(loader, "shape", seconds, "check cells")
    whole = dict.fromkeys(("command", "checks", "load"), 0.0)
    _timed(cli, "cmd_check", whole, "command")
    _timed(runner, "run_checks", whole, "checks")
    _timed(runner, "load", whole, "load")
    os.environ["OPSKIT_ENGINE"] = "pandas"  # it declined once already
    code = cli.cmd_check(args)
    seconds["rest of the load"] = whole["load"] - seconds["read + month cut"] - seconds["check cells"]
    seconds["rules + messages"] = whole["checks"] - whole["load"]
    seconds["findings written"] = whole["command"] - whole["checks"]
    return code


if __name__ == "__main__":
    sys.exit(main())

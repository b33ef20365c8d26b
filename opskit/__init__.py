"""opskit: load the operations team's exports, check the operating rules, write the monthly reviews.

    import opskit
    data = opskit.load("data_samples", month="2026-10")
    findings = opskit.check(data, month="2026-10")
    result = opskit.run_checks(data, month="2026-10")  # the findings and the per-rule `checked` table
    opskit.summary(result.findings, result.checked)
    opskit.rows(findings, data)  # the source rows behind findings

Names are imported on first use, so the command line starts without loading pandas; `dir(opskit)`
and tab completion still list them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"
_EXPORTS = {
    "CheckResult": "runner",
    "check": "runner",
    "run_checks": "runner",
    "summary": "runner",
    "rows": "runner",
    "DataError": "errors",
    "OpskitNotice": "errors",
    "OpskitError": "errors",
    "PolicyError": "errors",
    "explain": "explain",
    "rule_table": "explain",
    "Data": "loader",
    "load": "loader",
    "Policy": "policy",
    "load_policy": "policy",
    "MonthResult": "month",
    "open_review": "month",
    "history": "history_store",
    "History": "history_store",
}
__all__ = [
    "CheckResult",
    "Data",
    "DataError",
    "MonthResult",
    "History",
    "OpskitError",
    "OpskitNotice",
    "Policy",
    "PolicyError",
    "check",
    "explain",
    "history",
    "load",
    "load_policy",
    "open_review",
    "rows",
    "rule_table",
    "run_checks",
    "summary",
]

if TYPE_CHECKING:
    from .errors import DataError, OpskitError, OpskitNotice, PolicyError
    from .explain import explain, rule_table
    from .history_store import History, history
    from .loader import Data, load
    from .month import MonthResult, open_review
    from .policy import Policy, load_policy
    from .runner import CheckResult, check, rows, run_checks, summary


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'opskit' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names, though most are imported only on first use: what `opskit.<TAB>` offers."""
    return sorted([*__all__, "__version__"])

"""What a review needs from earlier months, without the store behind it.

A dashboard kernel builds a `MonthContext` from the data root when there is no history store; kept
apart from `opskit.history_store` so that opening a review does not import SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

STATUSES = ("待处理", "处理中", "已整改", "不适用")  # pending, in progress, put right, not applicable
CLOSED = ("已整改", "不适用")


def finding_id(rule_id: str, key: str) -> str:
    """The stable id of a finding: its rule and key, the same every month the breach recurs."""
    return f"{rule_id}:{key}"


def finding_ids(findings: pd.DataFrame) -> pd.Series:
    return findings["rule_id"].astype("str") + ":" + findings["key"].astype("str")


@dataclass
class MonthContext:
    """What a review of `month` needs from earlier months (empty when nothing is known)."""

    month: str
    previous_month: str | None = None
    previous_kpis: dict[str, dict[str, float | None]] = field(default_factory=dict)
    previous_ids: set[str] = field(default_factory=set)
    trend: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["month", "review", "metric", "value"]))
    followups: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["finding_id", "owner", "status", "note"])
    )
    carried: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["month", "finding_id", "rule_id", "key", "message", "owner", "status", "note"]
        )
    )
    source: str = "none"  # "store", "data root" or "none": where the earlier months came from


__all__ = ["CLOSED", "STATUSES", "MonthContext", "finding_id", "finding_ids"]

"""opskit: load the operations team's exports, check the operating rules, write the monthly reviews.

import opskit
data = opskit.load("data_samples", month="2026-10")
findings = opskit.check(data, month="2026-10")
opskit.summary(findings)
"""

from .check import CheckResult, check, run_checks, summary
from .errors import DataError, OpskitError, PolicyError
from .loader import Data, load
from .policy import Policy, load_policy

__all__ = [
    "CheckResult",
    "Data",
    "DataError",
    "OpskitError",
    "Policy",
    "PolicyError",
    "check",
    "load",
    "load_policy",
    "run_checks",
    "summary",
]
__version__ = "0.1.0"

"""Imported by each dashboard kernel as it starts (`--IPKernelApp.exec_lines`), before any page needs it.

A kernel waiting in the server's warm pool has then already paid for pandas, matplotlib, ipywidgets
and the four reviews, so a viewer's page only executes the notebook. Importing is all it does: no
data is read, so a warm kernel serves any month, language and viewer.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("module://matplotlib_inline.backend_inline")

from ..reviews import FAMILIES  # noqa: E402
from . import charts, dashboard  # noqa: E402, F401

for family in FAMILIES:
    family.review_class()
charts.cjk_font()

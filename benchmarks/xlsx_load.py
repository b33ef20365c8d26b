"""One 100k-row xlsx export read in its own process, by opskit's loader or by openpyxl cell by cell.

python -m benchmarks.xlsx_load FILE opskit|openpyxl   → prints JSON {"rows": …}

`openpyxl` is the reference the loader is compared with: every cell of the sheet through
`iter_rows(values_only=True)` in read-only mode, the way the loader read workbooks before.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def with_loader(path: Path) -> int:
    from opskit.loader import load_dataset

    return len(load_dataset(path, "orders"))


def with_openpyxl(path: Path) -> int:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True))
    finally:
        wb.close()


if __name__ == "__main__":
    path, how = Path(sys.argv[1]), sys.argv[2]
    print(json.dumps({"rows": with_loader(path) if how == "opskit" else with_openpyxl(path)}))

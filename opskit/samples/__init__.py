"""Deterministic sample exports with planted violations of every rule.

Background activity is generated vectorised and complies with every rule; each planted case
then breaks (or sits exactly on the boundary of) one rule, under an id that says which, so the
tests can assert the exact findings. Files are written the way the team's exports look:
Chinese headers and values, a GB18030 CSV, xlsx sheets with a title row, mixed date spellings.

    opskit samples data_samples           # the committed samples (2026-09 and 2026-10)
    opskit samples /tmp/big --scale 1000000

Each review family's months are made in its own module (`orders`, `service`, `stocktake`,
`promotions`), on the reference data of `common`; this module assembles and writes them.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..schema import CHANNELS, CS_CHANNELS, DATASETS, TICKET_TYPES, WRITEOFF_KINDS
from .common import MONTHS, SEED, customers, products
from .orders import orders_month
from .promotions import gift_writeoffs, promotions
from .service import tickets_month
from .stocktake import stock_month


def generate(scale: int | None = None, months: tuple[str, ...] = MONTHS) -> dict[str, dict[str, pd.DataFrame]]:
    """Canonical frames per month; `scale` sets the number of orders a month (tickets: half)."""
    # a big store's catalogue grows with its orders: 1,000 SKUs up to 1M orders a month, then one per 1,000
    n_skus = max(1000, (scale or 0) // 1000) if scale and scale >= 100_000 else 40
    prods = products(n_skus)
    custs = customers()
    opening = pd.Series(np.random.default_rng(SEED + 7).integers(40, 200, n_skus), index=prods["sku"])
    out = {}
    for month in MONTHS:
        i = MONTHS.index(month)
        n = scale or (200 if i == 0 else 260)
        if month not in months:  # only the stock carries over to the next month; its orders are not needed
            opening = stock_month(month, prods, opening, SEED + 10 * i + 2)[3]
            continue
        promos = promotions(month, prods)
        orders, lines = orders_month(month, n, prods, custs, promos, SEED + 10 * i)
        tickets, messages = tickets_month(month, max(n // 2, 40), SEED + 10 * i + 1)
        ledger, counts, purchases, opening = stock_month(month, prods, opening, SEED + 10 * i + 2)
        writeoffs = pd.concat([purchases, gift_writeoffs(month, orders, lines)], ignore_index=True)
        out[month] = dict(
            orders=orders,
            order_lines=lines,
            customers=custs,
            products=prods,
            promotions=promos,
            cs_tickets=tickets,
            cs_messages=messages,
            stock_ledger=ledger,
            stock_counts=counts,
            finance_writeoffs=writeoffs[["month", "sku", "kind", "qty", "promo_id"]],
        )
    return out


def _zh_headers(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    ds = DATASETS[name]
    return frame.rename(columns={c.name: c.aliases[0] for c in ds.columns if c.aliases and c.name in frame})


def _zh_values(frame: pd.DataFrame, column: str, values: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    return frame.assign(**{column: frame[column].map({k: v[0] for k, v in values.items()})})


def _mixed_times(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Most rows `2026-10-05 14:03:00`; every 7th `2026/10/5 14:03`; every 11th `2026年10月5日 14:03`."""
    out = frame.copy()
    pos = np.arange(len(frame))
    for column in columns:
        ts = pd.to_datetime(frame[column])
        text = ts.dt.strftime("%Y-%m-%d %H:%M:%S")
        y, m, d = (part.astype("Int64").astype("str") for part in (ts.dt.year, ts.dt.month, ts.dt.day))
        clock = ts.dt.strftime("%H:%M")
        slash = y + "/" + m + "/" + d + " " + clock
        han = y + "年" + m + "月" + d + "日 " + clock
        text = text.where(pos % 7 != 3, slash).where(pos % 11 != 5, han)
        out[column] = text.where(ts.notna())
    return out


def _xlsx(path: Path, frame: pd.DataFrame, title: str | None = None, sheet: str = "Sheet1") -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.properties.created = wb.properties.modified = dt.datetime(2026, 11, 1)  # same bytes on every run
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append([title])
    ws.append(list(frame.columns))
    for row in frame.astype("object").where(frame.notna(), None).itertuples(index=False):
        ws.append([v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in row])
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(_stable_zip(buffer.getvalue()))


def _stable_zip(data: bytes) -> bytes:
    """The same workbook bytes on every run: zip entries get a fixed date instead of now."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 11, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2026-11-01T00:00:00Z", content)
            dst.writestr(fixed, content)
    return out.getvalue()


def write_month(folder: Path, frames: dict[str, pd.DataFrame], month: str) -> None:
    """Dress one month's frames up as the team's exports (formats vary on purpose)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file():
            old.unlink()
    ts_cols = [c.name for c in DATASETS["orders"].columns if c.kind == "timestamp"]
    orders = _zh_values(
        frames["orders"],
        "channel",
        {"tmall": ("天猫旗舰店",), "wechat": ("微店",), "distributor": ("经销商",), "other": ("其他",)},
    )
    orders = _mixed_times(orders, ts_cols)
    orders["special_case"] = orders["special_case"].map({True: "是", False: "否"})
    orders["amount"] = "¥" + orders["amount"].map("{:,.2f}".format)
    _zh_headers("orders", orders).to_csv(folder / "orders.csv", index=False, encoding="gb18030")
    lines = frames["order_lines"].assign(is_gift=frames["order_lines"]["is_gift"].map({True: "Y", False: "N"}))
    _zh_headers("order_lines", lines).to_csv(folder / "order_lines.csv", index=False, encoding="utf-8-sig")
    custs = _zh_values(frames["customers"], "channel", CHANNELS)
    _xlsx(folder / "customers.xlsx", _zh_headers("customers", custs), title="客户档案")
    frames["products"].to_csv(folder / "products.csv", index=False)
    promos = _zh_values(frames["promotions"], "channel", CHANNELS)
    _xlsx(folder / "promotions.xlsx", _zh_headers("promotions", promos), sheet="活动方案")
    tickets = _zh_values(_zh_values(frames["cs_tickets"], "channel", CS_CHANNELS), "type", TICKET_TYPES)
    _zh_headers(
        "cs_tickets", _mixed_times(tickets, ["created_at", "first_reply_at", "resolved_at", "feedback_at"])
    ).to_csv(folder / "cs_tickets.csv", index=False)
    frames["cs_messages"].to_parquet(folder / "cs_messages.parquet", index=False)
    ledger = _zh_headers("stock_ledger", frames["stock_ledger"])
    y, m = month.split("-")
    _xlsx(folder / "电商台帐表.xlsx", ledger, title=f"电商台帐表 {y}年{int(m)}月", sheet="台帐")
    counts = frames["stock_counts"].assign(
        count_date=frames["stock_counts"]["count_date"].dt.strftime("%Y/%m/%d"),
        is_recount=frames["stock_counts"]["is_recount"].map({True: "是", False: "否"}),
    )
    _zh_headers("stock_counts", counts).to_csv(folder / "盘点表.csv", index=False, encoding="gb18030")
    writeoffs = _zh_values(frames["finance_writeoffs"], "kind", WRITEOFF_KINDS)
    writeoffs["month"] = f"{y}年{int(m)}月"
    _xlsx(folder / "finance_writeoffs.xlsx", _zh_headers("finance_writeoffs", writeoffs), sheet="核销")
    manifest = {"datasets": {"stock_ledger": {"file": "电商台帐表.xlsx", "sheet": "台帐"}}}
    (folder / "opskit.yaml").write_text(
        "# Files whose names do not say their dataset are mapped here.\n"
        + yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )


def write_scale(folder: Path, frames: dict[str, pd.DataFrame]) -> list[Path]:
    """Benchmark data: the same month as plain CSV (canonical headers, ISO times) and as Parquet."""
    written = []
    for fmt in ("csv", "parquet"):
        target = folder / fmt / "2026-10"
        target.mkdir(parents=True, exist_ok=True)
        for name, frame in frames.items():
            if fmt == "csv":
                frame.to_csv(target / f"{name}.csv", index=False, date_format="%Y-%m-%d %H:%M:%S")
            else:
                frame.to_parquet(target / f"{name}.parquet", index=False)
        written.append(target)
    return written


def write_samples(root: str | Path, scale: int | None = None) -> list[Path]:
    """Write `root/2026-09/` and `root/2026-10/`; with `scale`, `root/{csv,parquet}/2026-10/` of that size."""
    root = Path(root)
    if scale:
        return write_scale(root, generate(scale, months=("2026-10",))["2026-10"])
    written = []
    for month, frames in generate().items():
        write_month(root / month, frames, month)
        written.append(root / month)
    return written

"""The personal-data corpus: 48 values in the spellings people type, planted in a copy of the
October samples, and the scanner that finds any of them in an output, however it is spelled there.

`tests/test_pii_corpus.py` scans every output of `opskit run`, `tests/test_pii_dashboards.py` every
dashboard page; both plant and scan with this one copy so the two checks cannot drift apart.
The `planted` fixture (conftest) gives each test module its own planted data root.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path

import pandas as pd
from helpers import SAMPLES
from openpyxl import load_workbook

CARD_ACCOUNTS = [  # on orders, against the registered account: ORD-007 quotes both
    "6228.4800.1111.2201",
    "6228_4800_1111_2202",
    "6228-4800-1111-2203",
    "6228 4800 1111 2204",
    "6228480011112205",
    "62284800206",  # an 11-digit account
    "zhang.san@163.com",
    "138-1234-5600",
]
REGISTERED = ["6222．0210．4251．4911", "li.si_shop@qq.com", "＋８６ １３９ １２３４ ５６０１", "6222021042514912"]
CHAT = [  # phones, cards and e-mails in chat text, each in its own agent line
    "138-1234-5603",
    "１３８１２３４５６０６",
    "+86 138 1234 5607",
    "＋８６－１３８－１２３４－５６０８",
    "0086-13812345609",
    "(+86)13812345610",
    "138_1234_5611",
    "138.1234.5612",
    "138 1234 5613",
    "13812345614",
    "１３８ １２３４ ５６１５",
    "１３８－１２３４－５６１６",
    "+8613812345617",
    "86 138 1234 5618",
    "138　1234　5619",  # ideographic spaces
    "6222 0210 4251 4921",
    "6222-0210-4251-4922",
    "6222.0210.4251.4923",
    "6222_0210_4251_4924",
    "６２２２０２１０４２５１４９２５",
    "622202104251492600",
    "wang.wu@163.com",
    "zhao_liu1990@qq.com",
    "sun.qi＠sina．com",
    "li+shop@example.com.cn",
    "010-62345601",
    "0755 23456702",
    "18912345627",
    "17712345628",
    "15012345629",
]
BUYERS = ["zhangsan_1988", "李四的小店_0521", "wangwu.shop"]  # buyer accounts on tickets (a personal column)
PROMOTION = "茶叶节 报名热线138-1234-5699"
DATA_ERROR = "京东 13812345698 zhou.ba@163.com"  # an unknown channel: the run fails quoting the cell
PLANTED = CARD_ACCOUNTS + REGISTERED + CHAT + BUYERS + ["138-1234-5699", "13812345698", "zhou.ba@163.com"]


def plant(folder: Path) -> None:
    month = folder / "2026-10"
    orders = pd.read_csv(month / "orders.csv", encoding="gb18030", dtype=str, keep_default_na=False)
    customers = pd.read_excel(month / "customers.xlsx", header=1, dtype=str, engine="openpyxl").fillna("")
    registered = customers[customers["打款账户"] != ""]["客户编号"].tolist()
    targets = orders.index[
        orders["渠道"].isin(["经销商", "微店"]) & orders["客户编号"].isin(registered) & (orders["打款账户"] != "")
    ]
    assert len(targets) >= len(CARD_ACCOUNTS)
    for i, account in zip(targets, CARD_ACCOUNTS, strict=False):
        orders.at[i, "打款账户"] = account
    orders.to_csv(month / "orders.csv", index=False, encoding="gb18030")
    used = list(dict.fromkeys(orders.loc[targets[: len(CARD_ACCOUNTS)], "客户编号"]))
    assert len(used) >= len(REGISTERED)
    for customer, account in zip(used, REGISTERED, strict=False):
        customers.loc[customers["客户编号"] == customer, "打款账户"] = account
    (month / "customers.xlsx").unlink()
    customers.to_csv(month / "customers.csv", index=False, encoding="utf-8")

    tickets = pd.read_csv(month / "cs_tickets.csv", dtype=str, keep_default_na=False)
    messages = pd.read_parquet(month / "cs_messages.parquet")
    new_tickets, new_messages = [], []
    for n, value in enumerate(CHAT):
        ticket = f"PII-{n:02d}"
        pad = "订单已经安排" * (4 + n % 6)  # puts the value across the 60-character cut for some lines
        new_tickets.append(
            {
                "工单号": ticket,
                "渠道": "在线",
                "类型": "咨询",
                "分类": "物流",
                "客户": BUYERS[n % 3],
                "订单编号": "",
                "创建时间": f"2026-10-{10 + n % 15:02d} 10:00:00",
                "首次回复时间": f"2026-10-{10 + n % 15:02d} 10:05:00",
                "解决时间": "",
                "反馈时间": "",
                "客服": "小王",
            }
        )
        new_messages.append(
            {
                "ticket_id": ticket,
                "sent_at": pd.Timestamp(f"2026-10-{10 + n % 15:02d} 10:05"),
                "sender": "agent",
                "text": f"{pad}联系电话{value}随时找我",
            }
        )
        new_messages.append(
            {
                "ticket_id": ticket,
                "sent_at": pd.Timestamp(f"2026-10-{10 + n % 15:02d} 10:06"),
                "sender": "agent",
                "text": f"备用联系方式 {value}",
            }
        )
    # the same buyers contact twice within a week: the repeat-contact table lists them
    pd.concat([tickets, pd.DataFrame(new_tickets)]).to_csv(month / "cs_tickets.csv", index=False)
    messages = pd.concat([messages, pd.DataFrame(new_messages)], ignore_index=True)
    messages["sent_at"] = messages["sent_at"].astype("datetime64[us]")
    messages.to_parquet(month / "cs_messages.parquet", index=False)

    wb = load_workbook(month / "promotions.xlsx")
    ws = wb.worksheets[0]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == "茶叶节")
    cell.value = PROMOTION
    wb.save(month / "promotions.xlsx")


def digits(text: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", text))


def scan_view(text: str) -> str:
    """Output text folded so that any spelling of a planted value shows as plain digits or letters."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"(?<=\d)[\s\-._\u3000()+]+(?=\d)", "", text)


def leaks_in(text: str) -> list[str]:
    view = scan_view(text)
    found = []
    for value in PLANTED:
        folded = unicodedata.normalize("NFKC", value).lower()
        if "@" in folded:
            local = folded.split("@")[0]
            if folded in view or f"{local}@" in view:
                found.append(value)
        elif len(digits(value)) >= 11:
            core = digits(value)[-11:]  # the national number, whatever prefix it was written with
            if core in view:
                found.append(value)
        elif folded in view:
            found.append(value)
    return found


def planted_root(folder: Path) -> Path:
    """A copy of the samples (every month) at `folder`, with the corpus planted in October."""
    shutil.copytree(SAMPLES, folder)
    plant(folder)
    return folder


def bad_month(folder: Path) -> Path:
    """A month whose orders have an unknown channel: loading it fails with a data error quoting the cell
    (`DATA_ERROR`, a phone and an e-mail)."""
    folder.mkdir(parents=True)
    (folder / "orders.csv").write_text(f"订单编号,渠道,下单时间\nN1,{DATA_ERROR},{folder.name}-03\n", encoding="utf-8")
    return folder

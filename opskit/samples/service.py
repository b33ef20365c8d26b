"""Sample customer-service tickets and chat messages: background activity and the planted CS cases."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import CS_CHANNELS, TICKET_TYPES
from .common import AGENTS, MONTHS, D, H, M, _ids


def tickets_month(month: str, n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    s = pd.Timestamp(month + "-01")
    created = (
        s
        + pd.to_timedelta(rng.integers(0, s.days_in_month - 3, n), unit="D")
        + pd.to_timedelta(rng.integers(7 * 60, 23 * 60, n), unit="min")
    )
    channel = rng.choice(list(CS_CHANNELS), n, p=[0.3, 0.5, 0.1, 0.1])
    kind = rng.choice(list(TICKET_TYPES), n, p=[0.6, 0.15, 0.25])
    reply = created + pd.to_timedelta(rng.integers(2, 20 * 60, n), unit="min")
    resolved = reply + pd.to_timedelta(rng.integers(10, 20 * 60, n), unit="min")
    categories = np.array(["物流", "商品质量", "价格", "发票", "退换货", "活动规则"])
    tickets = pd.DataFrame(
        {
            "ticket_id": "T" + s.strftime("%y%m") + _ids("", n),
            "channel": channel,
            "type": kind,
            "category": categories[rng.integers(0, 6, n)],
            "customer_id": "tb_" + pd.Series(rng.integers(10000, 10400, n)).astype("str"),
            "order_id": None,
            "created_at": created,
            "first_reply_at": reply,
            "resolved_at": resolved,
            "feedback_at": resolved + pd.to_timedelta(rng.integers(1, 60, n), unit="min"),
            "agent": np.array(AGENTS)[rng.integers(0, len(AGENTS), n)],
        }
    )
    c = s + 5 * D + 9 * H
    last = (pd.Period(month, "M") + 1).start_time
    planted = [
        dict(ticket_id="CS001-LATE", first_reply_at=c + 30 * H, resolved_at=c + 31 * H, feedback_at=c + 32 * H),
        dict(ticket_id="CS001-EXACT", first_reply_at=c + 24 * H),
        dict(ticket_id="CS001-NEVER", first_reply_at=pd.NaT, resolved_at=pd.NaT, feedback_at=pd.NaT),
        dict(
            ticket_id="CS001-PENDING",
            created_at=last - 12 * H,
            first_reply_at=pd.NaT,
            resolved_at=pd.NaT,
            feedback_at=pd.NaT,
        ),
        dict(ticket_id="CS002-SLOW", type="after_sales", resolved_at=c + 50 * H, feedback_at=c + 51 * H),
        dict(ticket_id="CS002-NO-FEEDBACK", type="after_sales", resolved_at=c + 40 * H, feedback_at=pd.NaT),
        dict(ticket_id="CS002-EXACT", type="after_sales", resolved_at=c + 48 * H, feedback_at=c + 49 * H),
        dict(ticket_id="CS003-LATE", type="complaint", resolved_at=c + 30 * H, feedback_at=c + 60 * H),
        dict(
            ticket_id="CS003-PENDING",
            type="complaint",
            created_at=last - 20 * H,
            first_reply_at=last - 19 * H,
            resolved_at=pd.NaT,
            feedback_at=pd.NaT,
        ),
        dict(ticket_id="CS004-BLANK", category=None),
        dict(ticket_id="CS005-NO-GREETING", channel="online_chat"),
        dict(ticket_id="CS006-NO-CLOSING", channel="online_chat"),
        dict(ticket_id="CS007-IMPOLITE", channel="online_chat"),
        dict(ticket_id="CHAT-SILENT", channel="online_chat"),  # no agent message: CS-005..007 skip it
    ]
    if month != MONTHS[-1]:
        planted = [p for p in planted if p["ticket_id"] in ("CS001-LATE", "CS004-BLANK")]
    base = dict(
        channel="phone",
        type="inquiry",
        category="物流",
        customer_id="tb_20001",
        order_id=None,
        created_at=c,
        first_reply_at=c + 1 * H,
        resolved_at=c + 2 * H,
        feedback_at=c + 3 * H,
        agent="小王",
    )
    rows = pd.DataFrame([{**base, **p} for p in planted])
    rows["ticket_id"] = rows["ticket_id"] + "-" + s.strftime("%y%m")
    tickets = pd.concat([tickets, rows], ignore_index=True)
    return tickets, _messages(tickets)


def _messages(tickets: pd.DataFrame) -> pd.DataFrame:
    chats = tickets[tickets["channel"] == "online_chat"]
    chats = chats[~chats["ticket_id"].str.startswith("CHAT-SILENT")]
    t0 = chats["first_reply_at"].fillna(chats["created_at"] + 5 * M)
    greeting = pd.Series("您好，欢迎光临旗舰店，请问有什么可以帮您？", index=chats.index)
    closing = pd.Series("感谢您的咨询，祝您生活愉快，再见！", index=chats.index)
    tid = chats["ticket_id"]
    greeting[tid.str.startswith("CS005")] = "请问有什么问题？"
    closing[tid.str.startswith("CS006")] = "好的，请您稍后留意物流信息。"
    greeting[tid.str.startswith("CS007")] = "你好，什么事？"
    closing[tid.str.startswith("CS007")] = "已经处理了，谢谢，再见。"
    reply = pd.Series("已为您查询，订单正在配送中，请耐心等待。", index=chats.index)
    reply[tid.str.startswith("CS007")] = "查了，在路上。"
    parts = [
        pd.DataFrame(
            {
                "ticket_id": tid,
                "sent_at": chats["created_at"],
                "sender": "customer",
                "text": "在吗？我的订单什么时候发货？",
            }
        ),
        pd.DataFrame({"ticket_id": tid, "sent_at": t0, "sender": "agent", "text": greeting}),
        pd.DataFrame({"ticket_id": tid, "sent_at": t0 + 2 * M, "sender": "agent", "text": reply}),
        pd.DataFrame({"ticket_id": tid, "sent_at": t0 + 4 * M, "sender": "customer", "text": "好的"}),
        pd.DataFrame({"ticket_id": tid, "sent_at": t0 + 5 * M, "sender": "agent", "text": closing}),
    ]
    silent = tickets[tickets["ticket_id"].str.startswith("CHAT-SILENT")]
    parts.append(
        pd.DataFrame(
            {
                "ticket_id": silent["ticket_id"],
                "sent_at": silent["created_at"],
                "sender": "customer",
                "text": "你好，有人吗？",
            }
        )
    )
    return pd.concat(parts, ignore_index=True).sort_values(["ticket_id", "sent_at"], kind="stable")

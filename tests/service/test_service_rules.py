"""CS-001..CS-007 at their boundaries."""

import pandas as pd
from helpers import audit, keys, summary_row, write

T = pd.Timestamp("2026-10-12 10:00")
H = pd.Timedelta(hours=1)


def ticket(ticket_id, type="inquiry", channel="phone", created=T, **kw):
    row = dict(
        ticket_id=ticket_id,
        channel=channel,
        type=type,
        category="物流",
        created_at=created,
        first_reply_at=created + H,
        resolved_at=created + 2 * H,
        feedback_at=created + 3 * H,
        agent="小王",
    )
    row.update(kw)
    return row


def test_cs_001_first_reply(tmp_path):
    write(
        tmp_path,
        cs_tickets=[
            ticket("exact", first_reply_at=T + 24 * H),
            ticket("over", first_reply_at=T + 24 * H + pd.Timedelta(minutes=1)),
            ticket("never", first_reply_at=None),
            ticket("pending", created=pd.Timestamp("2026-10-31 12:00"), first_reply_at=None),
            ticket("november", created=pd.Timestamp("2026-11-01 00:00"), first_reply_at=None),
        ],
    )
    found = audit(tmp_path, rules="CS-001")
    assert keys(found, "CS-001") == {"over", "never"}
    assert summary_row(found, "CS-001")["pending"] == 1


def test_cs_002_after_sales_resolution_and_feedback(tmp_path):
    write(
        tmp_path,
        cs_tickets=[
            ticket("exact", "after_sales", resolved_at=T + 48 * H, feedback_at=T + 49 * H),
            ticket("slow", "after_sales", resolved_at=T + 49 * H, feedback_at=T + 50 * H),
            ticket("no-feedback", "after_sales", resolved_at=T + 10 * H, feedback_at=None),
            ticket(
                "open-pending",
                "after_sales",
                created=pd.Timestamp("2026-10-30 12:00"),
                resolved_at=None,
                feedback_at=None,
            ),
            ticket("open-late", "after_sales", resolved_at=None, feedback_at=None),
            ticket("inquiry-slow", "inquiry", resolved_at=T + 100 * H),
        ],
    )
    found = audit(tmp_path, rules="CS-002", lang="en")
    assert keys(found, "CS-002") == {"slow", "no-feedback", "open-late"}
    assert "no feedback" in found.set_index("key").loc["no-feedback", "message"]
    assert summary_row(found, "CS-002")["pending"] == 1


def test_cs_003_complaint_feedback(tmp_path):
    write(
        tmp_path,
        cs_tickets=[
            ticket("exact", "complaint", feedback_at=T + 48 * H),
            ticket("late", "complaint", feedback_at=T + 60 * H),
            ticket("pending", "complaint", created=pd.Timestamp("2026-10-31 01:00"), feedback_at=None),
            ticket("inquiry", "inquiry", feedback_at=None),
        ],
    )
    assert keys(audit(tmp_path, rules="CS-003"), "CS-003") == {"late"}


def test_cs_004_classified(tmp_path):
    write(tmp_path, cs_tickets=[ticket("ok"), ticket("blank", category=None), ticket("space", category="  ")])
    assert keys(audit(tmp_path, rules="CS-004"), "CS-004") == {"blank", "space"}


def chats(tmp_path, phrases=None):
    names = ("good", "no-greeting", "no-closing", "rude", "silent", "out-of-order")
    tickets = [ticket(t, channel="online_chat") for t in names]
    tickets.append(ticket("phone", channel="phone"))

    def m(tid, minute, sender, text):
        return dict(ticket_id=tid, sent_at=T + pd.Timedelta(minutes=minute), sender=sender, text=text)

    messages = [
        m("good", 1, "客户", "在吗"),
        m("good", 2, "客服", "您好，请问有什么可以帮您"),
        m("good", 3, "客服", "感谢，再见"),
        m("no-greeting", 1, "客服", "请问什么事"),
        m("no-greeting", 2, "客服", "谢谢您"),
        m("no-closing", 2, "客服", "你好，请稍等"),
        m("no-closing", 1, "客服", "欢迎光临"),
        m("no-closing", 3, "客服", "好的您"),
        m("rude", 1, "客服", "你好"),
        m("rude", 2, "客服", "好，再见"),
        m("silent", 1, "客户", "你好？"),
        m("out-of-order", 9, "客服", "感谢，再见"),
        m("out-of-order", 1, "客服", "您好"),  # file order ≠ time order
        m("phone", 1, "客服", "喂"),
    ]
    write(tmp_path, cs_tickets=tickets, cs_messages=messages)
    return audit(tmp_path, rules="CS-005,CS-006,CS-007", policy=phrases)


def test_cs_005_006_007_chat_script_rules(tmp_path):
    found = chats(tmp_path)
    assert keys(found) == {("CS-005", "no-greeting"), ("CS-006", "no-closing"), ("CS-007", "rude")}
    assert summary_row(found, "CS-005")["checked"] == 5  # the silent chat and the phone call are not checked
    row = found.set_index("rule_id").loc["CS-006"]
    assert "好的您" in row["message"] and row["source"].startswith("cs_messages.csv:")


def test_cs_005_phrases_come_from_the_policy(tmp_path):
    found = chats(tmp_path, {"rules": {"CS-005": {"params": {"phrases": ["您好"]}}}})
    # no-closing's first message by time is 欢迎光临, which lacks 您好
    assert keys(found, "CS-005") == {"no-greeting", "rude", "no-closing"}

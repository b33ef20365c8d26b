"""Labels for reports in Chinese (`zh`) or English (`en`); one table, looked up by key."""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    # reviews
    "order_sla_audit": ("订单时效审计", "Order SLA audit"),
    "promotion_review": ("促销活动复盘", "Promotion review"),
    "service_stats": ("客服统计", "Customer-service stats"),
    "stocktake_variance": ("盘点差异分析", "Stock-take variance"),
    "summary": ("汇总", "Summary"),
    # table columns
    "rule_id": ("规则", "Rule"),
    "title": ("规则名称", "Rule title"),
    "key": ("对象", "Item"),
    "observed": ("实际值", "Observed"),
    "limit": ("标准", "Limit"),
    "unit": ("单位", "Unit"),
    "message": ("说明", "Finding"),
    "severity": ("严重程度", "Severity"),
    "source": ("来源(文件:行)", "Source (file:row)"),
    "amount": ("金额", "Amount"),
    "channel": ("渠道", "Channel"),
    "when": ("时间", "When"),
    "open": ("未结", "Open"),
    "checked": ("已检查", "Checked"),
    "failed": ("不合规", "Failed"),
    "share_failed": ("不合规率", "Share failed"),
    "pending": ("待定", "Pending"),
    "status": ("状态", "Status"),
    "source_clause": ("制度条款", "Source clause"),
    "review": ("报告", "Review"),
    "metric": ("指标", "Metric"),
    "value": ("数值", "Value"),
    # headline figures
    "orders": ("订单数", "Orders"),
    "paid": ("已付款", "Paid"),
    "shipped": ("已发货", "Shipped"),
    "on_time_shipping": ("24小时内发货率", "Shipped within 24 h"),
    "contact_within_limit": ("10分钟内联系率", "Contacted within 10 min"),
    "open_breaches": ("截至审计时点未结违规", "Open breaches at as_of"),
    "findings": ("违规条数", "Findings"),
    # charts
    "daily_paid_shipped": ("每日付款与发货", "Daily paid vs shipped"),
    "pay_to_ship_hours": ("付款到发货时长分布(小时)", "Payment → shipment (hours)"),
    "findings_by_rule_channel": ("各规则各渠道违规数", "Findings by rule and channel"),
    "hours": ("小时", "hours"),
    "count": ("数量", "count"),
    "day": ("日期", "day"),
    "limit_line": ("时限", "limit"),
    # dashboard
    "month": ("月份", "Month"),
    "all": ("全部", "All"),
    "from": ("从", "From"),
    "to": ("到", "To"),
    "rule": ("规则", "Rule"),
    "n_findings": ("条违规", "findings"),
    "no_findings": ("没有违规", "No findings"),
    "data_error": ("数据有误，无法生成报告", "The data cannot be read"),
    "rule_summary": ("规则汇总", "Rule summary"),
    "headline": ("关键指标", "Headline figures"),
    "findings_table": ("违规明细", "Findings"),
    # service review
    "tickets": ("工单数", "Tickets"),
    "type": ("类型", "Type"),
    "agent": ("客服", "Agent"),
    "category": ("分类", "Category"),
    "first_reply_median_h": ("首次回复中位数(小时)", "Median first reply (h)"),
    "first_reply_within_limit": ("24小时内首次回复率", "First reply within 24 h"),
    "after_sales_within_limit": ("售后48小时内处理率", "After-sales done within 48 h"),
    "complaint_feedback_within_limit": ("投诉48小时内反馈率", "Complaints fed back within 48 h"),
    "backlog_at_as_of": ("审计时点未解决工单", "Unresolved at as_of"),
    "outside_service_hours": ("服务时间外咨询", "Contacts outside service hours"),
    "repeat_contact_share": ("7天内重复咨询占比", "Repeat contacts within 7 days"),
    "daily_tickets": ("每日工单(按渠道)", "Tickets per day by channel"),
    "first_reply_hours": ("首次回复时长分布(小时)", "First reply (hours)"),
    "sla_by_agent": ("各客服时效达标", "SLA by agent"),
    "breached": ("超时", "Breached"),
    "attainment": ("达标率", "Attainment"),
    "volumes": ("咨询量(按渠道/类型/分类/客服)", "Volumes by channel, type, category, agent"),
    "dimension": ("维度", "Dimension"),
    "reply_resolution_times": ("回复与解决时长(日历/工作时间)", "Reply and resolution times (calendar / business)"),
    "measure": ("指标", "Measure"),
    "clock": ("计时方式", "Clock"),
    "median_h": ("中位数(小时)", "Median (h)"),
    "p90_h": ("P90(小时)", "P90 (h)"),
    "backlog": ("未解决工单账龄", "Backlog age at as_of"),
    "age": ("账龄", "Age"),
    "out_of_hours": ("服务时间外的咨询及回复", "Contacts outside service hours and how they were answered"),
    "median_reply_h": ("回复中位数(小时)", "Median reply (h)"),
    "replied_within_24h": ("24小时内回复率", "Replied within 24 h"),
    "repeat_contacts": ("7天内重复咨询", "Repeat contacts within 7 days"),
    "customer_id": ("客户", "Customer"),
    "ticket_id": ("工单号", "Ticket"),
    "created_at": ("创建时间", "Created"),
    "weekly_trend": ("周趋势", "Week-on-week trend"),
    "week": ("周(周一起)", "Week (from Monday)"),
    "tickets_change": ("环比", "Change on last week"),
}


def t(key: str, lang: str = "zh") -> str:
    """The label for `key` in `lang`; unknown keys are shown as they are."""
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]


def columns(frame_columns, lang: str) -> dict[str, str]:
    return {c: t(c, lang) for c in frame_columns}

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
}


def t(key: str, lang: str = "zh") -> str:
    """The label for `key` in `lang`; unknown keys are shown as they are."""
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]


def columns(frame_columns, lang: str) -> dict[str, str]:
    return {c: t(c, lang) for c in frame_columns}

"""The four review families, declared once: what the runner, the batch, the dashboards and the
notebook template derive from.

A family lives in `opskit/reviews/<name>/`: `rules.py` (its rules, registered by rule id on import),
`metrics.py` where it computes more than findings, and `review.py` (what its review shows). Nothing
imports a family by hand: `load_rules()` imports every family's rules, `Family.review_class()` the
review, so adding a family is one entry here and one folder.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    """One review family: its folder, rule-id prefix, notebook stem, review class and notebook heading."""

    name: str
    prefix: str
    notebook: str
    review: str
    title: str
    about: str

    @property
    def rules_module(self) -> str:
        return f"{__name__}.{self.name}.rules"

    def review_class(self) -> type:
        """The `Review` subclass of this family (imported on first use: it pulls in matplotlib)."""
        module, _, cls = self.review.partition(":")
        return getattr(importlib.import_module(f"{__name__}.{self.name}.{module}"), cls)


FAMILIES: tuple[Family, ...] = (
    Family(
        "orders",
        "ORD",
        "order_sla_audit",
        "review:OrderSlaReview",
        "订单时效审计 · Order SLA audit",
        "本月订单是否按制度及时联系、跟踪、发货，经销商发货是否三方签字，客户是否建档并从登记账户付款。\n\n"
        "Were this month's orders contacted, tracked and shipped on time, dealer shipments signed off, "
        "customers registered and paying from their registered accounts?",
    ),
    Family(
        "service",
        "CS",
        "service_stats",
        "review:ServiceReview",
        "客服统计 · Customer-service stats",
        "咨询与投诉是否按时回复、售后是否按时处理并反馈、投诉是否按时反馈、是否逐条分类，"
        "在线客服是否使用规范用语（时限见下方规则表，以现行制度为准）；"
        "以及咨询量、回复时长（日历与工作时间）、积压、服务时间外咨询、重复咨询和周趋势。\n\n"
        "Were inquiries answered, after-sales done and fed back, and complaints fed back in time (the limits in force "
        "are in the rules table below), every ticket classified and the chat script followed? With volumes, reply "
        "times on both clocks, backlog, out-of-hours and repeat contacts, and the weekly trend.",
    ),
    Family(
        "stocktake",
        "STK",
        "stocktake_variance",
        "review:StocktakeReview",
        "盘点差异分析 · Stock-take variance",
        "是否在制度规定的盘点日由两人以上盘点，实盘与电商台帐表是否相符，差异是否及时复盘，短缺按零售价赔偿；"
        "台帐是否每日填写、结转相符，进货与财务核销是否一致；以及库存记录准确率、差异金额、可售天数和滞销品。\n\n"
        "Was stock counted on the policy's count day by two people, did the count match the ledger, were "
        "variances recounted in time and shortages charged at retail, is the ledger complete and rolling "
        "forward, do purchases match finance? With record accuracy, variance value, days of cover and slow movers.",
    ),
    Family(
        "promotions",
        "PRM",
        "promotion_review",
        "review:PromotionReview",
        "促销活动复盘 · Promotion review",
        "活动方案是否按制度提前提交并经经理审批、销管部与市场部确认、内容完整，结束后是否按时提交总结，赠品出库与财务核销是否一致，"
        "费用是否在预算内、销售额是否达标；以及活动提升、增量、投资回报、活动后回落和对同类商品的影响。\n\n"
        "Were plans submitted in time, approved, confirmed and complete, reviews submitted, gifts written off, "
        "costs within budget and targets met? With uplift, incremental revenue, ROI, the dip after, and the effect "
        "on other SKUs of the category.",
    ),
)
BY_NOTEBOOK: dict[str, Family] = {f.notebook: f for f in FAMILIES}
BY_PREFIX: dict[str, Family] = {f.prefix: f for f in FAMILIES}


def load_rules() -> None:
    """Import every family's rules (each registers its rules by id); cheap after the first call."""
    for family in FAMILIES:
        importlib.import_module(family.rules_module)


def family_of(rule_id: str) -> Family:
    """The family a rule id belongs to, by its prefix (`ORD-003` → orders)."""
    return BY_PREFIX[rule_id.split("-", 1)[0]]

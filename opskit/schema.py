"""The ten datasets of the spec, declared once: columns, kinds, aliases, value aliases.

Loaders, checks and the sample generator all read these declarations, so a header alias or an
enumeration spelling is added in exactly one place.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["str", "timestamp", "date", "money", "int", "bool", "enum", "month"]

CHANNELS = {
    "tmall": ("天猫", "天猫旗舰店", "天猫店"),
    "wechat": ("微店", "微信", "微商", "微信小店", "微信商城"),
    "distributor": ("经销商", "經銷商", "分销", "dealer"),
    "other": ("其他", "其它"),
}
CS_CHANNELS = {
    "phone": ("电话", "热线", "電話"),
    "online_chat": ("在线", "在线客服", "在線客服", "online", "chat"),
    "social": ("社交媒体", "社交", "微博"),
    "email": ("邮件", "电子邮件", "e-mail", "mail"),
}
TICKET_TYPES = {
    "inquiry": ("咨询", "諮詢"),
    "complaint": ("投诉", "投訴"),
    "after_sales": ("售后", "售後", "after-sales", "aftersales"),
}
SENDERS = {"agent": ("客服",), "customer": ("客户", "顾客", "买家")}
WRITEOFF_KINDS = {"purchase": ("进货", "采购", "進貨"), "gift": ("赠品", "贈品")}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "str"
    required: bool = False
    aliases: tuple[str, ...] = ()
    values: dict[str, tuple[str, ...]] | None = None  # enum: canonical value -> spellings
    default: object = None
    minimum: float | None = None  # quantities that cannot be negative

    def header_names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Dataset:
    name: str
    title_zh: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    column_index: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_index", {c.name: c for c in self.columns})

    def __getitem__(self, name: str) -> Column:
        return self.column_index[name]

    @property
    def required(self) -> list[Column]:
        return [c for c in self.columns if c.required]


def norm(text: object) -> str:
    """Fold case, width and surrounding spaces so `ＯＲＤＥＲ_ID ` matches `order_id`."""
    return unicodedata.normalize("NFKC", str(text)).strip().casefold()


def C(name: str, kind: Kind = "str", *aliases: str, required: bool = False, **kw) -> Column:  # noqa: N802
    return Column(name, kind, required, tuple(aliases), **kw)


def R(name: str, kind: Kind = "str", *aliases: str, **kw) -> Column:  # noqa: N802
    return Column(name, kind, True, tuple(aliases), **kw)


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            "orders",
            "订单",
            (
                R("order_id", "str", "订单编号", "订单号"),
                R("channel", "enum", "渠道", "店铺", "来源", values=CHANNELS),
                C("customer_id", "str", "客户编号", "买家账号", "客户"),
                C("pay_account", "str", "打款账户", "付款账号"),
                R("created_at", "timestamp", "下单时间", "创建时间"),
                C("paid_at", "timestamp", "付款时间", "支付时间"),
                C("accepted_at", "timestamp", "受理时间"),
                C("contacted_at", "timestamp", "联系时间", "联系确认时间"),
                C("confirmed_at", "timestamp", "确认时间"),
                C("handed_off_at", "timestamp", "提交跟踪时间", "移交时间"),
                C("shipped_at", "timestamp", "发货时间"),
                C("delivered_at", "timestamp", "签收时间"),
                C("refunded_at", "timestamp", "退款时间"),
                C("status", "str", "订单状态"),
                C("amount", "money", "订单金额", "实付金额"),
                C("sign_ecommerce", "str", "电商主管签字"),
                C("sign_marketing", "str", "推广主管签字", "市场部签字"),
                C("sign_salesops", "str", "运营主管签字", "销管部签字"),
                C("special_case", "bool", "特殊情况", default=False),
                C("waybill_no", "str", "快递单号", "运单号"),
            ),
            key=("order_id",),
        ),
        Dataset(
            "order_lines",
            "订单明细",
            (
                R("order_id", "str", "订单编号", "订单号"),
                R("sku", "str", "商品编码", "SKU", "货号"),
                R("qty", "int", "数量", minimum=0),
                R("unit_price", "money", "单价", "成交价"),
                C("is_gift", "bool", "赠品", default=False),
                C("promo_id", "str", "活动编号"),
            ),
        ),
        Dataset(
            "customers",
            "客户档案",
            (
                R("customer_id", "str", "客户编号"),
                C("name", "str", "客户名称"),
                C("channel", "enum", "渠道", values=CHANNELS),
                R("registered_at", "timestamp", "建档时间", "登记时间"),
                C("pay_account", "str", "打款账户"),
                C("price_tier", "str", "进货价格等级"),
            ),
            key=("customer_id",),
        ),
        Dataset(
            "products",
            "商品",
            (
                R("sku", "str", "商品编码"),
                C("name", "str", "商品名称"),
                C("category", "str", "类目"),
                R("retail_price", "money", "零售价"),
                C("cost_price", "money", "成本价"),
            ),
            key=("sku",),
        ),
        Dataset(
            "promotions",
            "促销活动",
            (
                R("promo_id", "str", "活动编号"),
                C("name", "str", "活动名称"),
                C("channel", "enum", "渠道", values=CHANNELS),
                C("plan_submitted_at", "timestamp", "方案提交时间"),
                C("approved_at", "timestamp", "审批时间", "经理审批时间"),
                C("confirmed_salesops_at", "timestamp", "销管部确认时间"),
                C("confirmed_marketing_at", "timestamp", "市场部确认时间"),
                R("start_at", "timestamp", "开始时间"),
                R("end_at", "timestamp", "结束时间"),
                C("goal", "str", "活动目标"),
                C("budget", "money", "预算"),
                C("channels", "str", "推广渠道"),
                C("scope_skus", "str", "活动商品"),
                C("target_sales", "money", "目标销售额"),
                C("gift_rule", "str", "赠品规则"),
                C("review_submitted_at", "timestamp", "总结提交时间"),
            ),
            key=("promo_id",),
        ),
        Dataset(
            "cs_tickets",
            "客服工单",
            (
                R("ticket_id", "str", "工单号", "会话编号"),
                R("channel", "enum", "渠道", values=CS_CHANNELS),
                R("type", "enum", "类型", values=TICKET_TYPES),
                C("category", "str", "分类", "问题分类"),
                C("customer_id", "str", "客户"),
                C("order_id", "str", "订单编号"),
                R("created_at", "timestamp", "创建时间", "咨询时间"),
                C("first_reply_at", "timestamp", "首次回复时间"),
                C("resolved_at", "timestamp", "解决时间", "处理完成时间"),
                C("feedback_at", "timestamp", "反馈时间"),
                C("agent", "str", "客服", "客服人员"),
            ),
            key=("ticket_id",),
        ),
        Dataset(
            "cs_messages",
            "客服消息",
            (
                R("ticket_id", "str", "会话编号"),
                R("sent_at", "timestamp", "发送时间"),
                R("sender", "enum", "发送方", values=SENDERS),
                C("text", "str", "内容", "消息内容"),
            ),
        ),
        Dataset(
            "stock_ledger",
            "电商台帐表",
            (
                R("date", "date", "日期"),
                R("sku", "str", "商品编码"),
                R("opening_qty", "int", "期初", "期初库存"),
                C("in_qty", "int", "入库", default=0, minimum=0),
                C("out_qty", "int", "出库", default=0, minimum=0),
                C("gift_qty", "int", "赠品出库", default=0, minimum=0),
                C("return_qty", "int", "退货入库", default=0, minimum=0),
                R("closing_qty", "int", "期末", "结存", "期末库存"),
            ),
            key=("sku", "date"),
        ),
        Dataset(
            "stock_counts",
            "盘点表",
            (
                R("count_id", "str", "盘点单号"),
                R("count_date", "date", "盘点日期"),
                R("sku", "str", "商品编码"),
                R("counted_qty", "int", "实盘数量", "盘点数量", minimum=0),
                C("counters", "str", "盘点人"),
                C("is_recount", "bool", "复盘", default=False),
            ),
        ),
        Dataset(
            "finance_writeoffs",
            "财务核销",
            (
                R("month", "month", "月份"),
                R("sku", "str", "商品编码"),
                R("kind", "enum", "类型", values=WRITEOFF_KINDS),
                R("qty", "int", "数量", minimum=0),
                C("promo_id", "str", "活动编号"),
            ),
        ),
    ]
}


# The columns of a findings table (`opskit.check`), in order: the contract of findings.csv and the API.
FINDINGS_COLUMNS = [
    "rule_id",
    "key",
    "observed",
    "limit",
    "unit",
    "message",
    "severity",
    "dataset",
    "source",
    "amount",
    "channel",
    "when",
    "open",
    "title",
    "row",
    "clock",
    "message_id",
]

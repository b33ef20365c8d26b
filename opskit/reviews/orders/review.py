"""The order SLA audit: shipping and contact times, sign-offs, registration and order integrity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ...locale import cell_codes
from ...report.i18n import t
from ...report.review import Review
from ...rule import Context
from .rules import month_orders

if TYPE_CHECKING:
    from matplotlib.figure import Figure  # charts import matplotlib on first use, not with the review


def _share_ok(summary: pd.DataFrame, rule_id: str) -> float:
    row = summary.set_index("rule_id").loc[rule_id]
    return round(1 - row["failed"] / row["checked"], 4) if row["checked"] else float("nan")


class OrderSlaReview(Review):
    name = "order_sla_audit"
    rules = "ORD"
    items = ("orders", "created_at")

    def orders(self) -> pd.DataFrame:
        """The month's orders, first occurrence of each id (what the rules judged)."""
        ctx = Context(self.data, pd.Period(self.month, "M"), self.result.as_of, self.result.policy)
        return month_orders(ctx)

    def kpis(self) -> dict[str, Any]:
        if not self.result:
            return {}
        orders, summary = self.orders(), self.result.summary
        return {
            "orders": len(orders),
            "paid": int(orders["paid_at"].notna().sum()),
            "shipped": int(orders["shipped_at"].notna().sum()),
            "on_time_shipping": _share_ok(summary, "ORD-003"),
            "contact_within_limit": _share_ok(summary, "ORD-001"),
            **super().kpis(),
        }

    def charts(self) -> list[Figure]:
        from ...report import charts

        if not self.result:
            return []
        lang = self.chart_lang
        orders = self.orders()
        start = pd.Period(self.month, "M").start_time
        days = pd.date_range(start, periods=pd.Period(self.month, "M").days_in_month, freq="D")

        def per_day(ts: pd.Series) -> pd.Series:
            return ts.dt.normalize().value_counts().reindex(days, fill_value=0)

        daily = charts.daily_counts(
            {t("paid", lang): per_day(orders["paid_at"]), t("shipped", lang): per_day(orders["shipped_at"])},
            t("daily_paid_shipped", lang),
            lang,
        )
        hours = (orders["shipped_at"] - orders["paid_at"]) / pd.Timedelta(hours=1)
        limit = self.result.policy["ORD-003"].limit
        spread = charts.histogram(hours, limit, t("pay_to_ship_hours", lang), t("hours", lang), lang)
        found = self.findings
        channel = found["channel"].astype("object").map(cell_codes(lang)).fillna("—")  # channels by their names
        table = pd.crosstab(found["rule_id"], channel) if len(found) else pd.DataFrame()
        by_rule = charts.stacked_bars(table, t("findings_by_rule_channel", lang), lang)
        return [daily, spread, by_rule]

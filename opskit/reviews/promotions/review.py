"""The promotion review: governance checklist, effect (uplift, ROI, pull-forward, halo), budget and target."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ...loader import Data
from ...report.i18n import columns, t, translate_notes
from ...report.review import Review
from . import metrics as pe

if TYPE_CHECKING:
    from matplotlib.figure import Figure  # charts import matplotlib on first use, not with the review

CHECKLIST = ["PRM-001", "PRM-002", "PRM-003", "PRM-004", "PRM-005", "PRM-006"]
EFFECT_VIEW = [
    "promo_id",
    "promo_name",
    "days",
    "revenue",
    "units",
    "baseline_revenue",
    "baseline_weekday_adjusted",
    "uplift",
    "incremental_revenue",
    "cost",
    "incremental_gross_margin",
    "roi",
    "after_revenue",
    "dip_after",
    "other_skus_change",
    "notes",
]


class PromotionReview(Review):
    name = "promotion_review"
    rules = "PRM"
    filters = ("promo_id", "rule_id", "channel")
    items = ("promotions", "start_at")
    shared_frames = ("sales", "sales_span")

    def promotions(self) -> pd.DataFrame:
        if not self.data or "promotions" not in self.data:
            return pd.DataFrame(columns=["promo_id", "name", "channel", "start_at", "end_at", "budget", "target_sales"])
        period = pd.Period(self.month, "M")
        promos = self.data["promotions"].drop_duplicates("promo_id")
        return promos[(promos["start_at"] >= period.start_time) & (promos["start_at"] < (period + 1).start_time)]

    @classmethod
    def across_months(cls, result, month) -> dict[str, pd.DataFrame]:
        """Sales of the month and its neighbours under the data root: baselines start before the month
        and the dip after a promotion may end after it."""
        period = result.period
        parts = [month(str(period - 1)), result.data, month(str(period + 1))]
        return _sales_frames([p for p in parts if p is not None])

    def sales(self) -> tuple[pd.DataFrame, tuple]:
        """Sales lines (from the neighbouring months too, when the month was computed from a data root)."""
        lines = self.cached("sales", lambda: _sales_frames([self.data])["sales"])
        span = self.cached("sales_span", lambda: _sales_frames([self.data])["sales_span"])
        return lines, (span["first_day"].iloc[0], span["last_day"].iloc[0])

    def costs(self) -> pd.Series:
        from ...rule import Context
        from .rules import promo_lines

        if not {"order_lines", "orders", "products"} <= set(self.data):
            return pd.Series(dtype="float64")
        ctx = Context(self.data, pd.Period(self.month, "M"), self.result.as_of, self.result.policy)
        lines = promo_lines(ctx)
        return (lines["discount_cost"] + lines["gift_cost"]).groupby(lines["promo_id"]).sum()

    def effects(self) -> pd.DataFrame:
        def make():
            lines, span = self.sales()
            costs = self.costs()
            rows = [
                pe.effect(p, lines, span, float(costs.get(p["promo_id"], 0.0)), self.result.as_of)
                for _, p in self.promotions().iterrows()
            ]  # one row per promotion, a handful a month
            frame = pd.DataFrame(rows).reindex(columns=[c for c in EFFECT_VIEW if c != "promo_name"])
            names = self.promotions()[["promo_id", "name"]].rename(columns={"name": "promo_name"})
            return frame.merge(names, on="promo_id", how="left")[EFFECT_VIEW]

        return self.cached("effects", make) if self.result else pd.DataFrame(columns=EFFECT_VIEW)

    def filterable_findings(self) -> pd.DataFrame:
        found = self.findings.assign(promo_id=self.findings["key"].str.split("/").str[0])
        channel = self.promotions().set_index("promo_id")["channel"].astype("object")
        return found.assign(channel=found["promo_id"].map(channel))

    def checklist(self) -> pd.DataFrame:
        """Per promotion, each governance rule: ✓ complied, ✗ finding, … pending at `as_of`."""
        promos = self.promotions()
        found = self.filterable_findings()
        table = pd.DataFrame({"promo_id": promos["promo_id"], "promo_name": promos["name"]})
        for rule in CHECKLIST:
            failed = set(found.loc[found["rule_id"] == rule, "promo_id"])
            table[rule] = promos["promo_id"].map(lambda p, failed=failed: "✗" if p in failed else "✓")
        ended = promos["end_at"] <= self.result.as_of
        waiting = promos["review_submitted_at"].isna() & (table["PRM-005"] == "✓")
        table.loc[waiting | ~ended, "PRM-005"] = "…"
        return table.rename(columns=columns(["promo_id", "promo_name"], self.lang))

    def budget(self) -> pd.DataFrame:
        promos = self.promotions()
        costs = self.costs()
        from ...rule import Context
        from .rules import promo_lines

        revenue = pd.Series(dtype="float64")
        if {"order_lines", "orders"} <= set(self.data):
            lines = promo_lines(Context(self.data, pd.Period(self.month, "M"), self.result.as_of, self.result.policy))
            revenue = lines["revenue"].groupby(lines["promo_id"]).sum()
        return pd.DataFrame(
            {
                "promo_id": promos["promo_id"],
                "promo_name": promos["name"],
                "budget": promos["budget"],
                "cost": promos["promo_id"].map(costs).astype("float64").fillna(0).round(2),
                "target_sales": promos["target_sales"],
                "promo_revenue": promos["promo_id"].map(revenue).astype("float64").fillna(0).round(2),
            }
        )

    def kpis(self) -> dict[str, Any]:
        if not self.result:
            return {}
        budget = self.budget()
        effects = self.effects()
        return {
            "promotions": len(budget),
            "promo_revenue": round(float(budget["promo_revenue"].sum()), 2),
            "promo_cost": round(float(budget["cost"].sum()), 2),
            "over_budget": int((budget["cost"] > budget["budget"]).sum()),
            "incremental_revenue": round(float(effects["incremental_revenue"].sum()), 2),
            **super().kpis(),
        }

    def charts(self) -> list[Figure]:
        from ...report import charts

        if not self.result:
            return []
        lang = self.chart_lang
        lines, _ = self.sales()
        out = []
        for _, promo in self.promotions().iterrows():
            daily = pe.daily_revenue(promo, lines)
            name = self.chart_text(str(promo.get("name") or ""))
            title = f"{promo['promo_id']} {name} · {t('daily_revenue_around', lang)}"
            out.append(charts.phases(daily, title, {p: t(p, lang) for p in ("baseline", "window", "after")}, lang))
        budget = self.budget().set_index("promo_id")[["budget", "cost", "promo_revenue", "target_sales"]]
        out.append(
            charts.grouped_bars(budget.rename(columns=lambda c: t(c, lang)), t("budget_cost_target", lang), lang)
        )
        return out

    def tables(self) -> list[tuple[str, pd.DataFrame]]:
        if not self.result:
            return []
        lang = self.lang
        return [
            (t("governance_checklist", lang), self.checklist()),
            (
                t("promotion_effect", lang),
                self.effects()
                .assign(notes=lambda f: translate_notes(f["notes"], lang))
                .rename(columns=columns(EFFECT_VIEW, lang)),
            ),
            (t("budget_cost_target", lang), self.budget().rename(columns=lambda c: t(c, lang))),
        ]


def _sales_frames(parts: list[Data]) -> dict[str, pd.DataFrame]:
    with_sales = [p for p in parts if "orders" in p and "order_lines" in p]
    if not with_sales:
        lines, span = pd.DataFrame(columns=["sku", "day", "revenue", "units"]), (pd.NaT, pd.NaT)
    else:
        lines, span = pe.sales(with_sales)
    days = pd.DataFrame({"first_day": [span[0]], "last_day": [span[1]]}).astype("datetime64[ns]")
    return {"sales": lines, "sales_span": days}

"""The stock-take variance review: three-way reconciliation, record accuracy, cover and slow movers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ...report.i18n import columns, t
from ...report.review import Review
from . import metrics as st

if TYPE_CHECKING:
    from matplotlib.figure import Figure  # charts import matplotlib on first use, not with the review

RECON_VIEW = [
    "sku",
    "name",
    "category",
    "abc_class",
    "count_date",
    "counted",
    "book",
    "diff",
    "tolerance",
    "accurate",
    "diff_at_cost",
    "diff_at_retail",
    "recount_date",
    "recount_qty",
    "confirmed_short",
    "compensation",
    "ledger_in",
    "finance_purchase",
]


class StocktakeReview(Review):
    name = "stocktake_variance"
    rules = "STK"
    filters = ("category", "abc_class", "variance")
    browse_title = "reconciliation"
    shared_frames = ("trend", "recon")  # the filters narrow the reconciliation after it is computed

    def _all_counted(self) -> pd.DataFrame | None:
        if not self.result or "stock_counts" not in self.data or "stock_ledger" not in self.data:
            return None
        whole = self.month_result.check_result(self.rules)
        return self.cached("recon", lambda: st.reconciliation(self.data, whole, st.abc_tolerance(whole.policy)))

    def reconciliation(self) -> pd.DataFrame:
        """One row per counted SKU (narrowed by the dashboard's filters, when any)."""
        recon = self._all_counted()
        if recon is None:
            return pd.DataFrame(columns=[*RECON_VIEW, "variance", "when"])
        chosen = {k: v for k, v in self.scope.items() if k in self.filters and k in recon}
        if chosen:
            keep = pd.Series(True, index=recon.index)
            for column, value in chosen.items():
                keep &= recon[column].astype("str") == str(value)
            recon = recon[keep].reset_index(drop=True)
        return recon

    def filterable_findings(self) -> pd.DataFrame:
        """Findings with the SKU's category, ABC class and whether its count has a variance, so the
        filters narrow them too; findings of no SKU (a count, a day) carry none."""
        found = self.findings
        if self.data is None:
            return found
        sku = found["key"].str.split("/").str[0]
        recon = self._all_counted()
        variance = recon.set_index("sku")["variance"].astype("str") if recon is not None else pd.Series(dtype="str")
        return found.assign(
            category=sku.map(st.prices(self.data)["category"]).astype("object"),
            abc_class=sku.map(st.abc_classes(self.data)).astype("object"),
            variance=sku.map(variance).astype("object"),
        )

    def browse(self) -> pd.DataFrame:
        return self.reconciliation().astype({"variance": "str"})

    def browse_view(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.shown(frame.reindex(columns=RECON_VIEW)).rename(columns=columns(RECON_VIEW, self.lang))

    def kpis(self) -> dict[str, Any]:
        if not self.result:
            return {}
        figures = st.accuracy(self.reconciliation())
        return {
            "skus_counted": figures["skus_counted"],
            "record_accuracy": figures["record_accuracy"],
            "abs_variance_cost": figures["abs_variance_cost"],
            "net_variance_cost": figures["net_variance_cost"],
            "compensation_due": figures["compensation_due"],
            **super().kpis(),
        }

    @classmethod
    def across_months(cls, result, month) -> dict[str, pd.DataFrame]:
        """Accuracy and variance of every month of the data root up to this one."""
        months = [m for m in month.months() if m <= result.month and month(m) is not None]
        return {"trend": st.trend({m: month(m) for m in months}, result.month, result.policy, result.as_of)}

    def trend(self) -> pd.DataFrame:
        if not self.result:
            return pd.DataFrame()
        return self.cached(
            "trend", lambda: st.trend({self.month: self.data}, self.month, self.result.policy, self.result.as_of)
        )

    def charts(self) -> list[Figure]:
        from ...report import charts

        if not self.result:
            return []
        lang = self.chart_lang
        recon = self.reconciliation()
        top = recon.reindex(recon["diff_at_retail"].abs().sort_values(ascending=False).index).head(10)
        largest = charts.bars(top.set_index("sku")["diff_at_retail"], t("largest_variances", lang), lang)
        out = [largest]
        trend = self.trend()
        if len(trend) > 1:
            series = trend.set_index("month")
            out.append(
                charts.daily_counts(
                    {t("record_accuracy", lang): series["record_accuracy"]},
                    t("accuracy_trend", lang),
                    lang,
                    shares=True,
                )
            )
        return out

    def tables(self) -> list[tuple[str, pd.DataFrame]]:
        if not self.result:
            return []
        lang = self.lang

        def local(frame: pd.DataFrame) -> pd.DataFrame:
            return frame.rename(columns=columns(frame.columns, lang))

        figures = st.accuracy(self.reconciliation())
        variance = pd.DataFrame({"metric": [t(k, lang) for k in figures], "value": list(figures.values())})
        breaks = self.findings[self.findings["rule_id"].isin(["STK-006", "STK-007", "STK-009"])]
        cover = st.cover(self.data, self.result)
        return [
            (t("variance_summary", lang), local(variance)),
            (t("ledger_breaks", lang), self.findings_view(breaks, followup=False)),
            (t("slow_movers", lang), local(cover[cover["slow_mover"]])),
            (t("days_of_cover", lang), local(cover.sort_values("days_of_cover", na_position="first"))),
            (t("accuracy_trend", lang), local(self.trend())),
        ]

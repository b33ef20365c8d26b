"""The customer-service review: volumes, reply and resolution times, SLA per agent, backlog."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from ...locale import cell_codes
from ...report.i18n import columns, t
from ...report.review import Review
from . import metrics as ss

if TYPE_CHECKING:
    from matplotlib.figure import Figure  # charts import matplotlib on first use, not with the review


class ServiceReview(Review):
    name = "service_stats"
    rules = "CS"
    filters = ("rule_id", "channel", "type", "agent")
    items = ("cs_tickets", "created_at")

    def tickets(self) -> pd.DataFrame:
        return (
            ss.month_tickets(self.data["cs_tickets"], self.month)
            if self.data and "cs_tickets" in self.data
            else (pd.DataFrame(columns=["ticket_id", "created_at", "first_reply_at", "resolved_at", "customer_id"]))
        )

    def filterable_findings(self) -> pd.DataFrame:
        tickets = self.tickets()[["ticket_id", "type", "agent"]].astype({"type": "object"})
        return self.findings.merge(tickets, left_on="key", right_on="ticket_id", how="left").drop(columns="ticket_id")

    def kpis(self) -> dict[str, Any]:
        if not self.result:
            return {}
        tickets = self.tickets()
        policy = self.result.policy
        d = ss.durations(tickets, policy)
        summary = self.result.summary.set_index("rule_id")

        def ok(rule: str) -> float:
            row = summary.loc[rule]
            return round(1 - row["failed"] / row["checked"], 4) if row["checked"] else float("nan")

        return {
            "tickets": len(tickets),
            "first_reply_median_h": round(float(d["first_reply_h"].median()), 2) if len(d) else float("nan"),
            "first_reply_within_limit": ok("CS-001"),
            "after_sales_within_limit": ok("CS-002"),
            "complaint_feedback_within_limit": ok("CS-003"),
            "backlog_at_as_of": int(ss.backlog(tickets, self.result.as_of)["tickets"].sum()),
            "outside_service_hours": int((~ss.in_service_hours(tickets["created_at"], policy)).sum()),
            "repeat_contact_share": round(float(ss.repeat_contacts(tickets).mean()), 4) if len(tickets) else 0.0,
            **super().kpis(),
        }

    def charts(self) -> list[Figure]:
        from ...report import charts

        if not self.result:
            return []
        lang = self.chart_lang
        tickets = self.tickets()
        per_day = ss.daily(tickets, self.month)
        names = cell_codes(lang)  # channels by their names
        volume = charts.daily_counts(
            {names.get(str(c), str(c)): per_day[c] for c in per_day.columns}, t("daily_tickets", lang), lang
        )
        d = ss.durations(tickets, self.result.policy)
        limit = self.result.policy["CS-001"].limit
        reply = charts.histogram(d["first_reply_h"], limit, t("first_reply_hours", lang), t("hours", lang), lang)
        agents = ss.agent_attainment(tickets, self.findings).set_index("agent")[["tickets", "breached"]]
        by_agent = charts.stacked_bars(agents.rename(columns=lambda c: t(c, lang)), t("sla_by_agent", lang), lang)
        return [volume, reply, by_agent]

    def tables(self) -> list[tuple[str, pd.DataFrame]]:
        if not self.result:
            return []
        tickets, policy, lang = self.tickets(), self.result.policy, self.lang
        repeat = ss.repeat_contacts(tickets)
        repeats = tickets.loc[repeat, ["ticket_id", "customer_id", "created_at", "channel", "agent"]]

        def local(frame: pd.DataFrame) -> pd.DataFrame:
            return frame.rename(columns=columns(frame.columns, lang))

        return [
            (t("volumes", lang), local(ss.volumes(tickets))),
            (t("reply_resolution_times", lang), local(ss.duration_stats(tickets, policy))),
            (t("sla_by_agent", lang), local(ss.agent_attainment(tickets, self.findings))),
            (t("backlog", lang), local(ss.backlog(tickets, self.result.as_of))),
            (t("out_of_hours", lang), local(ss.out_of_hours(tickets, policy))),
            (t("repeat_contacts", lang), local(repeats)),
            (t("weekly_trend", lang), local(ss.weekly(tickets))),
        ]

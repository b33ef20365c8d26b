"""What each rule checks, in force: title, limit (with the policy's overrides), clock, source clause,
scope and the choices made where the spec is silent, for `opskit rules`, `opskit explain` and Python.

The scope and choices are the rule function's own docstring, so the text shown is the text beside
the code that does it.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pandas as pd

from .errors import OpskitError
from .policy import DURATION_UNITS, Policy, RulePolicy, load_policy
from .rule import all_rules


def _policy(policy: Policy | str | Path | dict | None) -> Policy:
    return policy if isinstance(policy, Policy) else load_policy(policy)


def limit_text(rp: RulePolicy) -> str:
    """The limit in force as a person reads it: `24 h (wechat: 48 h)`, `3 (2 when special_case)`, `—`."""
    unit = "" if rp.unit in ("none", "count", "qty", "amount", "day") else f" {rp.unit}"
    parts = []
    if rp.limit is not None:
        text = f"day {rp.limit:g}" if rp.unit == "day" else f"{rp.limit:g}{unit}"
        if rp.by_channel:
            text += " (" + ", ".join(f"{channel}: {value:g}{unit}" for channel, value in rp.by_channel.items()) + ")"
        parts.append(text)
    for name, value in (rp.params or {}).items():
        parts.append(f"{name}: " + (", ".join(map(str, value)) if isinstance(value, list) else f"{value:g}"))
    return "; ".join(parts) or "—"


def text_table(frame: pd.DataFrame) -> str:
    """A frame as left-aligned columns, counting a Chinese character as two columns wide as terminals do."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    cells = [list(map(str, frame.columns))] + [[str(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [max(width(row[i]) for row in cells) for i in range(len(frame.columns))]
    lines = ["  ".join(v + " " * (w - width(v)) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines) + "\n"


def clock_text(rp: RulePolicy) -> str:
    return rp.clock if rp.unit in DURATION_UNITS else "—"


def _doc(rule_id: str) -> str:
    return inspect.getdoc(all_rules()[rule_id].fn) or ""


def _section(doc: str, name: str) -> str:
    for line in doc.replace("\n    ", " ").splitlines():
        if line.startswith(f"{name}:"):
            return line.removeprefix(f"{name}:").strip()
    return ""


def rule_table(
    policy: Policy | str | Path | dict | None = None, rules: str | list[str] | None = None, lang: str = "en"
) -> pd.DataFrame:
    """One row per rule: id, title, limit in force, clock, source clause, scope and datasets."""
    from .runner import select_rules

    policy = _policy(policy)
    rows = []
    for rule_id in select_rules(rules):
        rp, doc = policy[rule_id], _doc(rule_id)
        rows.append(
            {
                "rule_id": rule_id,
                "title": rp.title(lang),
                "limit": limit_text(rp),
                "clock": clock_text(rp),
                "source_clause": rp.source,
                "scope": _section(doc, "Scope"),
                "datasets": ", ".join(all_rules()[rule_id].needs),
            }
        )
    return pd.DataFrame(rows)


def explain(rule_id: str, policy: Policy | str | Path | dict | None = None) -> str:
    """A rule in full: both titles, the limit in force, clock, source clause, datasets, scope and spec choices."""
    rule_id = rule_id.strip().upper()
    if rule_id not in all_rules():
        raise OpskitError(f"unknown rule id {rule_id!r}; `opskit rules` lists them")
    rp, doc = _policy(policy)[rule_id], _doc(rule_id)
    lines = [
        f"{rule_id}  {rp.title_zh} · {rp.title_en}",
        f"limit in force: {limit_text(rp)}",
        f"clock:          {clock_text(rp)}",
        f"source clause:  {rp.source}",
        f"severity:       {rp.severity}",
        f"datasets:       {', '.join(all_rules()[rule_id].needs)}",
        "",
        doc,
    ]
    return "\n".join(lines).rstrip() + "\n"

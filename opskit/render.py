"""Words rendered late: finding messages, rule titles and labels from templates, numbers for managers.

A rule measures; it never writes prose. It hands the runner a message id per finding and typed
parameters, and this module turns them into text in the reader's language, from the templates
beside each rule in `opskit/policy.yaml` and the catalogues in `opskit/locale/`.

Parameter kinds (declared per rule with `@rule(..., params={name: kind})`; `observed` and `limit`
take the rule's unit):

| kind | shown as |
|---|---|
| `number`, `qty`, `count` | `1,234.5` (thousands separators, no needless decimals) |
| `money` | `¥1,234.50` |
| `duration` (the rule's unit), `hours`, `days` | humanised: `11 分钟`, `24 小时 1 分钟`, `26.6 天` |
| `day` | a day of the month: `30日` / `day 30` |
| `date`, `time` | `2026-10-05`, `2026-10-05 14:03` (a midnight time prints as its date) |
| `text`, `words` | as given (`text` is masked for managers: numbers that look like accounts or phones) |
| `codes:<section>` | codes separated by `,`, each shown by its label in the catalogue section |
| `account`, `customer`, `name`, `phone` | **personal**: masked when rendering for managers |

Masking by construction: `render_messages(..., mask=True)` (what `opskit run`, the dashboards and
any manager-facing output use) masks every personal parameter with `opskit.report.masking`
(`account`/`phone` keep their first and last digits, `customer`/`name` their first character), so
a template can never leak what its parameter's kind declares personal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from string import Formatter
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import OpskitError
from .locale import codes, fmt
from .words import DAYS_FROM_HOURS, MINUTES, UNIT_KINDS, duration, money, number  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from .policy import Policy, RulePolicy

PERSONAL_KINDS = frozenset({"account", "customer", "name", "phone"})
PLAIN_KINDS = frozenset(
    {"number", "qty", "count", "money", "duration", "hours", "days", "day", "date", "time", "text", "words"}
)


def valid_kind(kind: str) -> bool:
    """Whether `kind` is a parameter kind this module can render."""
    if kind.startswith("codes:"):
        return True
    return kind in PLAIN_KINDS or kind in PERSONAL_KINDS


def fields(template: str) -> list[str]:
    """The `{name}` fields of a template, in order."""
    try:
        return [name for _, name, _, _ in Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise OpskitError(f"template {template!r} is not valid: {exc}") from None


def fill(template: str, values: Mapping[str, pd.Series | str], index: pd.Index) -> pd.Series:
    """The template filled with text values (Series aligned on `index`, or one string for all)."""
    out = pd.Series("", index=index, dtype="object")
    for literal, name, _, _ in Formatter().parse(template):
        out = out + literal
        if name is not None:
            value = values[name]
            out = out + (value.reindex(index).astype("object") if isinstance(value, pd.Series) else str(value))
    return out


def fill_one(template: str, values: Mapping[str, str]) -> str:
    """One string: the template filled with text values."""
    return str(fill(template, values, pd.RangeIndex(1)).iloc[0])


def _by_value(values: pd.Series, make: Callable[[Any], str], missing: str) -> pd.Series:
    """Format each distinct value once with a scalar function (findings repeat few distinct values),
    then map: two pandas operations per parameter, whatever the number of findings."""
    present = values.dropna()
    table = {v: make(v) for v in pd.unique(present)}
    return values.map(table).astype("object").where(values.notna(), missing)


def _numbers(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype("float64")


def number_text(values: pd.Series, lang: str, digits: int = 1) -> pd.Series:
    """`1,234.5` per value; `—` when missing."""
    return _by_value(_numbers(values), lambda v: number(v, digits), fmt("missing", lang))


def money_text(values: pd.Series, lang: str) -> pd.Series:
    """`¥1,234.50` per value; `—` when missing."""
    return _by_value(_numbers(values), lambda v: money(v, lang), fmt("missing", lang))


def percent_text(values: pd.Series, lang: str, digits: int = 1) -> pd.Series:
    """A share (0–1) as `12.5%`."""
    pattern = fmt("percent", lang)
    return _by_value(_numbers(values), lambda v: pattern.format(n=number(v * 100, digits)), fmt("missing", lang))


def duration_text(
    values: pd.Series, unit: str, lang: str, *, clock: str = "calendar", compact: bool = False
) -> pd.Series:
    """Durations measured in `unit` in words (see `duration`); `—` when missing."""
    return _by_value(
        _numbers(values), lambda v: duration(v, unit, lang, clock=clock, compact=compact), fmt("missing", lang)
    )


def time_text(values: pd.Series, lang: str, *, date_only: bool = False) -> pd.Series:
    """`2026-10-05 14:03`; a time at midnight prints as its date, without a needless ` 00:00`."""
    stamps = pd.to_datetime(values, errors="coerce")
    text = stamps.dt.strftime("%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M").astype("object")
    if not date_only:
        text = text.str.replace(r" 00:00$", "", regex=True)
    return text.where(stamps.notna(), fmt("missing", lang))


def code_list_text(values: pd.Series, section: str, lang: str) -> pd.Series:
    """Codes separated by `,` shown by their labels, joined the way the language lists things."""
    labels = codes(section, lang)
    parts = values.fillna("").astype("str").str.split(",").explode().str.strip()
    parts = parts[parts != ""]
    shown = parts.map(lambda code: labels.get(code, code))
    joined = shown.groupby(level=0).agg(fmt("list_separator", lang).join)
    return joined.reindex(values.index).fillna("").astype("object")


def value_text(
    values: pd.Series, kind: str, lang: str, *, unit: str = "none", clock: str = "calendar", mask: bool = False
) -> pd.Series:
    """One parameter's values as text, by its kind (see the module's table)."""
    from .report.masking import mask_identifier, mask_text

    missing = fmt("missing", lang)
    if kind in PERSONAL_KINDS:
        text = values.astype("object").where(values.notna(), None)
        if mask:
            text = mask_text(text) if kind in ("account", "phone") else mask_identifier(text)
        return text.astype("object").where(values.notna(), missing).astype("str")
    if kind == "duration":
        return duration_text(values, unit, lang, clock=clock)
    if kind in ("hours", "days"):
        return duration_text(values, "h" if kind == "hours" else "days", lang)
    if kind == "money":
        return money_text(values, lang)
    if kind in ("number", "qty"):
        return number_text(values, lang, 2 if kind == "qty" else 1)
    if kind == "count":
        return number_text(values, lang, 0)
    if kind == "day":
        return _by_value(_numbers(values), lambda v: fmt("day", lang).format(n=number(v, 0)), missing)
    if kind in ("date", "time"):
        return time_text(values, lang, date_only=kind == "date")
    if kind.startswith("codes:"):
        return code_list_text(values, kind.removeprefix("codes:"), lang)
    if kind == "text":
        text = values.astype("object")
        return (mask_text(text) if mask else text).where(values.notna(), missing).astype("str")
    return values.astype("object").where(values.notna(), missing).astype("str")


def kind_of(name: str, rp: RulePolicy, kinds: Mapping[str, str]) -> str:
    """The kind of a message parameter: `observed` and `limit` take the rule's unit."""
    if name in ("observed", "limit"):
        return UNIT_KINDS[rp.unit]
    return kinds[name]


def render_messages(
    rp: RulePolicy,
    message_id: pd.Series,
    params: pd.DataFrame,
    kinds: Mapping[str, str],
    lang: str,
    *,
    mask: bool = False,
) -> pd.Series:
    """Each finding's message: its rule's template for `message_id` in `lang`, filled with its parameters.

    `params` holds one column per parameter (plus `observed` and `limit`), aligned with `message_id`;
    `kinds` declares each parameter's kind; with `mask=True` personal parameters are masked.
    """
    parts = []
    for mid, group in params.assign(_mid=message_id).groupby("_mid", sort=False):
        template = rp.template(str(mid), lang)
        values = {
            name: value_text(
                group[name] if name in group else pd.Series(np.nan, index=group.index),
                kind_of(name, rp, kinds),
                lang,
                unit=rp.unit,
                clock=rp.clock,
                mask=mask,
            )
            for name in set(fields(template))
        }
        parts.append(fill(template, values, group.index))
    if not parts:
        return pd.Series("", index=message_id.index, dtype="object")
    return pd.concat(parts).reindex(message_id.index)


def limit_text(rp: RulePolicy, value: float | None, lang: str) -> str:
    """A limit as a title states it: `24小时`, `10 min`, `30日`, `¥1,000.00`, `2`."""
    if value is None:
        return fmt("missing", lang)
    kind = UNIT_KINDS[rp.unit]
    if kind == "duration":
        return duration(value, rp.unit, lang, clock=rp.clock, compact=True)
    if kind == "day":
        return fmt("day", lang).format(n=number(value, 0))
    if kind == "money":
        return money(value, lang)
    return number(value, 0 if kind == "count" else 2)


def title_values(rp: RulePolicy, lang: str) -> dict[str, str]:
    """What a rule's title and label may state: its limit, per-channel limits, clock and parameters."""
    values = {"limit": limit_text(rp, rp.limit, lang), "by_channel": "", "clock": fmt("clock", lang)[rp.clock]}
    if rp.by_channel:
        names = codes("channels", lang)
        items = [
            fill_one(fmt("by_channel_item", lang), {"channel": names.get(c, c), "limit": limit_text(rp, v, lang)})
            for c, v in rp.by_channel.items()
        ]
        values["by_channel"] = fill_one(
            fmt("by_channel", lang), {"items": fmt("by_channel_separator", lang).join(items)}
        )
    for name, value in (rp.params or {}).items():
        if isinstance(value, list):
            names = codes("channels", lang) if name == "channels" else {}
            separator = fmt("list_separator", lang) if name == "channels" else "/"
            values[name] = separator.join(names.get(v, v) for v in value)
        else:
            values[name] = number(value)
    return values


def rule_text(rp: RulePolicy, which: str, lang: str) -> str:
    """A rule's `title` or headline `label` in `lang`, filled from the policy in force."""
    return fill_one(rp.text(which, lang), title_values(rp, lang))


def label_of(key: str, lang: str, policy: Policy | None = None) -> str | None:
    """A catalogue label that is a rule's headline label (`{rule: ORD-003}`), filled from `policy`."""
    from .locale import catalogue

    entry = catalogue(lang)["labels"].get(key)
    if isinstance(entry, dict) and "rule" in entry:
        if policy is None:
            from .policy import load_policy

            policy = load_policy()
        return rule_text(policy[entry["rule"]], "label", lang)
    return entry


FILE_DIGITS = 4  # decimals kept in findings files: hours to a fraction of a second, money to the cent and beyond


def readable_findings(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings as written to CSV/JSON for people: float noise rounded away (`108.00000000000003` →
    `108.0`, to 4 decimals) and times without seconds or a needless ` 00:00`. Codes stay codes."""
    out = findings.copy()
    for column in ("observed", "limit", "amount"):
        if column in out:
            out[column] = pd.to_numeric(out[column], errors="coerce").round(FILE_DIGITS)
    if "when" in out and len(out):
        stamps = pd.to_datetime(out["when"], errors="coerce")
        text = stamps.dt.strftime("%Y-%m-%d %H:%M").str.replace(r" 00:00$", "", regex=True)
        out["when"] = text.astype("object").where(stamps.notna(), None)
    return out

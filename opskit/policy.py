"""The policy: thresholds, units and sources of every rule, from the shipped YAML plus a user's file.

A user's file may only change what the default declares (limits, per-channel limits, clocks,
severities, rule parameters, and the words: title, headline label and message templates in `zh`
and `en`, and the report language `lang`); anything else is refused, so a typo never silently
disables a rule.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .config_file import read_config
from .errors import PolicyError
from .schema import CHANNELS, CS_CHANNELS

if TYPE_CHECKING:
    import pandas as pd

# Duration units, in minutes. Nothing here imports pandas: the policy is read before the command knows
# whether it needs pandas at all (see `opskit.fastcheck`).
DURATION_UNITS = {"min": 1, "h": 60, "days": 1440}
UNITS = (*DURATION_UNITS, "day", "qty", "amount", "count", "none")
SEVERITIES = ("low", "medium", "high")
CLOCKS = ("calendar", "business")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_OVERRIDABLE = {"limit", "by_channel", "clock", "severity", "params", "unit", "title", "label", "messages"}
LANGS = ("zh", "en")


@dataclass(frozen=True)
class RulePolicy:
    """One rule's entry: threshold, unit, direction, clock, and its words as templates per language
    (`titles`, `labels`: the headline label, `messages`: message id → language → template)."""

    id: str
    titles: dict[str, str]
    source: str
    dataset: str
    severity: str
    unit: str
    direction: str
    limit: float | None = None
    clock: str = "calendar"
    by_channel: dict[str, float] | None = None
    params: dict[str, Any] | None = None
    labels: dict[str, str] | None = None
    messages: dict[str, dict[str, str]] | None = None

    def text(self, which: str, lang: str) -> str:
        """The raw template of the rule's `title` or headline `label` in `lang` (the title when no label)."""
        table = self.labels if which == "label" and self.labels else self.titles
        return table[lang]

    def template(self, message_id: str, lang: str) -> str:
        """The message template for one outcome of the rule, in `lang`."""
        try:
            return (self.messages or {})[message_id][lang]
        except KeyError:
            raise PolicyError(f"rule {self.id}: no {lang} template for message {message_id!r}") from None

    def title(self, lang: str = "zh") -> str:
        """The title in `lang`, filled from this policy's limit, per-channel limits and clock."""
        from .render import rule_text

        return rule_text(self, "title", lang)

    @property
    def title_zh(self) -> str:
        return self.title("zh")

    @property
    def title_en(self) -> str:
        return self.title("en")

    def param(self, name: str) -> Any:
        return (self.params or {})[name]

    def limits(self, channel: pd.Series | None = None, index: pd.Index | None = None) -> pd.Series:
        """The limit of each item: the channel's own limit where the policy sets one."""
        import pandas as pd

        index = channel.index if channel is not None else index
        base = pd.Series(self.limit, index=index, dtype="float64")
        if channel is None or not self.by_channel:
            return base
        return channel.astype("object").map(self.by_channel).astype("float64").fillna(base)

    @property
    def step(self) -> pd.Timedelta:
        import pandas as pd

        return pd.Timedelta(minutes=DURATION_UNITS[self.unit])


@dataclass(frozen=True)
class Policy:
    rules: dict[str, RulePolicy]
    service_hours: tuple[str, str]
    workdays: tuple[int, ...]
    holidays: str | None
    masking: bool
    abc_tolerance: dict[str, float] | None = None
    lang: str = "zh"

    def __getitem__(self, rule_id: str) -> RulePolicy:
        return self.rules[rule_id]


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C build of the safe loader, when present


def _default_doc() -> dict:
    text = resources.files("opskit").joinpath("policy.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=_SAFE_LOADER)


def _channels_for(dataset: str) -> set[str]:
    return set(CS_CHANNELS) if dataset == "cs_tickets" else set(CHANNELS)


# Sane upper bounds per unit: a threshold beyond them is a typo (or an attack), never a policy.
_RANGES = {
    "min": (0, 366 * 24 * 60),
    "h": (0, 366 * 24),
    "days": (0, 366),
    "day": (1, 31),
    "count": (0, 1_000),
    "qty": (0, 1e9),
    "amount": (0, 1e12),
    "share": (0, 1),
}


def _number(value: Any, where: str, unit: str = "amount") -> float:
    """A finite number in the unit's range; NaN, ±inf, bools, text and 400-digit numbers are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PolicyError(f"{where}: expected a number ≥ 0, got {_shown(value)}")
    if isinstance(value, float) and math.isnan(value):
        raise PolicyError(f"{where}: expected a number ≥ 0, got NaN (.nan)")
    if value < 0:
        raise PolicyError(f"{where}: expected a number ≥ 0, got {_shown(value)}")
    low, high = _RANGES.get(unit, _RANGES["amount"])
    if not low <= value <= high:
        shown = f"{str(value)[:12]}…" if isinstance(value, int) and len(str(value)) > 12 else f"{value!r}"
        raise PolicyError(f"{where}: {shown} is out of range for unit {unit!r} (expected {low:g} to {high:g})")
    return float(value)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:60]}…"


def _or_empty(value: Any) -> Any:
    """An empty YAML section (`rules:` with nothing under it) is an empty mapping; `0` or `[]` is not."""
    return {} if value is None else value


def _mapping(value: Any, where: str, what: str) -> dict:
    if not isinstance(value, dict):
        raise PolicyError(f"{where}: expected {what}, got {type(value).__name__} {_shown(value)}")
    bad = [k for k in value if not isinstance(k, str)]
    if bad:
        raise PolicyError(f"{where}: keys are names, got {_shown(bad[0])}")
    return value


def _merge_rule(rule_id: str, base: dict, override: Any, origin: str) -> dict:
    where = f"{origin}: rule {rule_id}"
    _mapping(override, where, "a mapping of settings")
    unknown = set(override) - _OVERRIDABLE
    if unknown:
        raise PolicyError(f"{where}: unknown settings {sorted(unknown)} (allowed: {sorted(_OVERRIDABLE)})")
    merged = copy.deepcopy(base)
    if "unit" in override and override["unit"] != base["unit"]:
        raise PolicyError(f"{where}: unit {override['unit']!r} is wrong, this rule is measured in {base['unit']!r}")
    if "limit" in override:
        if base.get("direction") == "none" or "limit" not in base:
            raise PolicyError(f"{where}: this rule has no threshold to set")
        merged["limit"] = _number(override["limit"], f"{where} limit", base["unit"])
    if "by_channel" in override:
        table = override["by_channel"]
        if not isinstance(table, dict) or "limit" not in base:
            raise PolicyError(f"{where}: by_channel needs a mapping channel → limit on a rule with a limit")
        allowed = _channels_for(base["dataset"])
        for channel, value in table.items():
            if channel not in allowed:
                raise PolicyError(f"{where}: unknown channel {channel!r} (one of {sorted(allowed)})")
            _number(value, f"{where} by_channel.{channel}", base["unit"])
        merged["by_channel"] = {**base.get("by_channel", {}), **{k: float(v) for k, v in table.items()}}
    if "clock" in override:
        if override["clock"] not in CLOCKS:
            raise PolicyError(f"{where}: clock must be one of {CLOCKS}, got {override['clock']!r}")
        if base["unit"] not in DURATION_UNITS or base["dataset"] not in ("orders", "cs_tickets"):
            raise PolicyError(f"{where}: only the order and service duration rules have a clock")
        merged["clock"] = override["clock"]
    if "severity" in override:
        if override["severity"] not in SEVERITIES:
            raise PolicyError(f"{where}: severity must be one of {SEVERITIES}")
        merged["severity"] = override["severity"]
    for which in ("title", "label"):
        if which in override:
            merged[which] = {**(base.get(which) or base["title"]), **_texts(override[which], where, which)}
            _check_fields(merged[which], base, f"{where} {which}", message=False)
    if "messages" in override:
        table = override["messages"]
        known = base.get("messages") or {}
        if not isinstance(table, dict) or set(table) - set(known):
            raise PolicyError(f"{where}: messages is a mapping of message id → {{zh, en}}; ids: {sorted(known)}")
        for mid, texts in table.items():
            merged["messages"][mid] = {**known[mid], **_texts(texts, where, f"messages.{mid}")}
            _check_fields(merged["messages"][mid], base, f"{where} messages.{mid}", message=True, known=known[mid])
    params = _mapping(_or_empty(override.get("params")), f"{where} params", "a mapping parameter → value")
    for name, value in params.items():
        known = base.get("params", {})
        if name not in known:
            raise PolicyError(f"{where}: unknown parameter {name!r} (known: {sorted(known)})")
        merged["params"][name] = _check_param(known[name], value, f"{where} params.{name}", base)
    return merged


def _texts(value: Any, where: str, which: str) -> dict[str, str]:
    """A title, label or message override: zh and/or en, each a non-empty text."""
    if (
        not isinstance(value, dict)
        or not value
        or set(value) - set(LANGS)
        or not all(isinstance(v, str) and v.strip() for v in value.values())
    ):
        raise PolicyError(f"{where}: {which} is a mapping with zh and/or en, each a non-empty text")
    return dict(value)


def _check_fields(texts: dict[str, str], base: dict, where: str, *, message: bool, known: dict | None = None) -> None:
    """A user's template may only use the fields the shipped one can fill."""
    from .render import fields

    if message:
        allowed = {"observed", "limit"} | {f for text in (known or {}).values() for f in fields(text)}
    else:
        allowed = {"limit", "by_channel", "clock", *(base.get("params") or {})}
    for lang, text in texts.items():
        try:
            unknown = set(fields(text)) - allowed
        except Exception as exc:
            raise PolicyError(f"{where}.{lang}: {exc}") from None
        if unknown:
            raise PolicyError(f"{where}.{lang}: unknown fields {sorted(unknown)} (allowed: {sorted(allowed)})")


def _check_param(default: Any, value: Any, where: str, base: dict) -> Any:
    if isinstance(default, list):
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise PolicyError(f"{where}: expected a non-empty list of words, got {_shown(value)}")
        if where.endswith("channels"):
            bad = set(value) - _channels_for(base["dataset"])
            if bad:
                raise PolicyError(f"{where}: unknown channels {sorted(bad)}")
        return value
    return _number(value, where, base["unit"])


def _build(doc: dict) -> Policy:
    rules = {}
    for rule_id, entry in doc["rules"].items():
        rules[rule_id] = RulePolicy(
            id=rule_id,
            titles=dict(entry["title"]),
            labels=dict(entry["label"]) if entry.get("label") else None,
            messages={mid: dict(texts) for mid, texts in (entry.get("messages") or {}).items()},
            source=entry["source"],
            dataset=entry["dataset"],
            severity=entry["severity"],
            unit=entry["unit"],
            direction=entry["direction"],
            limit=float(entry["limit"]) if entry.get("limit") is not None else None,
            clock=entry.get("clock", "calendar"),
            by_channel=entry.get("by_channel") or None,
            params=entry.get("params") or None,
        )
    clock = doc["clock"]
    return Policy(
        rules=rules,
        service_hours=tuple(clock["service_hours"]),
        workdays=tuple(WEEKDAYS.index(d) for d in clock["workdays"]),
        holidays=clock.get("holidays"),
        masking=bool(doc.get("masking", True)),
        abc_tolerance={k: float(v) for k, v in doc["stocktake"]["abc_tolerance"].items()},
        lang=doc.get("lang", "zh"),
    )


def load_policy(path: str | Path | dict | None = None) -> Policy:
    """The default policy, overridden by a user's YAML file (or mapping) when given."""
    doc = _default_doc()
    if path is None:
        return _build(doc)
    if isinstance(path, dict):
        user, origin = path, "policy"
    else:
        origin = Path(path).name
        user = read_config(path, lambda problem: PolicyError(f"{origin}: {problem}"))
        user = {} if user is None else user
    if not isinstance(user, dict):
        raise PolicyError(f"{origin}: expected a mapping with `rules:`, got {type(user).__name__}")
    _mapping(user, origin, "a mapping with `rules:`")
    unknown = set(user) - {"rules", "clock", "masking", "stocktake", "lang"}
    if unknown:
        raise PolicyError(
            f"{origin}: unknown sections {sorted(unknown)} (allowed: rules, clock, masking, stocktake, lang)"
        )
    if "lang" in user:
        if user["lang"] not in LANGS:
            raise PolicyError(f"{origin}: lang is one of {', '.join(LANGS)}, got {user['lang']!r}")
        doc["lang"] = user["lang"]
    if "stocktake" in user:
        doc["stocktake"] = _merge_stocktake(doc["stocktake"], user["stocktake"], origin)
    rules = _mapping(_or_empty(user.get("rules")), f"{origin}: rules", "a mapping rule id → settings")
    for rule_id, override in rules.items():
        if rule_id not in doc["rules"]:
            raise PolicyError(f"{origin}: unknown rule id {rule_id!r}")
        doc["rules"][rule_id] = _merge_rule(rule_id, doc["rules"][rule_id], override, origin)
    if "clock" in user:
        doc["clock"] = _merge_clock(doc["clock"], user["clock"], origin)
    if "masking" in user:
        if not isinstance(user["masking"], bool):
            raise PolicyError(f"{origin}: masking is true or false")
        doc["masking"] = user["masking"]
    return _build(doc)


def _merge_stocktake(base: dict, override: Any, origin: str) -> dict:
    table = override.get("abc_tolerance") if isinstance(override, dict) and set(override) <= {"abc_tolerance"} else None
    if not isinstance(table, dict) or not set(table) <= {"A", "B", "C"}:
        raise PolicyError(f"{origin}: stocktake takes abc_tolerance: {{A: 0.01, B: 0.03, C: 0.05}}")
    for cls, value in table.items():
        _number(value, f"{origin}: stocktake.abc_tolerance.{cls} (a share of the book quantity)", "share")
    return {"abc_tolerance": {**base["abc_tolerance"], **table}}


def _merge_clock(base: dict, override: Any, origin: str) -> dict:
    if not isinstance(override, dict) or set(override) - set(base):
        raise PolicyError(f"{origin}: clock takes {sorted(base)}")
    merged = {**base, **override}
    hours = merged["service_hours"]
    if not isinstance(hours, list) or len(hours) != 2 or not all(isinstance(h, str) for h in hours):
        raise PolicyError(f"{origin}: clock.service_hours is [HH:MM, HH:MM], got {_shown(hours)}")
    if not all(re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", h.strip()) for h in hours):
        raise PolicyError(f"{origin}: clock.service_hours is [HH:MM, HH:MM], got {_shown(hours)}")
    start, end = (tuple(int(part) for part in h.strip().split(":")) for h in hours)  # (hour, minute)
    if not start < end:
        raise PolicyError(f"{origin}: clock.service_hours must start before they end")
    days = merged["workdays"]
    if not isinstance(days, list) or not days or not all(isinstance(d, str) and d in WEEKDAYS for d in days):
        raise PolicyError(f"{origin}: clock.workdays is a non-empty list among {list(WEEKDAYS)}, got {_shown(days)}")
    if len(set(days)) != len(days):
        raise PolicyError(f"{origin}: clock.workdays names a day twice: {_shown(days)}")
    if merged["holidays"] not in ("CN", None):
        raise PolicyError(f"{origin}: clock.holidays is CN or null")
    return merged

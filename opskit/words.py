"""Numbers, money and durations as a manager reads them, one value at a time.

Pandas-free: `opskit.render` spreads these over Series (each distinct value formatted once), and the
Arrow path of `opskit check` (`opskit.fastcheck`) calls them on its findings directly, so both write
the same words.
"""

from __future__ import annotations

from .locale import fmt

# The parameter kind of `observed` and `limit`, by the rule's unit.
UNIT_KINDS = {
    "min": "duration",
    "h": "duration",
    "days": "duration",
    "day": "day",
    "qty": "qty",
    "amount": "money",
    "count": "count",
    "none": "number",
}
MINUTES = {"min": 1.0, "h": 60.0, "days": 1440.0}
DAYS_FROM_HOURS = 72  # from three days on, a calendar duration reads better in days


def number(v: float, digits: int = 1) -> str:
    """`1,234.5`: thousands separators, at most `digits` decimals, none when whole."""
    text = f"{float(v):,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def money(v: float, lang: str) -> str:
    """`¥1,234.50`; a negative amount is `-¥10.00`."""
    return ("-" if v < 0 else "") + fmt("money", lang).format(n=f"{abs(float(v)):,.2f}")


def duration(v: float, unit: str, lang: str, *, clock: str = "calendar", compact: bool = False) -> str:
    """A duration measured in `unit`, in words a manager reads at a glance.

    Never finer than the rule's unit; minutes up to an hour, hours (and minutes) up to three days,
    days beyond (one decimal). Business-clock durations stay in hours: a "day" of service hours is
    not a day.
    """
    patterns = fmt("duration_compact" if compact else "duration", lang)
    sign = "-" if v < 0 else ""
    minutes = abs(float(v)) * MINUTES[unit]
    if unit == "days" or (minutes >= DAYS_FROM_HOURS * 60 and clock != "business"):
        return sign + patterns["days"].format(n=number(minutes / 1440))
    if unit == "min" and minutes < 60:
        return sign + patterns["min"].format(n=number(minutes))
    hours, rest = divmod(round(minutes), 60)
    if hours == 0:
        return sign + patterns["min"].format(n=number(rest, 0))
    if rest == 0:
        return sign + patterns["h"].format(n=number(hours, 0))
    return sign + patterns["h_min"].format(h=number(hours, 0), m=number(rest, 0))

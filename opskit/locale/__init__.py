"""The label catalogues, one YAML file per language (`zh.yaml`, `en.yaml`).

Chinese is the source language: the team reads Chinese, so every code a report shows (channels,
ticket types, units, clocks, booleans, …) and every column, figure and widget label is looked up
here, never written in Python. Rule titles and finding messages are not here: they are templates
beside each rule in `opskit/policy.yaml`, because they state the rule's limit.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

LANGS = ("zh", "en")
CELL_SECTIONS = (
    "units",
    "channels",
    "ticket_types",
    "clocks",
    "booleans",
    "severities",
    "senders",
    "writeoff_kinds",
    "measures",
    "dimensions",
    "contact_times",
    "statuses",
    "backlog_ages",
)


def check_lang(lang: str) -> str:
    """`lang` when it is a language opskit has a catalogue for; an error a user can act on otherwise."""
    if lang not in LANGS:
        from ..errors import OpskitError

        raise OpskitError(f"language {lang!r} is not available; choose one of {', '.join(LANGS)}")
    return lang


@cache
def catalogue(lang: str) -> dict[str, Any]:
    """The whole catalogue of `lang`, read once from the package."""
    text = resources.files(__name__).joinpath(f"{check_lang(lang)}.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def fmt(name: str, lang: str) -> Any:
    """A formatting pattern of `lang` (`money`, `duration`, `list_separator`, …)."""
    return catalogue(lang)["formats"][name]


def codes(section: str, lang: str) -> dict[str, str]:
    """The labels of one code section (`channels`, `signoffs`, …) in `lang`."""
    book = catalogue(lang)
    return book["codes"].get(section) or book["message_codes"][section]


@cache
def cell_codes(lang: str) -> dict[str, str]:
    """Every code a table cell may hold (channels, types, units, clocks, …) → its label in `lang`."""
    out: dict[str, str] = {}
    for section in CELL_SECTIONS:
        out.update(codes(section, lang))
    return out

"""Masking of personal data in what managers read (HTML, Excel, CSV, executed notebooks, dashboards).

Analysts in JupyterLab and `opskit check` see raw data; `opskit serve` and `opskit run` set
`OPSKIT_AUDIENCE=manager` for their kernels, and then, unless the policy says `masking: false`:

- personal columns (buyer accounts, customer names, pay accounts) are masked whole: an identifier
  keeps its first character, a pay account its first and last four digits;
- free text (chat lines, messages, data errors) goes through one scrubber, `mask_text`, that finds
  phone numbers, card and bank account numbers and e-mail addresses in the spellings people type:
  separators (space, `-`, `.`, `_`, full-width `－．　`), full-width digits (`１３８…`), a `+86` or
  `0086` prefix, an e-mail with a full-width `＠`. Text is scrubbed whole, *before* anything cuts it
  (`clip_text` never cuts inside such a number).
"""

from __future__ import annotations

import os
import re

import pandas as pd

AUDIENCE = "OPSKIT_AUDIENCE"
PERSONAL_COLUMNS = ("customer_id", "pay_account", "registered_account", "customer_name")

_SEP = r"[ \t\-._\u3000\uff0d\uff0e\u2010-\u2015]"  # one separator a person types between digit groups
_D = r"[0-9\uff10-\uff19]"  # ASCII or full-width digit
_PREFIX = rf"(?:(?:\+|\uff0b|00|\uff10\uff10)?[8\uff18][6\uff16]{_SEP}*|\(\+?86\){_SEP}*)?"
MOBILE = rf"(?<![0-9\uff10-\uff19]){_PREFIX}[1\uff11][3-9\uff13-\uff19](?:{_SEP}?{_D}){{9}}(?![0-9\uff10-\uff19])"
LANDLINE = rf"(?<![0-9\uff10-\uff19])[0\uff10]{_D}{{2,3}}{_SEP}{_D}{{7,8}}(?![0-9\uff10-\uff19])"
_DATE = r"(?:19|20)\d\d[-/.年]\d\d?[-/.月]\d\d?"  # a date is not the start of an account number
ACCOUNT = rf"(?<![0-9\uff10-\uff19])(?!{_DATE}){_D}(?:{_SEP}?{_D}){{10,22}}(?![0-9\uff10-\uff19])"  # 11+ digits
EMAIL = r"[A-Za-z0-9\uff10-\uff19._%+\-]+[@\uff20][A-Za-z0-9\-]+(?:[.\uff0e][A-Za-z0-9\-]+)*[.\uff0e][A-Za-z]{2,}"
_PERSONAL = re.compile(f"(?P<email>{EMAIL})|(?P<phone>{MOBILE})|(?P<landline>{LANDLINE})|(?P<account>{ACCOUNT})")


def for_managers() -> bool:
    return os.environ.get(AUDIENCE) == "manager"


def _digits_masked(text: str, keep_head: int, keep_tail: int) -> str:
    """Digits beyond the first `keep_head` and last `keep_tail` become `*`; separators stay."""
    positions = [i for i, ch in enumerate(text) if ch.isdigit()]
    hidden = set(positions[keep_head : len(positions) - keep_tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))


def _mask_match(match: re.Match) -> str:
    text = match.group(0)
    if match.group("email"):
        local, _, domain = re.split(r"([@\uff20])", text, maxsplit=1)
        return f"{local[:1]}***@{domain}"
    if match.group("phone"):
        digits = sum(ch.isdigit() for ch in text)
        return _digits_masked(text, digits - 8, 4)  # +86 138 **** 5603: the operator and last four
    if match.group("landline"):
        return _digits_masked(text, 3, 2)
    grouped = re.sub(_SEP, " ", text)
    digits = re.sub(r"\D", "", grouped)
    if len(digits) >= 12:  # card and bank numbers: first and last four, as printed on statements
        return f"{digits[:4]} **** {digits[-4:]}"
    return _digits_masked(text, 3, 4)


def scrub(text: str) -> str:
    """One string with every phone, card or account number and e-mail address masked."""
    return _PERSONAL.sub(_mask_match, text)


def mask_text(values: pd.Series) -> pd.Series:
    """Phones, card and account numbers and e-mails inside free text, masked in place (whole text,
    before any truncation)."""
    text = values.astype("str")
    masked = text.str.replace(_PERSONAL, _mask_match, regex=True)
    return masked.where(values.notna(), values)


def mask_identifier(values: pd.Series) -> pd.Series:
    """An identifier shown by its first character only (`tb_10350` → `t*******`)."""
    text = values.astype("str")
    masked = text.str.slice(0, 1) + text.str.slice(1).str.replace(r".", "*", regex=True)
    return masked.where(values.notna(), values)


def mask_account(values: pd.Series) -> pd.Series:
    """A pay account: numbers and e-mails keep their ends; anything else (an alias such as
    `zhangsan_1988`) is masked as an identifier."""
    text = values.astype("str")
    scrubbed = mask_text(values)
    untouched = (scrubbed.astype("str") == text) & values.notna()
    return scrubbed.where(~untouched, mask_identifier(values))


def mask_frame(frame: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Mask the personal columns (by canonical or labelled name) and personal data inside text columns."""
    out = frame.copy()
    personal = {c: c for c in PERSONAL_COLUMNS} | {labels[c]: c for c in PERSONAL_COLUMNS if labels and c in labels}
    for column in out.columns:
        if out[column].dtype.kind in "biufcmM":
            continue
        if column in personal:
            account = "account" in personal[column]
            out[column] = mask_account(out[column]) if account else mask_identifier(out[column])
        else:
            out[column] = mask_text(out[column])
    return out


def clip_text(values: pd.Series, width: int) -> pd.Series:
    """Text cut to `width` characters for a message, never inside a phone, account or e-mail: a cut
    that would split one moves to its end, so masking later still sees all of it. (Runs on the
    failing rows a message is made for, not on whole datasets.)"""

    def cut(text: str) -> str:
        end = width
        for match in _PERSONAL.finditer(text, 0, width + 64):
            if match.start() < end < match.end():
                end = match.end()
        return text[:end]

    return values.map(cut, na_action="ignore")


_ABSOLUTE_PATH = re.compile(r"(?<![\w.~])(?:/[\w.\-+@\u4e00-\u9fff]+)+/(?=[\w.\-\u4e00-\u9fff])")
_TEXT_MIME = ("text/plain", "text/html", "text/markdown", "text/latex", "application/json")


def scrub_notebook(nb: dict, paths: dict[str, str], mask: bool = True) -> dict:
    """An executed notebook as a manager may read it: the given absolute paths replaced by their
    labels, any other absolute path cut to its last part, tracebacks reduced to the error line, and
    (with `mask`) personal data in every text output masked. `nb` is the notebook's JSON."""
    ordered = sorted(paths.items(), key=lambda kv: -len(kv[0]))

    def clean(text: str) -> str:
        for path, label in ordered:
            text = text.replace(path, label)
        text = _ABSOLUTE_PATH.sub("", text)
        return scrub(text) if mask else text

    def clean_any(value):
        if isinstance(value, str):
            return clean(value)
        if isinstance(value, list):
            return [clean_any(v) for v in value]
        if isinstance(value, dict):
            return {k: clean_any(v) for k, v in value.items()}
        return value

    for cell in nb.get("cells", []):
        cell["source"] = clean_any(cell.get("source", ""))
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                evalue = clean(str(output.get("evalue", "")))
                output["evalue"] = evalue
                output["traceback"] = [f"{output.get('ename', 'Error')}: {evalue}"]
            elif output.get("output_type") == "stream":
                output["text"] = clean_any(output.get("text", ""))
            else:
                data = output.get("data", {})
                for mime in [m for m in data if m in _TEXT_MIME]:
                    data[mime] = clean_any(data[mime])
    papermill = nb.get("metadata", {}).get("papermill")
    if isinstance(papermill, dict):
        nb["metadata"]["papermill"] = clean_any(papermill)
    return nb

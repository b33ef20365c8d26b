"""A flat hierarchy of errors that carry the data a person needs to fix the input, and the notices
(things opskit did to the data on its own: rows dropped or set aside, rules skipped) that are not errors."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported on use: the command line starts without it
    import pandas as pd

logger = logging.getLogger("opskit")
MAX_LISTED = 50  # bad cells listed in one error: enough to fix a file in one pass, short enough to read


class OpskitError(Exception):
    """Anything opskit refuses, with a message meant for the person who supplied the input."""


class OpskitNotice(UserWarning):
    """Something opskit did to the data on its own (duplicates dropped, totals rows set aside, a rule
    skipped). Issued as a Python warning so JupyterLab shows it under the cell, and logged to the
    `opskit` logger for the batch."""


class Notice(str):
    """A notice: its English text (what warnings, logs and programs match on) with the id and parameters
    of its template, so that a report can say it in the reader's language. The templates of both
    languages are the `notices` section of the locale catalogues."""

    id: str
    params: dict[str, Any]

    def __new__(cls, id: str, **params: Any) -> Notice:
        from .locale import catalogue

        notice = super().__new__(cls, catalogue("en")["notices"][id].format(**params))
        notice.id, notice.params = id, params
        return notice

    def say(self, lang: str) -> str:
        """The notice in `lang`; dataset and key names among the parameters are named in that language."""
        from .locale import catalogue

        book = catalogue(lang)
        names = book["codes"]["datasets"]
        params = dict(self.params)
        if "datasets" in params:
            params["datasets"] = book["formats"]["list_separator"].join(
                names.get(d, d) for d in str(params["datasets"]).split(", ")
            )
        if "key" in params:
            params["key"] = book["notice_keys"].get(params["key"], params["key"])
        return book["notices"][self.id].format(**params)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "params": self.params}

    @classmethod
    def from_json(cls, value: str | dict[str, Any]) -> str:
        """A saved notice: templated (a dict) or, from an older writer, its text."""
        return cls(value["id"], **value["params"]) if isinstance(value, dict) else str(value)


def say(notice: str, lang: str) -> str:
    """Any notice in `lang`: a templated one in the reader's words, any other as it was written."""
    return notice.say(lang) if isinstance(notice, Notice) else str(notice)


def notice_line(notice: str, lang: str) -> str:
    """A notice as a command prints it on stderr, prefix included, in `lang`."""
    from .locale import catalogue

    return catalogue(lang)["formats"]["notice_line"].format(text=say(notice, lang))


def notify(notices: Iterable[str], stacklevel: int = 3) -> None:
    """Issue each notice as an `OpskitNotice` warning and an INFO record of the `opskit` logger."""
    for text in notices:
        logger.info(text)
        warnings.warn(text, OpskitNotice, stacklevel=stacklevel)


class DataError(OpskitError):
    """A data file that cannot be used as it is: names file, row (as the user sees it) and column.

    When a file has several bad cells, `problems` lists every one (up to `MAX_LISTED`, `total` counts
    them all) and `row`/`column` are those of the first; the message lists them one per line.

    A cell's value quoted in a problem is passed as `value`, the problem holding `{value}` where it
    goes: managers (`OPSKIT_AUDIENCE=manager`, set by `opskit run` and `opskit serve`) read it masked
    — whole in a personal column, its phones, accounts and e-mails elsewhere, before it is cut —
    while the analyst who fixes the file reads it as it is.

    The problems a person meets most (a value that cannot be read, a missing or blank required column,
    no header row, an empty or undecodable file) also carry `zh`, the same problem in Chinese (with
    `{value}` masked alike), appended after the English that programs and logs match on: the team
    reads Chinese. A list of several bad cells stays terse, in English, one per line."""

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        row: int | None = None,
        column: str | None = None,
        expected: str | None = None,
        value: str | None = None,
        zh: str | None = None,
    ) -> None:
        self.file, self.row, self.column = file, row, column
        self.problem, self.expected, self.value, self.zh = problem, expected, value, zh
        self.problems: list[DataError] = [self]
        self.total = 1
        super().__init__(f"{file}{self._where()}: {self._what()}")

    def _where(self) -> str:
        where = ""
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        return where

    def _what(self, masked: bool = False, zh: bool = True) -> str:
        def filled(text: str) -> str:
            if self.value is not None and "{value}" in text:
                return text.replace("{value}", _quoted(self.value, self.column, masked))
            return text

        english = filled(self.problem) + (f" (expected {self.expected})" if self.expected else "")
        return english + (f" / {filled(self.zh)}" if self.zh and zh else "")

    def render(self, masked: bool = False) -> str:
        """The message, with quoted cell values masked when `masked`."""
        if len(self.problems) == 1 and self.total == 1:
            return f"{self.file}{self._where()}: {self._what(masked)}"
        lines = [f"{self.file}: {self.total} bad cells"]
        lines += [f"  - {p._where().lstrip(', ')}: {p._what(masked, zh=False)}" for p in self.problems]
        listed = len(self.problems)
        if self.total > listed:
            lines.append(f"  … and {self.total - listed:,} more (the first {listed} are listed)")
        return "\n".join(lines)

    @classmethod
    def several(cls, file: str, problems: list[DataError], total: int) -> DataError:
        """One error for a file's bad cells: the first names row and column, the message lists all."""
        first = problems[0]
        error = cls(first.file, first.problem, row=first.row, column=first.column, expected=first.expected, zh=first.zh)
        error.value, error.problems, error.total = first.value, list(problems), total
        error.args = (error.render(),)
        return error

    def table(self) -> pd.DataFrame:
        """The bad cells as a frame (file, row, column, value, problem, expected), to sort or filter."""
        import pandas as pd

        return pd.DataFrame(
            [(p.file, p.row, p.column, p.value, p.problem, p.expected) for p in self.problems],
            columns=["file", "row", "column", "value", "problem", "expected"],
        ).astype({"row": "Int64"})

    def __str__(self) -> str:
        return self.render(masked=_for_managers())


def _for_managers() -> bool:
    return os.environ.get("OPSKIT_AUDIENCE") == "manager"


def _quoted(value: str, column: str | None, masked: bool, width: int = 60) -> str:
    """A cell's value as a message quotes it: masked first (the whole text), then cut to `width`."""
    if masked:
        from .report.masking import PERSONAL_COLUMNS, scrub

        personal = column is not None and any(c in column for c in PERSONAL_COLUMNS)
        value = value[:1] + "*" * (len(value) - 1) if personal else scrub(value)
    return repr(value[:width]) + ("…" if len(value) > width else "")


class BadCells:
    """Collects a file's bad cells as the loader finds them, so one load reports all of them at once.

    Parsers and checks call `add` with a mask over the rows; `raise_if_any` ends the load with one
    `DataError` listing them (or the single error as it always read, when there is one)."""

    def __init__(self, file: str, rows: pd.Series, cap: int = MAX_LISTED) -> None:
        self.file, self.rows, self.cap = file, rows, cap
        self.problems: list[DataError] = []
        self.total = 0
        self.marked: dict[str, pd.Series] = {}

    def add(
        self,
        bad: pd.Series,
        column: str,
        label: str,
        problem: str | Callable[[object], str],
        expected: str | None,
        values: pd.Series | None = None,
        zh: str | None = None,
    ) -> None:
        """Every row where `bad` holds is a bad cell of `column` (shown as `label`), unless already named;
        `zh` is the problem in Chinese (`{value}` where the cell's value goes)."""
        import pandas as pd

        seen = self.marked.get(column)
        fresh = bad & ~seen.reindex(bad.index, fill_value=False) if seen is not None else bad
        self.marked[column] = fresh if seen is None else (seen | fresh.reindex(seen.index, fill_value=False))
        where = fresh[fresh].index
        self.total += len(where)
        room = self.cap - len(self.problems)
        for index in where[: max(room, 0)]:  # at most `cap` rows become Python objects, however large the file
            value = None if values is None else values.get(index)
            text = problem if isinstance(problem, str) else problem(value)
            self.problems.append(
                DataError(
                    self.file,
                    text,
                    row=int(self.rows[index]),
                    column=label,
                    expected=expected,
                    value=None if value is None or pd.isna(value) else str(value),
                    zh=zh,
                )
            )

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        self.problems.sort(key=lambda p: p.row if p.row is not None else 0)  # top to bottom, as the file is read
        if self.total == 1:
            raise self.problems[0]
        raise DataError.several(self.file, self.problems, self.total)


class PolicyError(OpskitError):
    """A policy file that names an unknown rule, a wrong unit or an unusable value."""


class NotebookError(OpskitError):
    """A report notebook that failed: which notebook, which cell, what error."""

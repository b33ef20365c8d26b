"""A flat hierarchy of errors that carry the data a person needs to fix the input."""

from __future__ import annotations

import os


class OpskitError(Exception):
    """Anything opskit refuses, with a message meant for the person who supplied the input."""


class DataError(OpskitError):
    """A data file that cannot be used as it is: names file, row (as the user sees it) and column.

    A cell's value quoted in the problem is passed as `value` (the problem holds `{value}` where it
    goes): managers (`OPSKIT_AUDIENCE=manager`, set by `opskit run` and `opskit serve`) read it
    masked — whole in a personal column, its phones, accounts and e-mails elsewhere — while the
    analyst who fixes the file sees it as it is."""

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        row: int | None = None,
        column: str | None = None,
        expected: str | None = None,
        value: str | None = None,
    ) -> None:
        self.file, self.row, self.column = file, row, column
        self.problem, self.expected, self.value = problem, expected, value
        super().__init__(file, problem)

    def __str__(self) -> str:
        return self.render(masked=_for_managers())

    def render(self, masked: bool = False) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        problem = self.problem
        if self.value is not None:
            problem = problem.replace("{value}", _quoted(self.value, self.column, masked))
        text = f"{where}: {problem}"
        if self.expected:
            text += f" (expected {self.expected})"
        return text


def _for_managers() -> bool:
    return os.environ.get("OPSKIT_AUDIENCE") == "manager"


def _quoted(value: str, column: str | None, masked: bool, width: int = 60) -> str:
    """The cell's value as quoted in a message: masked first (whole text), then cut."""
    if masked:
        from .report.masking import PERSONAL_COLUMNS, scrub

        personal = column is not None and any(c in column for c in PERSONAL_COLUMNS)
        value = value[:1] + "*" * (len(value) - 1) if personal else scrub(value)
    return repr(value[:width]) + ("…" if len(value) > width else "")


class PolicyError(OpskitError):
    """A policy file that names an unknown rule, a wrong unit or an unusable value."""


class NotebookError(OpskitError):
    """A report notebook that failed: which notebook, which cell, what error."""

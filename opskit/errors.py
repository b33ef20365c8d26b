"""A flat hierarchy of errors that carry the data a person needs to fix the input."""

from __future__ import annotations


class OpskitError(Exception):
    """Anything opskit refuses, with a message meant for the person who supplied the input."""


class DataError(OpskitError):
    """A data file that cannot be used as it is: names file, row (as the user sees it) and column.

    The problems a person meets most (a value that cannot be read, a missing or blank required
    column, no header row, an empty or undecodable file) also carry `zh`, the same problem in
    Chinese, appended after the English (which programs and logs match on): the team reads Chinese."""

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        row: int | None = None,
        column: str | None = None,
        expected: str | None = None,
        zh: str | None = None,
    ) -> None:
        self.file, self.row, self.column = file, row, column
        self.problem, self.expected, self.zh = problem, expected, zh
        where = file
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column}"
        text = f"{where}: {problem}"
        if expected:
            text += f" (expected {expected})"
        if zh:
            text += f" / {zh}"
        super().__init__(text)


class PolicyError(OpskitError):
    """A policy file that names an unknown rule, a wrong unit or an unusable value."""


class NotebookError(OpskitError):
    """A report notebook that failed: which notebook, which cell, what error."""

"""The error types of itu-plan: one root, a few subclasses that build their message.

Each carries structured fields (who, what, where) and an ``exit_code`` the CLI
uses; the message is a plain sentence a planner understands.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


class ItuPlanError(Exception):
    """Root of every error itu-plan raises on purpose."""

    exit_code = 1


class UsageError(ItuPlanError):
    """The request itself is wrong: a bad option, a refused operation."""

    exit_code = 2


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in input data, located as ``FILE:ROW:COLUMN``.

    ``row`` counts the header as row 1; ``column`` is the header name (empty
    when the problem concerns the whole row or file).
    """

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return _one_line(f"{self.file}:{self.row}:{self.column}: {self.message}")


def _one_line(text: str) -> str:
    """``text`` with its control and format characters escaped (``\\n``, ``\\x1b``,
    ``\\u202e``): a header or a cell may hold any, and a problem is one line that a
    terminal shows as it is written."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class ValidationError(ItuPlanError):
    """Input was rejected; nothing was written. ``problems`` lists every reason."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{count} {noun} found; nothing was written")

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class PermissionDenied(ItuPlanError):
    """``user`` may not do ``action``, because ``reason``."""

    exit_code = 3

    def __init__(self, user: str, action: str, reason: str) -> None:
        self.user, self.action, self.reason = user, action, reason
        super().__init__(f"{user} may not {action}: {reason}")


class ConflictError(ItuPlanError):
    """Someone else changed the record since it was read; nothing was overwritten."""

    exit_code = 4

    def __init__(self, record: str, changed_by: str | None = None, changed_at: dt.datetime | None = None) -> None:
        self.record, self.changed_by, self.changed_at = record, changed_by, changed_at
        who = changed_by or "another user"
        when = f" at {changed_at:%Y-%m-%d %H:%M:%S}" if changed_at else ""
        super().__init__(f"{record} was changed by {who}{when} after you read it; reload and apply your change again")


class NotFound(ItuPlanError):
    """A record named by its business key does not exist."""

    exit_code = 2

    def __init__(self, what: str, key: str) -> None:
        self.what, self.key = what, key
        super().__init__(f"there is no {what} {key!r}")

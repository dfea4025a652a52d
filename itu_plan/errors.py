"""The error types of itu-plan: one root, a few subclasses that build their message.

Each carries structured fields (who, what, where) and an ``exit_code`` the CLI
uses; the message is a plain sentence a planner understands.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
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
        return printable(f"{self.file}:{self.row}:{self.column}: {self.message}")


#: Control and format characters: C0 and C1 controls, DEL, zero-width and bidi marks, BOM.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def printable(text: str) -> str:
    """``text`` safe for a terminal, in one line: each control or format character shown
    as an escape (``\\n``, ``\\x1b``, ``\\u202e``). A header or a cell may hold any; the
    importer and the editor refuse them in data, and this guards what was stored before."""
    if text.isprintable():
        return text
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)


class Problems(list[Problem]):
    """The problems found so far: the first ``keep`` of them, the others only counted
    (``more``), so that a file of a million bad rows costs no more memory than a
    file of a thousand."""

    def __init__(self, keep: int = 1_000) -> None:
        super().__init__()
        self.keep = keep
        self.more = 0

    def append(self, problem: Problem) -> None:
        if len(self) < self.keep:
            super().append(problem)
        else:
            self.more += 1

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.append(problem)


class ValidationError(ItuPlanError):
    """Input was rejected; nothing was written. ``problems`` lists the reasons, sorted:
    every one, or the first thousand found when there were more (``more`` counts the
    others; ``count`` is all of them)."""

    exit_code = 2

    def __init__(self, problems: list[Problem], more: int | None = None) -> None:
        self.problems = sorted(problems)
        self.more = getattr(problems, "more", 0) if more is None else more
        self.count = len(self.problems) + self.more
        noun = "problem" if self.count == 1 else "problems"
        super().__init__(f"{self.count:,} {noun} found; nothing was written")

    def lines(self, limit: int | None = None) -> list[str]:
        """One line per problem; given ``limit``, the first ``limit`` and a line counting
        the others (``... and 299,900 more problems``)."""
        shown = self.problems if limit is None else self.problems[:limit]
        lines = [str(p) for p in shown]
        if (rest := self.count - len(shown)) > 0:
            lines.append(f"... and {rest:,} more {'problem' if rest == 1 else 'problems'}")
        return lines


class PermissionDenied(ItuPlanError):
    """``user`` may not do ``action``, because ``reason``."""

    exit_code = 3

    def __init__(self, user: str, action: str, reason: str) -> None:
        self.user, self.action, self.reason = user, action, reason
        super().__init__(f"{user} may not {action}: {reason}")


class ReadOnlyWorkspace(ItuPlanError):
    """The workspace's file (or its folder) is not writable for this user: it was opened
    read-only, and a change was refused before anything was tried."""

    exit_code = 3

    def __init__(self, location: str) -> None:
        self.location = location
        super().__init__(
            f"the workspace at {location} is read-only for you: you may read it and run reports, "
            "not change it (ask its owner for write access to the file and its folder, or work on a copy)"
        )


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

"""The editing service: create, update and delete plan records by business key.

This is what the CLI and the widgets call to change activities, cost lines and
budget lines (and, from :mod:`itu_plan.comments`, to comment on any record). Each
kind of record is a :class:`RecordKind`: how to find it by its business key, its
unit, how the audit trail describes it, its fields and their value rules
(:mod:`itu_plan.edit_rules`); one create, one update and one delete work for all.
Every function takes the caller's session (the caller owns the transaction) and
the acting :class:`~itu_plan.access.Actor`, and for each write:

1. checks that the actor may make it (role, units, draft version) and
   validates every value, since a Voilà browser can send anything;
2. applies it under optimistic locking: updates and deletes take the
   ``row_version`` the caller read; if the record changed since (or changes
   while we wait for its row lock), nothing is written and ``ConflictError``
   names who changed it last and when (from the audit trail);
3. appends an audit event in the same transaction: the action (``create``,
   ``update``, ``delete``), the table, the business key, and the record before
   and after in business-key terms (codes, not ids; money as CHF strings such
   as ``"1234.50"``; work-months likewise with two decimals).

Business keys (their string form is :func:`itu_plan.audit.record_key`):

* activity: its ``code``;
* cost line: :class:`CostLineKey` (version name, activity code, year,
  category, grade or None, funding source code);
* budget line: :class:`BudgetLineKey` (version name, unit code, objective
  code, year, category).

Values are given in business terms: codes; ``datetime.date`` or ISO date
strings; years as integers; money in CHF and work-months as ``Decimal``,
``str`` or ``int`` with at most two decimals. Bad values raise
:class:`EditRejected` (a ``ValidationError`` and a ``UsageError``, exit 2) listing
every problem at once, each naming its field and value; nothing is written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from itu_plan import audit
from itu_plan import edit_rules as rule
from itu_plan.access import Actor, require_plan_write, require_writer
from itu_plan.comments import COMMENTABLE, add_comment, describe_comment, list_comments, resolve_comment
from itu_plan.edit_rules import EditRejected, FieldProblem
from itu_plan.errors import ConflictError, NotFound, Problem, UsageError
from itu_plan.model import (
    ACTIVITY_STATUSES,
    CATEGORIES,
    GRADES,
    Activity,
    Actual,
    BudgetLine,
    CostLine,
    FundingSource,
    Objective,
    PlanVersion,
    StandardCost,
    Unit,
)
from itu_plan.money import format_chf, format_scaled, staff_cost
from itu_plan.versions import get_version

__all__ = [
    "ACTIVITY",
    "BUDGET_LINE",
    "COMMENTABLE",
    "COST_LINE",
    "BudgetLineKey",
    "CostLineKey",
    "EditRejected",
    "FieldProblem",
    "RecordKind",
    "add_comment",
    "create_activity",
    "create_budget_line",
    "create_cost_line",
    "delete_activity",
    "delete_budget_line",
    "delete_cost_line",
    "describe_activity",
    "describe_budget_line",
    "describe_comment",
    "describe_cost_line",
    "find_activity",
    "find_budget_line",
    "find_cost_line",
    "list_comments",
    "resolve_comment",
    "update_activity",
    "update_budget_line",
    "update_cost_line",
]

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")

ACTIVITY_FIELDS = ("title", "objective", "unit", "start_date", "end_date", "status", "owner")
COST_LINE_FIELDS = ("amount", "work_months")
BUDGET_LINE_FIELDS = ("amount",)


# -- business keys -----------------------------------------------------------------------


@dataclass(frozen=True)
class CostLineKey:
    """The business key of a cost line."""

    version: str
    activity: str
    year: int
    category: str
    grade: str | None
    funding_source: str

    def __str__(self) -> str:
        return audit.record_key(self.version, self.activity, self.year, self.category, self.grade, self.funding_source)

    @classmethod
    def parse(cls, text: str) -> CostLineKey:
        """``"2006-2007 draft/BDT-AFR-001/2006/travel//RB-MS"`` -> a key (the version name,
        the first part, may itself contain the separator)."""
        parts = _split_key(text, 6, "cost line")
        return cls(parts[0], parts[1], _key_year(parts[2], text), parts[3], parts[4] or None, parts[5])


@dataclass(frozen=True)
class BudgetLineKey:
    """The business key of a budget line."""

    version: str
    unit: str
    objective: str
    year: int
    category: str

    def __str__(self) -> str:
        return audit.record_key(self.version, self.unit, self.objective, self.year, self.category)

    @classmethod
    def parse(cls, text: str) -> BudgetLineKey:
        """``"2006-2007 draft/BDT-AFR/ITU-D.1/2006/travel"`` -> a key."""
        parts = _split_key(text, 5, "budget line")
        return cls(parts[0], parts[1], parts[2], _key_year(parts[3], text), parts[4])


def _split_key(text: str, count: int, noun: str) -> list[str]:
    parts = text.rsplit(audit.KEY_SEPARATOR, count - 1) if isinstance(text, str) else []
    if len(parts) != count:
        raise UsageError(f"{text!r} is not a {noun} key: it has {count} parts separated by {audit.KEY_SEPARATOR!r}")
    return parts


def _key_year(text: str, key: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise UsageError(f"{key!r} is not a valid key: the year {text!r} is not a number")
    return int(text)


# -- lookups ----------------------------------------------------------------------------


def _by_code(session: Session, model: Any, column: Any, code: object, noun: str) -> Any:
    record = session.scalars(select(model).where(column == code)).one_or_none() if isinstance(code, str) else None
    if record is None:
        raise NotFound(noun, str(code))
    return record


def _unit(session: Session, code: object) -> Unit:
    unit: Unit = _by_code(session, Unit, Unit.code, code, "unit")
    return unit


def _objective(session: Session, code: object) -> Objective:
    objective: Objective = _by_code(session, Objective, Objective.code, code, "objective")
    return objective


def _funding_source(session: Session, code: object) -> FundingSource:
    source: FundingSource = _by_code(session, FundingSource, FundingSource.code, code, "funding source")
    return source


def find_activity(session: Session, code: str) -> Activity:
    """The activity ``code`` (``NotFound`` otherwise), with its current ``row_version``."""
    activity = session.scalars(
        select(Activity).where(Activity.code == code).execution_options(populate_existing=True)
    ).one_or_none()
    if activity is None:
        raise NotFound("activity", str(code))
    return activity


def find_cost_line(session: Session, key: CostLineKey) -> CostLine:
    """The cost line ``key`` (``NotFound`` otherwise), with its current ``row_version``."""
    line = _cost_line(session, key, get_version(session, key.version))
    if line is None:
        raise NotFound("cost line", str(key))
    return line


def find_budget_line(session: Session, key: BudgetLineKey) -> BudgetLine:
    """The budget line ``key`` (``NotFound`` otherwise), with its current ``row_version``."""
    line = _budget_line(session, key, get_version(session, key.version))
    if line is None:
        raise NotFound("budget line", str(key))
    return line


def _cost_line(session: Session, key: CostLineKey, version: PlanVersion) -> CostLine | None:
    grade = CostLine.grade.is_(None) if key.grade in (None, "") else CostLine.grade == key.grade
    return session.scalars(
        select(CostLine)
        .join(Activity, Activity.id == CostLine.activity_id)
        .join(FundingSource, FundingSource.id == CostLine.funding_source_id)
        .where(
            CostLine.version_id == version.id,
            Activity.code == key.activity,
            CostLine.year == key.year,
            CostLine.category == key.category,
            FundingSource.code == key.funding_source,
            grade,
        )
        .order_by(CostLine.id)
        .limit(1)
        .execution_options(populate_existing=True)
    ).first()


def _budget_line(session: Session, key: BudgetLineKey, version: PlanVersion) -> BudgetLine | None:
    return session.scalars(
        select(BudgetLine)
        .join(Unit, Unit.id == BudgetLine.unit_id)
        .join(Objective, Objective.id == BudgetLine.objective_id)
        .where(
            BudgetLine.version_id == version.id,
            Unit.code == key.unit,
            Objective.code == key.objective,
            BudgetLine.year == key.year,
            BudgetLine.category == key.category,
        )
        .execution_options(populate_existing=True)
    ).one_or_none()


def _missing(session: Session, table: str, key: str, noun: str) -> Exception:
    """A record not found: a conflict if someone deleted it, else ``NotFound``."""
    event = audit.last_event(session, table, key)
    if event is not None and event.action == "delete":
        return ConflictError(f"{noun} {key}", event.username, audit.utc(event.at))
    return NotFound(noun, key)


def _conflict(session: Session, table: str, key: str, noun: str) -> ConflictError:
    event = audit.last_event(session, table, key)
    return ConflictError(
        f"{noun} {key}",
        event.username if event else None,
        audit.utc(event.at) if event else None,
    )


def _version_for_write(session: Session, name: str, *, creating: bool) -> PlanVersion:
    """The version a line is written to, row-locked on PostgreSQL against a concurrent
    submit or approve (and, for a create, against a concurrent create of the same key:
    a cost line's grade may be empty, which a unique constraint does not guard)."""
    query = select(PlanVersion).where(PlanVersion.name == name)
    query = query.with_for_update(key_share=True) if creating else query.with_for_update(read=True)
    version = session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    if version is None:
        raise NotFound("plan version", str(name))
    return version


# -- record kinds -----------------------------------------------------------------------------

KeyT = TypeVar("KeyT")
RecordT = TypeVar("RecordT")
#: Problems found so far in the values of one request.
_Found = list[Problem]


@dataclass(frozen=True)
class RecordKind(Generic[KeyT, RecordT]):
    """What the one create, update and delete need to know of a kind of plan record."""

    noun: str  # as messages name it: "cost line"
    article: str  # "a" or "an", for "there is already a cost line ..."
    table: str  # as the audit trail names it
    fields: tuple[str, ...]  # the fields an update may change
    #: the name of the plan version a key belongs to (locked while it is written); None: no version
    version: Callable[[KeyT], str | None]
    #: the record of a key in that version, with its current row_version; None if there is none
    find: Callable[[Session, KeyT, PlanVersion | None], RecordT | None]
    #: the unit whose writers may change the record
    unit: Callable[[RecordT], int]
    #: the record in business-key terms, as the audit trail records it
    describe: Callable[[Session, RecordT], dict[str, Any]]
    #: the value rules of a create: clean values of the key and the fields given
    clean_new: Callable[[_Found, KeyT, Mapping[str, object]], dict[str, Any]]
    #: the new record (not yet added) of clean values, and its unit; looks up what it refers to
    new: Callable[[Session, KeyT, dict[str, Any], PlanVersion | None], tuple[RecordT, int]]
    #: the value rules of an update: the columns to write for the changes asked
    clean_changes: Callable[[Session, RecordT, Mapping[str, object], _Found], dict[str, Any]]
    #: a new record's values derived once it is allowed (a staff line priced from the standard cost)
    derive: Callable[[Session, RecordT, _Found], None] | None = None
    #: an update's checks and lookups once its values are clean: may raise, may add columns
    settle: Callable[[Session, Actor, RecordT, Mapping[str, object], dict[str, Any], str], None] | None = None
    #: refuse to delete a record others still refer to
    deletable: Callable[[Session, RecordT, str], None] | None = None

    def what(self, key: KeyT) -> str:
        return f"{self.noun} {key}"


def _create(
    session: Session, who: Actor, kind: RecordKind[KeyT, RecordT], key: KeyT, given: Mapping[str, object]
) -> RecordT:
    """Create the record ``key`` of ``kind`` with the values ``given``, audited."""
    what = kind.what(key)
    require_writer(who, what, verb="create")
    problems: _Found = []
    clean = kind.clean_new(problems, key, given)
    rule.reject(what, problems)
    name = kind.version(key)
    version = None if name is None else _version_for_write(session, name, creating=True)
    record, unit_id = kind.new(session, key, clean, version)
    require_plan_write(session, who, unit_id=unit_id, version=version, what=what, verb="create")
    if version is not None and not version.covers(clean["year"]):
        rule.bad(problems, "year", clean["year"], f"is outside the period {version.period} of {version.name}")
    if kind.derive is not None:
        kind.derive(session, record, problems)
    rule.reject(what, problems)
    if kind.find(session, key, version) is not None:
        raise UsageError(f"there is already {kind.article} {what}")
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:  # the key was taken meanwhile by someone else
        raise _conflict(session, kind.table, str(key), kind.noun) from None
    audit.record(session, who.username, "create", kind.table, str(key), after=kind.describe(session, record))
    return record


def _existing(
    session: Session, kind: RecordKind[KeyT, RecordT], key: KeyT, row_version: object, verb: str, who: Actor
) -> tuple[RecordT, int]:
    """The record ``key`` that ``who`` means to ``verb`` at ``row_version``, once they may."""
    checked = rule.row_version(row_version)
    what = kind.what(key)
    require_writer(who, what, verb=verb)
    name = kind.version(key)
    version = None if name is None else _version_for_write(session, name, creating=False)
    record = kind.find(session, key, version)
    if record is None:
        raise _missing(session, kind.table, str(key), kind.noun)
    require_plan_write(session, who, unit_id=kind.unit(record), version=version, what=what, verb=verb)
    return record, checked


def _update(
    session: Session,
    who: Actor,
    kind: RecordKind[KeyT, RecordT],
    key: KeyT,
    row_version: object,
    changes: Mapping[str, object],
) -> RecordT:
    """Write the ``changes`` to the record ``key`` if it is still at ``row_version``, audited.
    Nothing to change writes nothing, but a stale ``row_version`` is still a ``ConflictError``."""
    record, row_version = _existing(session, kind, key, row_version, "change", who)
    what = kind.what(key)
    problems: _Found = []
    for name in changes:
        if name not in kind.fields:
            rule.bad(problems, "field", name, f"cannot be changed here (fields that can: {', '.join(kind.fields)})")
    values = kind.clean_changes(session, record, changes, problems)
    rule.reject(what, problems)
    if kind.settle is not None:
        kind.settle(session, who, record, changes, values, what)
    before = kind.describe(session, record)
    changed = {k: v for k, v in values.items() if getattr(record, k) != v}
    model: Any = type(record)
    guarded = update(model).values(**changed, row_version=row_version + 1)
    if changed:
        _guarded(session, kind, key, record, row_version, guarded)
        session.refresh(record)
        audit.record(
            session, who.username, "update", kind.table, str(key), before=before, after=kind.describe(session, record)
        )
    elif getattr(record, "row_version") != row_version:  # noqa: B009
        raise _conflict(session, kind.table, str(key), kind.noun)
    return record


def _delete(session: Session, who: Actor, kind: RecordKind[KeyT, RecordT], key: KeyT, row_version: object) -> None:
    """Delete the record ``key`` if it is still at ``row_version``, audited."""
    record, row_version = _existing(session, kind, key, row_version, "delete", who)
    if kind.deletable is not None:
        kind.deletable(session, record, kind.what(key))
    before = kind.describe(session, record)
    _guarded(session, kind, key, record, row_version, sql_delete(type(record)))
    session.expunge(record)
    audit.record(session, who.username, "delete", kind.table, str(key), before=before)


def _guarded(
    session: Session, kind: RecordKind[KeyT, RecordT], key: KeyT, record: Any, row_version: int, statement: Any
) -> None:
    """Run the UPDATE or DELETE ``statement`` on ``record`` only if it is still at
    ``row_version``; else ``ConflictError``, naming who changed it last."""
    model = type(record)
    if record.row_version == row_version:
        result = session.execute(
            statement.where(model.id == record.id, model.row_version == row_version).execution_options(
                synchronize_session=False
            )
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return
    raise _conflict(session, kind.table, str(key), kind.noun)


# -- audit descriptions -------------------------------------------------------------------


def describe_activity(activity: Activity) -> dict[str, Any]:
    """The activity in business-key terms, as the audit trail records it."""
    return {
        "code": activity.code,
        "title": activity.title,
        "objective": activity.objective.code,
        "unit": activity.unit.code,
        "start_date": activity.start_date.isoformat() if activity.start_date else None,
        "end_date": activity.end_date.isoformat() if activity.end_date else None,
        "status": activity.status,
        "owner": activity.owner,
    }


def describe_cost_line(line: CostLine) -> dict[str, Any]:
    """The cost line in business-key terms, as the audit trail records it."""
    return {
        "version": line.version.name,
        "activity": line.activity.code,
        "year": line.year,
        "category": line.category,
        "grade": line.grade,
        "work_months": (None if line.work_months_e2 is None else format_scaled(line.work_months_e2, 2)),
        "amount": format_chf(line.amount_centimes),
        "funding_source": line.funding_source.code,
    }


def describe_budget_line(session: Session, line: BudgetLine) -> dict[str, Any]:
    """The budget line in business-key terms, as the audit trail records it."""
    version = session.scalars(select(PlanVersion.name).where(PlanVersion.id == line.version_id)).one()
    unit = session.scalars(select(Unit.code).where(Unit.id == line.unit_id)).one()
    objective = session.scalars(select(Objective.code).where(Objective.id == line.objective_id)).one()
    return {
        "version": version,
        "unit": unit,
        "objective": objective,
        "year": line.year,
        "category": line.category,
        "amount": format_chf(line.amount_centimes),
    }


# -- activities ------------------------------------------------------------------------------


def _activity(session: Session, code: object, version: PlanVersion | None = None) -> Activity | None:
    return session.scalars(
        select(Activity).where(Activity.code == code).execution_options(populate_existing=True)
    ).one_or_none()


def _dates(problems: _Found, start: dt.date | None, end: dt.date | None) -> None:
    if start and end and end < start:
        rule.bad(problems, "end_date", end.isoformat(), f"is before start_date {start.isoformat()}")


def _clean_new_activity(problems: _Found, code: str, given: Mapping[str, object]) -> dict[str, Any]:
    if not isinstance(code, str) or not _CODE.match(code):
        rule.bad(problems, "code", code, "is not a code (letters, digits, '.', '_', '-'; at most 32 characters)")
    clean: dict[str, Any] = {
        "code": code,
        "title": rule.text(problems, "title", given["title"], 300),
        "start_date": rule.date(problems, "start_date", given["start_date"]),
        "end_date": rule.date(problems, "end_date", given["end_date"]),
    }
    _dates(problems, clean["start_date"], clean["end_date"])
    clean["status"] = rule.choice(problems, "status", given["status"], ACTIVITY_STATUSES, optional=True)
    clean["owner"] = rule.text(problems, "owner", given["owner"], 100, optional=True)
    return clean | {"unit": given["unit"], "objective": given["objective"]}


def _new_activity(
    session: Session, code: str, clean: dict[str, Any], version: PlanVersion | None
) -> tuple[Activity, int]:
    unit = _unit(session, clean.pop("unit"))
    objective = _objective(session, clean.pop("objective"))
    return Activity(**clean, objective_id=objective.id, unit_id=unit.id), unit.id


def _activity_changes(
    session: Session, activity: Activity, changes: Mapping[str, object], problems: _Found
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "title" in changes:
        values["title"] = rule.text(problems, "title", changes["title"], 300)
    for name in ("start_date", "end_date"):
        if name in changes:
            values[name] = rule.date(problems, name, changes[name])
    _dates(problems, values.get("start_date", activity.start_date), values.get("end_date", activity.end_date))
    if "status" in changes:
        values["status"] = rule.choice(problems, "status", changes["status"], ACTIVITY_STATUSES, optional=True)
    if "owner" in changes:
        values["owner"] = rule.text(problems, "owner", changes["owner"], 100, optional=True)
    return values


def _move_activity(
    session: Session, who: Actor, activity: Activity, changes: Mapping[str, object], values: dict[str, Any], what: str
) -> None:
    """Resolve a new unit (which ``who`` must write for too) and objective; refuse a move
    that would rewrite an approved plan or the objective of booked actuals."""
    if "unit" in changes:
        new_unit = _unit(session, changes["unit"])
        require_plan_write(session, who, unit_id=new_unit.id, what=what)
        values["unit_id"] = new_unit.id
    if "objective" in changes:
        values["objective_id"] = _objective(session, changes["objective"]).id
    moved = [
        name
        for name, column in (("unit", "unit_id"), ("objective", "objective_id"))
        if column in values and values[column] != getattr(activity, column)
    ]
    locked = (
        session.scalars(
            select(PlanVersion.name)
            .distinct()
            .join(CostLine, CostLine.version_id == PlanVersion.id)
            .where(CostLine.activity_id == activity.id, PlanVersion.status != "draft")
            .order_by(PlanVersion.name)
        ).all()
        if moved
        else []
    )
    if locked:
        raise UsageError(
            f"cannot change the {' and '.join(moved)} of {what}: it has cost lines in "
            f"{', '.join(locked)}, which only draft versions may change; create a new "
            "activity instead"
        )
    if "objective" in moved and (booked := _count(session, Actual, Actual.activity_id == activity.id)):
        raise UsageError(
            f"cannot change the objective of {what}: {booked} actuals are booked to it and "
            "would move to the new objective with it; create a new activity instead"
        )


def _count(session: Session, model: Any, condition: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(condition)) or 0)


def _activity_deletable(session: Session, activity: Activity, what: str) -> None:
    lines = _count(session, CostLine, CostLine.activity_id == activity.id)
    actuals = _count(session, Actual, Actual.activity_id == activity.id)
    if lines or actuals:
        raise UsageError(
            f"cannot delete {what}: {lines} cost lines and {actuals} actuals refer to it; "
            "set its status to cancelled instead"
        )


ACTIVITY: RecordKind[str, Activity] = RecordKind(
    noun="activity",
    article="an",
    table="activities",
    fields=ACTIVITY_FIELDS,
    version=lambda code: None,
    find=_activity,
    unit=lambda activity: activity.unit_id,
    describe=lambda session, activity: describe_activity(activity),
    clean_new=_clean_new_activity,
    new=_new_activity,
    clean_changes=_activity_changes,
    settle=_move_activity,
    deletable=_activity_deletable,
)


def create_activity(
    session: Session,
    who: Actor,
    *,
    code: str,
    title: str,
    objective: str,
    unit: str,
    start_date: dt.date | str | None = None,
    end_date: dt.date | str | None = None,
    status: str | None = None,
    owner: str | None = None,
) -> Activity:
    """Create the activity ``code`` under ``objective`` and ``unit`` (codes)."""
    given = {"title": title, "objective": objective, "unit": unit, "start_date": start_date}
    return _create(session, who, ACTIVITY, code, given | {"end_date": end_date, "status": status, "owner": owner})


def update_activity(
    session: Session, who: Actor, code: str, row_version: int, changes: Mapping[str, object]
) -> Activity:
    """Change fields of the activity ``code`` (title, objective, unit, start_date, end_date,
    status, owner) if it is still at ``row_version``.

    Moving it to another unit needs write access to both units. Its unit and
    objective cannot change while it has cost lines in a version that is not
    a draft (that would rewrite an approved plan), nor its objective while
    actuals are booked to it (their objective is taken from the activity).
    """
    return _update(session, who, ACTIVITY, code, row_version, changes)


def delete_activity(session: Session, who: Actor, code: str, row_version: int) -> None:
    """Delete the activity ``code`` if it is still at ``row_version`` and nothing refers
    to it (no cost line in any version, no actual)."""
    _delete(session, who, ACTIVITY, code, row_version)


# -- cost lines ------------------------------------------------------------------------------


def _staff_amount(session: Session, problems: _Found, grade: str, year: int, work_months_e2: int) -> int | None:
    annual = session.scalar(
        select(StandardCost.annual_cost_centimes).where(StandardCost.grade == grade, StandardCost.year == year)
    )
    if annual is None:
        rule.bad(problems, "amount", None, f"is missing and there is no standard cost for {grade} in {year}")
        return None
    return staff_cost(work_months_e2, annual)


def _clean_new_cost_line(problems: _Found, key: CostLineKey, given: Mapping[str, object]) -> dict[str, Any]:
    clean = {
        "year": rule.year(problems, key.year),
        "category": rule.choice(problems, "category", key.category, CATEGORIES, optional=False),
        "grade": rule.choice(problems, "grade", key.grade, GRADES, optional=True),
        "work_months_e2": rule.work_months(problems, given["work_months"]),
    }
    amount = given["amount"]
    clean["amount_centimes"] = None if amount is None or amount == "" else rule.money(problems, "amount", amount)
    if clean["category"] and clean["category"] != "staff" and (clean["grade"] or clean["work_months_e2"] is not None):
        rule.bad(problems, "category", clean["category"], "has no grade or work-months; only staff lines do")
    return clean


def _new_cost_line(
    session: Session, key: CostLineKey, clean: dict[str, Any], version: PlanVersion | None
) -> tuple[CostLine, int]:
    assert version is not None
    activity = find_activity(session, key.activity)
    source = _funding_source(session, key.funding_source)
    line = CostLine(**clean, version_id=version.id, activity_id=activity.id, funding_source_id=source.id)
    return line, activity.unit_id


def _price_cost_line(session: Session, line: CostLine, problems: _Found) -> None:
    """Price a staff line given no amount from the standard cost of its grade and year."""
    if line.amount_centimes is not None:
        return
    if line.grade and line.work_months_e2 is not None:
        amount = _staff_amount(session, problems, line.grade, line.year, line.work_months_e2)
        if amount is not None:
            line.amount_centimes = amount
    else:
        rule.bad(problems, "amount", None, "is missing (only a staff line with a grade and "
             "work-months is priced from the standard cost)")  # fmt: skip


def _cost_line_changes(
    session: Session, line: CostLine, changes: Mapping[str, object], problems: _Found
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "work_months" in changes:
        months = rule.work_months(problems, changes["work_months"])
        if months is not None and line.category != "staff":
            rule.bad(problems, "work_months", changes["work_months"], "belongs to staff lines only")
        values["work_months_e2"] = months
    if "amount" in changes:
        values["amount_centimes"] = rule.money(problems, "amount", changes["amount"])
    elif values.get("work_months_e2") is not None and line.grade:
        values["amount_centimes"] = _staff_amount(session, problems, line.grade, line.year, values["work_months_e2"])
    return values


COST_LINE: RecordKind[CostLineKey, CostLine] = RecordKind(
    noun="cost line",
    article="a",
    table="cost_lines",
    fields=COST_LINE_FIELDS,
    version=lambda key: key.version,
    find=lambda session, key, version: None if version is None else _cost_line(session, key, version),
    unit=lambda line: line.activity.unit_id,
    describe=lambda session, line: describe_cost_line(line),
    clean_new=_clean_new_cost_line,
    new=_new_cost_line,
    clean_changes=_cost_line_changes,
    derive=_price_cost_line,
)


def create_cost_line(
    session: Session,
    who: Actor,
    key: CostLineKey,
    *,
    amount: object = None,
    work_months: object = None,
) -> CostLine:
    """Create the cost line ``key`` in a draft version.

    A staff line with a grade and work-months and no amount costs
    ``work_months x annual standard cost / 12``. Grades and work-months belong
    to staff lines only. The year must lie in the version's period.
    """
    return _create(session, who, COST_LINE, key, {"amount": amount, "work_months": work_months})


def update_cost_line(
    session: Session,
    who: Actor,
    key: CostLineKey,
    row_version: int,
    changes: Mapping[str, object],
) -> CostLine:
    """Change the amount and/or work-months of the cost line ``key`` if it is still at
    ``row_version``. New work-months on a graded staff line without a new amount
    reprice it from the standard cost."""
    return _update(session, who, COST_LINE, key, row_version, changes)


def delete_cost_line(session: Session, who: Actor, key: CostLineKey, row_version: int) -> None:
    """Delete the cost line ``key`` of a draft version if it is still at ``row_version``."""
    _delete(session, who, COST_LINE, key, row_version)


# -- budget lines ----------------------------------------------------------------------------


def _clean_new_budget_line(problems: _Found, key: BudgetLineKey, given: Mapping[str, object]) -> dict[str, Any]:
    return {
        "year": rule.year(problems, key.year),
        "category": rule.choice(problems, "category", key.category, CATEGORIES, optional=False),
        "amount_centimes": rule.money(problems, "amount", given["amount"]),
    }


def _new_budget_line(
    session: Session, key: BudgetLineKey, clean: dict[str, Any], version: PlanVersion | None
) -> tuple[BudgetLine, int]:
    assert version is not None
    unit = _unit(session, key.unit)
    objective = _objective(session, key.objective)
    return BudgetLine(**clean, version_id=version.id, unit_id=unit.id, objective_id=objective.id), unit.id


def _budget_line_changes(
    session: Session, line: BudgetLine, changes: Mapping[str, object], problems: _Found
) -> dict[str, Any]:
    return {"amount_centimes": rule.money(problems, "amount", changes["amount"])} if "amount" in changes else {}


BUDGET_LINE: RecordKind[BudgetLineKey, BudgetLine] = RecordKind(
    noun="budget line",
    article="a",
    table="budget_lines",
    fields=BUDGET_LINE_FIELDS,
    version=lambda key: key.version,
    find=lambda session, key, version: None if version is None else _budget_line(session, key, version),
    unit=lambda line: line.unit_id,
    describe=describe_budget_line,
    clean_new=_clean_new_budget_line,
    new=_new_budget_line,
    clean_changes=_budget_line_changes,
)


def create_budget_line(session: Session, who: Actor, key: BudgetLineKey, *, amount: object) -> BudgetLine:
    """Create the budget line ``key`` in a draft version; the year must lie in its period."""
    return _create(session, who, BUDGET_LINE, key, {"amount": amount})


def update_budget_line(
    session: Session,
    who: Actor,
    key: BudgetLineKey,
    row_version: int,
    changes: Mapping[str, object],
) -> BudgetLine:
    """Change the amount of the budget line ``key`` if it is still at ``row_version``."""
    return _update(session, who, BUDGET_LINE, key, row_version, changes)


def delete_budget_line(session: Session, who: Actor, key: BudgetLineKey, row_version: int) -> None:
    """Delete the budget line ``key`` of a draft version if it is still at ``row_version``."""
    _delete(session, who, BUDGET_LINE, key, row_version)

"""The editing service: create, update and delete plan records by business key.

This is what the CLI and the widgets call to change activities, cost lines and
budget lines, and to comment on any record. Every function takes the caller's
session (the caller owns the transaction) and the acting
:class:`~itu_plan.access.Actor`, and for each write:

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
``str`` or ``int`` with at most two decimals. Bad values raise ``UsageError``
listing every problem at once (exit 2); nothing is written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import Date, Integer, func, select, update
from sqlalchemy import delete as sql_delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from itu_plan import audit
from itu_plan.access import Actor, require_plan_write, require_writer
from itu_plan.errors import ConflictError, NotFound, UsageError
from itu_plan.model import (
    ACTIVITY_STATUSES,
    CATEGORIES,
    GRADES,
    Activity,
    Actual,
    Agreement,
    Base,
    BudgetLine,
    Comment,
    CostLine,
    CostRecoveryEntry,
    FundingSource,
    Income,
    Kpi,
    KpiTarget,
    Measurement,
    Member,
    Objective,
    OverheadRate,
    PlanVersion,
    Post,
    Product,
    Recruitment,
    Staff,
    StandardCost,
    Unit,
    UnitValue,
    User,
)
from itu_plan.money import format_chf, format_scaled, parse_scaled, staff_cost
from itu_plan.values import amount_beyond_limit, control_character
from itu_plan.versions import get_version

#: Amounts: one ceiling for the editor, the importer and the API (itu_plan.values.MAX_CENTIMES).
#: The most work-months one cost line may hold.
MAX_WORK_MONTHS_E2 = 10_000_00
YEARS = (1900, 2100)
COMMENT_MAX = 10_000
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


# -- values -----------------------------------------------------------------------------


class _Problems:
    """Collects every bad value of one request, then raises them in one ``UsageError``."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.items: list[str] = []

    def add(self, name: str, value: object, reason: str) -> None:
        self.items.append(f"{name} {value!r} {reason}")

    def check(self) -> None:
        if self.items:
            raise UsageError(f"cannot save {self.what}: " + "; ".join(self.items))


def _scaled(problems: _Problems, name: str, value: object, scale: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal | float):
        problems.add(name, value, "is not a number")
        return None
    try:
        return parse_scaled(str(value), scale)
    except ValueError:
        problems.add(name, value, f"is not a number with at most {scale} decimals")
        return None


def _money(problems: _Problems, name: str, value: object) -> int | None:
    centimes = _scaled(problems, name, value, 2)
    if centimes is None:
        return None
    if centimes < 0:
        problems.add(name, value, "is negative")
    elif reason := amount_beyond_limit(centimes):
        problems.add(name, value, reason)
    return centimes


def _work_months(problems: _Problems, value: object) -> int | None:
    if value is None or value == "":
        return None
    e2 = _scaled(problems, "work_months", value, 2)
    if e2 is None:
        return None
    if e2 < 0:
        problems.add("work_months", value, "is negative")
    elif e2 > MAX_WORK_MONTHS_E2:
        problems.add("work_months", value, f"is more than {format_scaled(MAX_WORK_MONTHS_E2, 2)}")
    return e2


def _year(problems: _Problems, value: object) -> int | None:
    year: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        year = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        year = int(value.strip())
    if year is None or not YEARS[0] <= year <= YEARS[1]:
        problems.add("year", value, f"is not a year between {YEARS[0]} and {YEARS[1]}")
        return None
    return year


def _choice(problems: _Problems, name: str, value: object, choices: tuple[str, ...], *, optional: bool) -> str | None:
    if optional and (value is None or value == ""):
        return None
    if not isinstance(value, str) or value not in choices:
        problems.add(name, value, f"is not one of {', '.join(choices)}")
        return None
    return value


def _date(problems: _Problems, name: str, value: object) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        problems.add(name, value, "is a date and time; give a date")
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
                return dt.date.fromisoformat(value)
        except ValueError:
            pass
    problems.add(name, value, "is not a date (YYYY-MM-DD)")
    return None


def _text(problems: _Problems, name: str, value: object, length: int, *, optional: bool = False) -> str | None:
    if optional and (value is None or value == ""):
        return None
    if not isinstance(value, str) or not value.strip():
        problems.add(name, value, "is empty" if isinstance(value, str) else "is not text")
        return None
    if len(value) > length:
        problems.add(name, value[:40] + "...", f"is longer than {length} characters")
    elif reason := control_character(value):
        problems.add(name, value, reason)
    elif any(not c.isprintable() for c in value):
        problems.add(name, value, "holds characters that do not print (such as a line break)")
    return value.strip()


def _row_version(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(
            f"the row version {value!r} is not a positive whole number; pass the row_version read with the record"
        )
    return value


def _unknown_fields(problems: _Problems, changes: Mapping[str, object], allowed: tuple[str, ...]) -> None:
    for name in changes:
        if name not in allowed:
            problems.add("field", name, f"cannot be changed here (fields that can: {', '.join(allowed)})")


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


def _guarded_update(
    session: Session,
    record: Any,
    row_version: int,
    values: Mapping[str, Any],
    *,
    table: str,
    key: str,
    noun: str,
) -> None:
    """UPDATE the row only if its row_version is still ``row_version``; else ``ConflictError``."""
    model = type(record)
    if record.row_version != row_version:
        raise _conflict(session, table, key, noun)
    result = session.execute(
        update(model)
        .where(model.id == record.id, model.row_version == row_version)
        .values(**values, row_version=row_version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _conflict(session, table, key, noun)
    session.refresh(record)


def _guarded_delete(session: Session, record: Any, row_version: int, *, table: str, key: str, noun: str) -> None:
    model = type(record)
    if record.row_version != row_version:
        raise _conflict(session, table, key, noun)
    result = session.execute(
        sql_delete(model)
        .where(model.id == record.id, model.row_version == row_version)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _conflict(session, table, key, noun)
    session.expunge(record)


def _update_audited(
    session: Session,
    who: Actor,
    record: Any,
    row_version: int,
    values: Mapping[str, Any],
    describe: Callable[[Any], dict[str, Any]],
    *,
    table: str,
    key: str,
    noun: str,
) -> None:
    """Write the ``values`` that differ from ``record``'s if it is still at ``row_version``,
    with an audit event (before and after ``describe``). Nothing to change writes nothing,
    but a stale ``row_version`` is still a ``ConflictError``."""
    before = describe(record)
    changed = {k: v for k, v in values.items() if getattr(record, k) != v}
    if not changed:
        if record.row_version != row_version:
            raise _conflict(session, table, key, noun)
        return
    _guarded_update(session, record, row_version, changed, table=table, key=key, noun=noun)
    audit.record(session, who.username, "update", table, key, before=before, after=describe(record))


def _delete_audited(
    session: Session,
    who: Actor,
    record: Any,
    row_version: int,
    describe: Callable[[Any], dict[str, Any]],
    *,
    table: str,
    key: str,
    noun: str,
) -> None:
    """Delete ``record`` if it is still at ``row_version``, with an audit event."""
    before = describe(record)
    _guarded_delete(session, record, row_version, table=table, key=key, noun=noun)
    audit.record(session, who.username, "delete", table, key, before=before)


def _insert(session: Session, record: Base, *, table: str, key: str, noun: str) -> None:
    """Add ``record``; a unique key taken meanwhile by someone else is a ``ConflictError``."""
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        raise _conflict(session, table, key, noun) from None


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
    what = f"activity {code}"
    require_writer(who, what, verb="create")
    problems = _Problems(what)
    if not isinstance(code, str) or not _CODE.match(code):
        problems.add("code", code, "is not a code (letters, digits, '.', '_', '-'; at most 32 characters)")
    clean_title = _text(problems, "title", title, 300)
    start = _date(problems, "start_date", start_date)
    end = _date(problems, "end_date", end_date)
    if start and end and end < start:
        problems.add("end_date", end.isoformat(), f"is before start_date {start.isoformat()}")
    clean_status = _choice(problems, "status", status, ACTIVITY_STATUSES, optional=True)
    clean_owner = _text(problems, "owner", owner, 100, optional=True)
    problems.check()
    the_unit = _unit(session, unit)
    the_objective = _objective(session, objective)
    require_plan_write(session, who, unit_id=the_unit.id, what=what, verb="create")
    if session.scalar(select(Activity.id).where(Activity.code == code)) is not None:
        raise UsageError(f"there is already an activity {code}")
    activity = Activity(
        code=code,
        title=clean_title,
        objective_id=the_objective.id,
        unit_id=the_unit.id,
        start_date=start,
        end_date=end,
        status=clean_status,
        owner=clean_owner,
    )
    _insert(session, activity, table="activities", key=code, noun="activity")
    audit.record(session, who.username, "create", "activities", code, after=describe_activity(activity))
    return activity


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
    row_version = _row_version(row_version)
    what = f"activity {code}"
    require_writer(who, what)
    activity = session.scalars(
        select(Activity).where(Activity.code == code).execution_options(populate_existing=True)
    ).one_or_none()
    if activity is None:
        raise _missing(session, "activities", str(code), "activity")
    require_plan_write(session, who, unit_id=activity.unit_id, what=what)
    problems = _Problems(what)
    _unknown_fields(problems, changes, ACTIVITY_FIELDS)
    values: dict[str, Any] = {}
    if "title" in changes:
        values["title"] = _text(problems, "title", changes["title"], 300)
    if "start_date" in changes:
        values["start_date"] = _date(problems, "start_date", changes["start_date"])
    if "end_date" in changes:
        values["end_date"] = _date(problems, "end_date", changes["end_date"])
    start = values.get("start_date", activity.start_date)
    end = values.get("end_date", activity.end_date)
    if start and end and end < start:
        problems.add("end_date", end.isoformat(), f"is before start_date {start.isoformat()}")
    if "status" in changes:
        values["status"] = _choice(problems, "status", changes["status"], ACTIVITY_STATUSES, optional=True)
    if "owner" in changes:
        values["owner"] = _text(problems, "owner", changes["owner"], 100, optional=True)
    problems.check()
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
    if moved:
        locked = session.scalars(
            select(PlanVersion.name)
            .distinct()
            .join(CostLine, CostLine.version_id == PlanVersion.id)
            .where(CostLine.activity_id == activity.id, PlanVersion.status != "draft")
            .order_by(PlanVersion.name)
        ).all()
        if locked:
            raise UsageError(
                f"cannot change the {' and '.join(moved)} of {what}: it has cost lines in "
                f"{', '.join(locked)}, which only draft versions may change; create a new "
                "activity instead"
            )
    if "objective" in moved:
        booked = session.scalar(select(func.count()).select_from(Actual).where(Actual.activity_id == activity.id))
        if booked:
            raise UsageError(
                f"cannot change the objective of {what}: {booked} actuals are booked to it and "
                "would move to the new objective with it; create a new activity instead"
            )
    _update_audited(
        session, who, activity, row_version, values, describe_activity, table="activities", key=code, noun="activity"
    )
    return activity


def delete_activity(session: Session, who: Actor, code: str, row_version: int) -> None:
    """Delete the activity ``code`` if it is still at ``row_version`` and nothing refers
    to it (no cost line in any version, no actual)."""
    row_version = _row_version(row_version)
    what = f"activity {code}"
    require_writer(who, what, verb="delete")
    activity = session.scalars(
        select(Activity).where(Activity.code == code).execution_options(populate_existing=True)
    ).one_or_none()
    if activity is None:
        raise _missing(session, "activities", str(code), "activity")
    require_plan_write(session, who, unit_id=activity.unit_id, what=what, verb="delete")
    lines = session.scalar(select(func.count()).select_from(CostLine).where(CostLine.activity_id == activity.id))
    actuals = session.scalar(select(func.count()).select_from(Actual).where(Actual.activity_id == activity.id))
    if lines or actuals:
        raise UsageError(
            f"cannot delete {what}: {lines} cost lines and {actuals} actuals refer to it; "
            "set its status to cancelled instead"
        )
    _delete_audited(
        session, who, activity, row_version, describe_activity, table="activities", key=code, noun="activity"
    )


# -- cost lines ------------------------------------------------------------------------------


def _staff_amount(session: Session, problems: _Problems, grade: str, year: int, work_months_e2: int) -> int | None:
    annual = session.scalar(
        select(StandardCost.annual_cost_centimes).where(StandardCost.grade == grade, StandardCost.year == year)
    )
    if annual is None:
        problems.add("amount", None, f"is missing and there is no standard cost for {grade} in {year}")
        return None
    return staff_cost(work_months_e2, annual)


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
    what = f"cost line {key}"
    require_writer(who, what, verb="create")
    problems = _Problems(what)
    year = _year(problems, key.year)
    category = _choice(problems, "category", key.category, CATEGORIES, optional=False)
    grade = _choice(problems, "grade", key.grade, GRADES, optional=True)
    months = _work_months(problems, work_months)
    centimes = None if amount is None or amount == "" else _money(problems, "amount", amount)
    if category and category != "staff" and (grade or months is not None):
        problems.add("category", category, "has no grade or work-months; only staff lines do")
    problems.check()
    assert year is not None and category is not None
    version = _version_for_write(session, key.version, creating=True)
    activity = find_activity(session, key.activity)
    source = _funding_source(session, key.funding_source)
    require_plan_write(session, who, unit_id=activity.unit_id, version=version, what=what, verb="create")
    if not version.covers(year):
        problems.add("year", year, f"is outside the period {version.period} of {version.name}")
    if centimes is None:
        if grade and months is not None:
            centimes = _staff_amount(session, problems, grade, year, months)
        else:
            problems.add("amount", None, "is missing (only a staff line with a grade and "
                         "work-months is priced from the standard cost)")  # fmt: skip
    problems.check()
    assert centimes is not None
    if _cost_line(session, key, version) is not None:
        raise UsageError(f"there is already a {what}")
    line = CostLine(
        version_id=version.id,
        activity_id=activity.id,
        year=year,
        category=category,
        grade=grade,
        work_months_e2=months,
        amount_centimes=centimes,
        funding_source_id=source.id,
    )
    _insert(session, line, table="cost_lines", key=str(key), noun="cost line")
    audit.record(session, who.username, "create", "cost_lines", str(key), after=describe_cost_line(line))
    return line


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
    row_version = _row_version(row_version)
    what = f"cost line {key}"
    require_writer(who, what)
    version = _version_for_write(session, key.version, creating=False)
    line = _cost_line(session, key, version)
    if line is None:
        raise _missing(session, "cost_lines", str(key), "cost line")
    require_plan_write(session, who, unit_id=line.activity.unit_id, version=version, what=what)
    problems = _Problems(what)
    _unknown_fields(problems, changes, COST_LINE_FIELDS)
    values: dict[str, Any] = {}
    if "work_months" in changes:
        months = _work_months(problems, changes["work_months"])
        if months is not None and line.category != "staff":
            problems.add("work_months", changes["work_months"], "belongs to staff lines only")
        values["work_months_e2"] = months
    if "amount" in changes:
        values["amount_centimes"] = _money(problems, "amount", changes["amount"])
    elif values.get("work_months_e2") is not None and line.grade:
        values["amount_centimes"] = _staff_amount(session, problems, line.grade, line.year, values["work_months_e2"])
    problems.check()
    _update_audited(
        session, who, line, row_version, values, describe_cost_line, table="cost_lines", key=str(key), noun="cost line"
    )
    return line


def delete_cost_line(session: Session, who: Actor, key: CostLineKey, row_version: int) -> None:
    """Delete the cost line ``key`` of a draft version if it is still at ``row_version``."""
    row_version = _row_version(row_version)
    what = f"cost line {key}"
    require_writer(who, what, verb="delete")
    version = _version_for_write(session, key.version, creating=False)
    line = _cost_line(session, key, version)
    if line is None:
        raise _missing(session, "cost_lines", str(key), "cost line")
    require_plan_write(session, who, unit_id=line.activity.unit_id, version=version, what=what, verb="delete")
    _delete_audited(
        session, who, line, row_version, describe_cost_line, table="cost_lines", key=str(key), noun="cost line"
    )


# -- budget lines ----------------------------------------------------------------------------


def create_budget_line(session: Session, who: Actor, key: BudgetLineKey, *, amount: object) -> BudgetLine:
    """Create the budget line ``key`` in a draft version; the year must lie in its period."""
    what = f"budget line {key}"
    require_writer(who, what, verb="create")
    problems = _Problems(what)
    year = _year(problems, key.year)
    category = _choice(problems, "category", key.category, CATEGORIES, optional=False)
    centimes = _money(problems, "amount", amount)
    problems.check()
    assert year is not None and category is not None and centimes is not None
    version = _version_for_write(session, key.version, creating=True)
    unit = _unit(session, key.unit)
    objective = _objective(session, key.objective)
    require_plan_write(session, who, unit_id=unit.id, version=version, what=what, verb="create")
    if not version.covers(year):
        problems.add("year", year, f"is outside the period {version.period} of {version.name}")
        problems.check()
    if _budget_line(session, key, version) is not None:
        raise UsageError(f"there is already a {what}")
    line = BudgetLine(
        version_id=version.id,
        unit_id=unit.id,
        objective_id=objective.id,
        year=year,
        category=category,
        amount_centimes=centimes,
    )
    _insert(session, line, table="budget_lines", key=str(key), noun="budget line")
    audit.record(
        session,
        who.username,
        "create",
        "budget_lines",
        str(key),
        after=describe_budget_line(session, line),
    )
    return line


def update_budget_line(
    session: Session,
    who: Actor,
    key: BudgetLineKey,
    row_version: int,
    changes: Mapping[str, object],
) -> BudgetLine:
    """Change the amount of the budget line ``key`` if it is still at ``row_version``."""
    row_version = _row_version(row_version)
    what = f"budget line {key}"
    require_writer(who, what)
    version = _version_for_write(session, key.version, creating=False)
    line = _budget_line(session, key, version)
    if line is None:
        raise _missing(session, "budget_lines", str(key), "budget line")
    require_plan_write(session, who, unit_id=line.unit_id, version=version, what=what)
    problems = _Problems(what)
    _unknown_fields(problems, changes, BUDGET_LINE_FIELDS)
    values: dict[str, Any] = {}
    if "amount" in changes:
        values["amount_centimes"] = _money(problems, "amount", changes["amount"])
    problems.check()
    _update_audited(
        session,
        who,
        line,
        row_version,
        values,
        partial(describe_budget_line, session),
        table="budget_lines",
        key=str(key),
        noun="budget line",
    )
    return line


def delete_budget_line(session: Session, who: Actor, key: BudgetLineKey, row_version: int) -> None:
    """Delete the budget line ``key`` of a draft version if it is still at ``row_version``."""
    row_version = _row_version(row_version)
    what = f"budget line {key}"
    require_writer(who, what, verb="delete")
    version = _version_for_write(session, key.version, creating=False)
    line = _budget_line(session, key, version)
    if line is None:
        raise _missing(session, "budget_lines", str(key), "budget line")
    require_plan_write(session, who, unit_id=line.unit_id, version=version, what=what, verb="delete")
    _delete_audited(
        session,
        who,
        line,
        row_version,
        partial(describe_budget_line, session),
        table="budget_lines",
        key=str(key),
        noun="budget line",
    )


# -- comments ------------------------------------------------------------------------------

#: A part of a business key: a column of the table, or a foreign key and the
#: business-key column of the table it points to.
_Part = InstrumentedAttribute[Any] | tuple[InstrumentedAttribute[Any], InstrumentedAttribute[Any]]

#: The records comments may address: table -> (model, business-key parts in order).
COMMENTABLE: dict[str, tuple[type[Base], tuple[_Part, ...]]] = {
    "units": (Unit, (Unit.code,)),
    "objectives": (Objective, (Objective.code,)),
    "members": (Member, (Member.code,)),
    "unit_values": (UnitValue, (UnitValue.year, UnitValue.member_type)),
    "funding_sources": (FundingSource, (FundingSource.code,)),
    "plan_versions": (PlanVersion, (PlanVersion.name,)),
    "activities": (Activity, (Activity.code,)),
    "standard_costs": (StandardCost, (StandardCost.grade, StandardCost.year)),
    "cost_lines": (
        CostLine,
        (
            (CostLine.version_id, PlanVersion.name),
            (CostLine.activity_id, Activity.code),
            CostLine.year,
            CostLine.category,
            CostLine.grade,
            (CostLine.funding_source_id, FundingSource.code),
        ),
    ),
    "budget_lines": (
        BudgetLine,
        (
            (BudgetLine.version_id, PlanVersion.name),
            (BudgetLine.unit_id, Unit.code),
            (BudgetLine.objective_id, Objective.code),
            BudgetLine.year,
            BudgetLine.category,
        ),
    ),
    "actuals": (Actual, (Actual.reference,)),
    "income": (Income, (Income.reference,)),
    "products": (Product, (Product.code,)),
    "overhead_rates": (OverheadRate, ((OverheadRate.unit_id, Unit.code), OverheadRate.year)),
    "cost_recovery": (CostRecoveryEntry, (CostRecoveryEntry.reference,)),
    "kpis": (Kpi, (Kpi.code,)),
    "kpi_targets": (KpiTarget, ((KpiTarget.kpi_id, Kpi.code), KpiTarget.year)),
    "measurements": (Measurement, ((Measurement.kpi_id, Kpi.code), Measurement.date)),
    "posts": (Post, (Post.post_number,)),
    "recruitments": (Recruitment, (Recruitment.vacancy_id,)),
    "staff": (Staff, (Staff.staff_id,)),
    "agreements": (Agreement, (Agreement.code,)),
    "users": (User, (User.username,)),
}


def _locate(session: Session, table: str, key: str) -> Base:
    """The record of ``table`` whose business key string is ``key``; ``NotFound`` otherwise."""
    if table not in COMMENTABLE:
        raise UsageError(
            f"{table!r} is not a table whose records take comments; choose one of {', '.join(sorted(COMMENTABLE))}"
        )
    if not isinstance(key, str) or not key:
        raise UsageError(f"a comment needs the business key of the {table} record it is on")
    model, parts = COMMENTABLE[table]
    texts = key.rsplit(audit.KEY_SEPARATOR, len(parts) - 1) if len(parts) > 1 else [key]
    if len(texts) != len(parts):
        raise NotFound(f"record of {table}", key)
    query = select(model)
    for part, text in zip(parts, texts, strict=True):
        if isinstance(part, tuple):
            column, ref = part
            if text == "":
                query = query.where(column.is_(None))
            else:
                ref_id = getattr(ref.class_, "id")  # noqa: B009
                query = query.where(column == select(ref_id).where(ref == text).scalar_subquery())
            continue
        if text == "":
            query = query.where(part.is_(None))
            continue
        value: Any = text
        column_type = part.expression.type
        try:
            if isinstance(column_type, Integer):
                value = int(text)
            elif isinstance(column_type, Date):
                value = dt.date.fromisoformat(text)
        except ValueError:
            raise NotFound(f"record of {table}", key) from None
        query = query.where(part == value)
    record = session.scalars(query.limit(1)).first()
    if record is None:
        raise NotFound(f"record of {table}", key)
    return record


def _unit_of(record: Base) -> int | None:
    if isinstance(record, CostLine):
        return record.activity.unit_id
    if isinstance(record, Unit):
        return record.id
    unit_id = getattr(record, "unit_id", None)
    return unit_id if isinstance(unit_id, int) else None


def _require_comment(session: Session, who: Actor, table: str, key: str, verb: str, *, must_exist: bool = True) -> None:
    what = f"{table} record {key}"
    require_writer(who, what, verb=verb)
    try:
        record = _locate(session, table, key)
    except NotFound:
        if must_exist:
            raise
        return  # the record is gone: any writer may resolve what was said about it
    unit_id = _unit_of(record)
    if unit_id is not None:
        require_plan_write(session, who, unit_id=unit_id, what=what, verb=verb)


def describe_comment(comment: Comment) -> dict[str, Any]:
    """The comment as the audit trail records it."""
    return {
        "id": comment.id,
        "table": comment.table_name,
        "key": comment.record_key,
        "author": comment.author,
        "body": comment.body,
        "created_at": audit.utc(comment.created_at).isoformat(timespec="seconds"),
        "resolved_by": comment.resolved_by,
        "resolved_at": (audit.utc(comment.resolved_at).isoformat(timespec="seconds") if comment.resolved_at else None),
    }


def add_comment(session: Session, who: Actor, table: str, key: str, body: str) -> Comment:
    """Comment on the record of ``table`` whose business key is ``key``.

    Commenting needs write access to the record's unit when it has one
    (activities, cost and budget lines, products, posts ...); a reviewer only reads.
    """
    _require_comment(session, who, table, key, "comment on")
    problems = _Problems(f"a comment on {table} {key}")
    if not isinstance(body, str) or not body.strip():
        problems.add("body", body, "is empty")
    elif len(body) > COMMENT_MAX:
        problems.add("body", body[:40] + "...", f"is longer than {COMMENT_MAX} characters")
    problems.check()
    comment = Comment(
        table_name=table,
        record_key=key,
        author=who.username,
        body=body.strip(),
        created_at=dt.datetime.now(dt.UTC),
    )
    session.add(comment)
    session.flush()
    audit.record(
        session,
        who.username,
        "create",
        "comments",
        str(comment.id),
        after=describe_comment(comment),
    )
    return comment


def list_comments(
    session: Session,
    table: str | None = None,
    key: str | None = None,
    *,
    include_resolved: bool = True,
) -> list[Comment]:
    """Comments, oldest first; only those on ``table`` and/or the record ``key`` if given."""
    query = select(Comment).order_by(Comment.id)
    if table is not None:
        query = query.where(Comment.table_name == table)
    if key is not None:
        query = query.where(Comment.record_key == key)
    if not include_resolved:
        query = query.where(Comment.resolved_at.is_(None))
    return list(session.scalars(query))


def resolve_comment(session: Session, who: Actor, comment_id: int) -> Comment:
    """Mark the comment ``comment_id`` resolved. Needs the same access as commenting on its
    record; a comment already resolved by someone else is a ``ConflictError``."""
    if isinstance(comment_id, bool) or not isinstance(comment_id, int):
        raise UsageError(f"{comment_id!r} is not a comment number")
    comment = session.get(Comment, comment_id, populate_existing=True)
    if comment is None:
        raise NotFound("comment", str(comment_id))
    _require_comment(
        session,
        who,
        comment.table_name,
        comment.record_key,
        "resolve a comment on",
        must_exist=False,
    )
    what = f"comment {comment_id} on {comment.table_name} {comment.record_key}"
    before = describe_comment(comment)
    result = session.execute(
        update(Comment)
        .where(
            Comment.id == comment.id,
            Comment.row_version == comment.row_version,
            Comment.resolved_at.is_(None),
        )
        .values(
            resolved_by=who.username,
            resolved_at=dt.datetime.now(dt.UTC),
            row_version=comment.row_version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(comment)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            what,
            comment.resolved_by,
            audit.utc(comment.resolved_at) if comment.resolved_at else None,
        )
    audit.record(
        session,
        who.username,
        "update",
        "comments",
        str(comment.id),
        before=before,
        after=describe_comment(comment),
    )
    return comment

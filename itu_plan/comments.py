"""Comments on any record of the workspace, addressed by its table and business key
(:func:`itu_plan.audit.record_key`), and their resolution; audited like every write."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, Integer, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from itu_plan import audit
from itu_plan import edit_rules as rule
from itu_plan.access import Actor, require_plan_write, require_writer
from itu_plan.errors import ConflictError, NotFound, Problem, UsageError
from itu_plan.model import (
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

COMMENT_MAX = 10_000

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
    what = f"a comment on {table} {key}"
    problems: list[Problem] = []
    if not isinstance(body, str) or not body.strip():
        rule.bad(problems, "body", body, "is empty")
    elif len(body) > COMMENT_MAX:
        rule.bad(problems, "body", body, f"is longer than {COMMENT_MAX} characters", shown=body[:40] + "...")
    rule.reject(what, problems)
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

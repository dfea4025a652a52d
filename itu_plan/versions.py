"""Plan versions and their workflow: copy into a new draft, submit, approve.

A version moves ``draft -> submitted -> approved``; approving it marks the
previously approved version of the same period ``superseded``. The period is
the version's ``first_year`` and ``last_year`` (data, not its name: renaming a
version changes nothing else); a copy keeps the period of its source.
Only drafts are edited; a submitted version is locked until it is approved.
The version remembers who submitted it: once users exist, approval takes a
second person.

Who may submit and approve is the delegation rule of
:func:`itu_plan.access.require_approval`, fed with :func:`change_against_base`.
Every transition is audited in the caller's transaction and guarded by the
version's ``row_version``: two people acting on one version at once get one
success and one ``ConflictError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Insert,
    Integer,
    Select,
    String,
    case,
    cast,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from itu_plan import audit, pg_security
from itu_plan.access import (
    Actor,
    require_approval,
    require_manager,
    require_submission,
    require_writer,
)
from itu_plan.errors import NotFound, UsageError
from itu_plan.model import Activity, BudgetLine, CostLine, IncomeBudget, PlanVersion, Unit, period_text
from itu_plan.money import format_chf

NAME_MAX = 100


@dataclass(frozen=True)
class VersionSummary:
    """One line of :func:`list_versions`."""

    name: str
    status: str
    based_on: str | None
    first_year: int
    last_year: int
    cost_lines: int
    cost_centimes: int
    budget_lines: int
    budget_centimes: int

    @property
    def period(self) -> str:
        return period_text(self.first_year, self.last_year)


@dataclass(frozen=True)
class VersionChange:
    """How a version differs from the version it is based on: what approval weighs.

    The change amount (:attr:`amount_centimes`) is the sum of the absolute
    differences of the version's lines against its base, each kind matched by its
    business key (a line missing on one side counts as zero):

    * ``budget_centimes``: budget lines, by unit, objective, year and category;
    * ``cost_centimes``: cost lines, by activity, year, category, grade and
      funding source;
    * ``income_centimes``: income budget lines, by year and funding source.

    ``units`` are the units whose budget lines or cost lines (the activity's unit)
    differ, ids to codes; a cost line whose work-months alone changed touches its
    unit without adding to the amount. ``total_centimes`` is the version's budget
    total and ``base_total_centimes`` its base's. Without a base version every line
    is a change and ``base_total_centimes`` is None.
    """

    version: str
    base: str | None
    budget_centimes: int
    cost_centimes: int
    income_centimes: int
    total_centimes: int
    base_total_centimes: int | None
    units: dict[int, str] = field(default_factory=dict)

    @property
    def amount_centimes(self) -> int:
        """The change amount: budget, cost and income budget differences together."""
        return self.budget_centimes + self.cost_centimes + self.income_centimes


@dataclass(frozen=True)
class Approval:
    """What :func:`approve` did."""

    version: PlanVersion
    change: VersionChange
    superseded: list[str]


def get_version(session: Session, name: str, *, lock: bool = False) -> PlanVersion:
    """The version called ``name``; ``NotFound`` otherwise.

    With ``lock`` (for a transition), the row is locked on PostgreSQL
    (``FOR NO KEY UPDATE``) until the caller's transaction ends: edits of the
    version's lines in flight finish first, later ones wait and then see the new
    status (SQLite serialises writers anyway).
    """
    query = select(PlanVersion).where(PlanVersion.name == name)
    if lock:
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    version = session.scalars(query).one_or_none()
    if version is None:
        raise NotFound("plan version", name)
    return version


def list_versions(session: Session) -> list[VersionSummary]:
    """Every version with its base, cost-line and budget totals, in name order."""
    base = aliased(PlanVersion)
    costs = (
        select(
            CostLine.version_id,
            func.count().label("n"),
            func.sum(CostLine.amount_centimes).label("amount"),
        )
        .group_by(CostLine.version_id)
        .subquery()
    )
    budget = (
        select(
            BudgetLine.version_id,
            func.count().label("n"),
            func.sum(BudgetLine.amount_centimes).label("amount"),
        )
        .group_by(BudgetLine.version_id)
        .subquery()
    )
    rows = session.execute(
        select(
            PlanVersion.name,
            PlanVersion.status,
            base.name,
            PlanVersion.first_year,
            PlanVersion.last_year,
            func.coalesce(costs.c.n, 0),
            func.coalesce(costs.c.amount, 0),
            func.coalesce(budget.c.n, 0),
            func.coalesce(budget.c.amount, 0),
        )
        .outerjoin(base, PlanVersion.based_on_id == base.id)
        .outerjoin(costs, costs.c.version_id == PlanVersion.id)
        .outerjoin(budget, budget.c.version_id == PlanVersion.id)
        .order_by(PlanVersion.name)
    ).all()
    return [VersionSummary(*(row[:3]), *(int(v) for v in row[3:])) for row in rows]


def validate_name(name: str) -> str:
    """A new version name, checked: not blank, no surrounding spaces, at most 100 characters."""
    if not isinstance(name, str) or not name.strip():
        raise UsageError("a version needs a name, for example '2008-2009 draft'")
    if name != name.strip() or any(not c.isprintable() for c in name):
        raise UsageError(f"the version name {name!r} has spaces around it or characters that do not print")
    if len(name) > NAME_MAX:
        raise UsageError(f"a version name has at most {NAME_MAX} characters; {name!r} is longer")
    return name


def copy_version(session: Session, who: Actor, source: str, new_name: str) -> PlanVersion:
    """Copy the cost lines and budget lines of ``source`` into a new draft ``new_name``.

    The new draft is based on ``source``. Anyone who writes plan data may copy
    (a reviewer may not): the copy changes nothing that exists, and what is
    later changed in it is checked unit by unit and approved under delegation.
    """
    validate_name(new_name)
    require_writer(who, f"plan version {new_name}", verb="create")
    original = get_version(session, source)
    if session.scalar(select(PlanVersion.id).where(PlanVersion.name == new_name)) is not None:
        raise UsageError(f"there is already a plan version {new_name!r}; choose another name")
    on_postgresql = pg_security.is_postgresql(session)
    copy = PlanVersion(
        name=new_name,
        status="draft",
        based_on_id=original.id,
        first_year=original.first_year,
        last_year=original.last_year,
    )
    try:
        with session.begin_nested():  # someone may take the name meanwhile
            if on_postgresql:  # the database copies (a planner's copy writes every unit's lines)
                pg_security.call(
                    session,
                    "itu_plan_copy_version",
                    who.username,
                    f"create plan version {new_name}",
                    p_source=source,
                    p_new=new_name,
                )
            else:
                session.add(copy)
    except IntegrityError:
        event = audit.last_event(session, PlanVersion.__tablename__, new_name)
        raise audit.conflict(f"plan version {new_name}", event) from None
    if on_postgresql:
        copy = get_version(session, new_name)
    else:
        for statement in copy_statements(_integer(original.id), _integer(copy.id)):
            session.execute(statement)
    summary = _summary(session, copy)
    audit.record(
        session,
        who.username,
        "copy",
        PlanVersion.__tablename__,
        new_name,
        after={
            "name": new_name,
            "status": "draft",
            "based_on": source,
            "period": original.period,
            "cost_lines": summary.cost_lines,
            "budget_lines": summary.budget_lines,
        },
    )
    return copy


def copy_statements(source_id: ColumnElement[int], copy_id: ColumnElement[int]) -> list[Insert]:
    """The statements that copy the cost, budget and income budget lines of version
    ``source_id`` into version ``copy_id``, one per kind: SQL expressions, bound values in
    Python, the variables of the PostgreSQL function ``itu_plan_copy_version`` that
    :mod:`itu_plan.pg_security` compiles from them."""
    statements = []
    for model in (CostLine, BudgetLine, IncomeBudget):
        table = model.__table__
        columns = [c.name for c in table.columns if c.name not in ("id", "version_id", "row_version")]
        statements.append(
            insert(model).from_select(
                ["version_id", *columns, "row_version"],
                select(copy_id, *(table.c[c] for c in columns), literal(1, Integer))
                .where(table.c.version_id == source_id)
                .order_by(table.c.id),
            )
        )
    return statements


def _summary(session: Session, version: PlanVersion) -> VersionSummary:
    return next(v for v in list_versions(session) if v.name == version.name)


def change_against_base(session: Session, version: PlanVersion) -> VersionChange:
    """How ``version`` differs from its ``based_on`` version (see :class:`VersionChange`),
    from :func:`change_query`."""
    base = version.based_on
    base_id = None if base is None else base.id
    rows = session.execute(change_query(_integer(version.id), _integer(base_id))).all()
    amounts = {"budget": 0, "cost": 0, "income": 0}
    totals: dict[str, int | None] = {}
    unit_ids = set()
    for kind, unit_id, amount in rows:
        if kind in ("total", "base_total"):
            totals[kind] = None if amount is None else int(amount)
            continue
        amounts[kind] += int(amount or 0)
        if unit_id is not None:
            unit_ids.add(unit_id)
    return VersionChange(
        version=version.name,
        base=None if base is None else base.name,
        budget_centimes=amounts["budget"],
        cost_centimes=amounts["cost"],
        income_centimes=amounts["income"],
        total_centimes=totals.get("total") or 0,
        base_total_centimes=None if base_id is None else totals.get("base_total") or 0,
        units=_codes(session, unit_ids),
    )


def _integer(value: int | None) -> ColumnElement[int]:
    """A bound integer (NULL for None) typed for both backends."""
    return cast(literal(value, Integer), Integer)


def change_query(
    version_id: ColumnElement[int], base_id: ColumnElement[int]
) -> CompoundSelect[str, int | None, int | None]:
    """The one definition of how a version differs from its base: rows ``(kind, unit_id, amount)``.

    ``kind`` is ``budget`` or ``cost`` (one row per unit touched, with the sum of the
    absolute differences of that unit's lines; a cost line whose work-months alone
    changed touches its unit with an amount of 0), ``income`` (one row, unit NULL),
    ``total`` (the version's budget total) and ``base_total`` (its base's; NULL without
    a base). ``version_id`` and ``base_id`` are SQL expressions: bound values when Python
    runs it (:func:`change_against_base`, on both backends), the arguments of the
    PostgreSQL function ``itu_plan_version_change`` that :mod:`itu_plan.pg_security`
    compiles from it and the database's approval rule calls.
    """
    sides = [(version_id, 1), (base_id, -1)]

    budget = union_all(
        *(
            select(
                BudgetLine.unit_id,
                BudgetLine.objective_id,
                BudgetLine.year,
                BudgetLine.category,
                (BudgetLine.amount_centimes * sign).label("delta"),
            ).where(BudgetLine.version_id == version)
            for version, sign in sides
        )
    ).subquery("budget_sides")
    budget_diffs = (
        select(budget.c.unit_id, func.sum(budget.c.delta).label("delta"))
        .group_by(budget.c.unit_id, budget.c.objective_id, budget.c.year, budget.c.category)
        .subquery("budget_diffs")
    )
    budget_rows = (
        select(
            literal("budget", String).label("kind"),
            budget_diffs.c.unit_id.label("unit_id"),
            cast(func.sum(func.abs(budget_diffs.c.delta)), BigInteger).label("amount"),
        )
        .where(budget_diffs.c.delta != 0)
        .group_by(budget_diffs.c.unit_id)
    )

    costs = union_all(
        *(
            select(
                CostLine.activity_id,
                CostLine.year,
                CostLine.category,
                CostLine.grade,
                CostLine.funding_source_id,
                (CostLine.amount_centimes * sign).label("amount"),
                (func.coalesce(CostLine.work_months_e2, 0) * sign).label("work_months"),
                literal(sign, Integer).label("n"),
            ).where(CostLine.version_id == version)
            for version, sign in sides
        )
    ).subquery("cost_sides")
    cost_diffs = (
        select(costs.c.activity_id, func.sum(costs.c.amount).label("delta"))
        .group_by(costs.c.activity_id, costs.c.year, costs.c.category, costs.c.grade, costs.c.funding_source_id)
        .having(or_(func.sum(costs.c.amount) != 0, func.sum(costs.c.work_months) != 0, func.sum(costs.c.n) != 0))
        .subquery("cost_diffs")
    )
    cost_rows = (
        select(
            literal("cost", String),
            Activity.unit_id,
            cast(func.sum(func.abs(cost_diffs.c.delta)), BigInteger),
        )
        .join(cost_diffs, cost_diffs.c.activity_id == Activity.id)
        .group_by(Activity.unit_id)
    )

    income = union_all(
        *(
            select(
                IncomeBudget.year,
                IncomeBudget.funding_source_id,
                (IncomeBudget.amount_centimes * sign).label("delta"),
            ).where(IncomeBudget.version_id == version)
            for version, sign in sides
        )
    ).subquery("income_sides")
    income_diffs = (
        select(func.sum(income.c.delta).label("delta"))
        .group_by(income.c.year, income.c.funding_source_id)
        .subquery("income_diffs")
    )
    income_row = select(
        literal("income", String),
        cast(null(), Integer),
        cast(func.coalesce(func.sum(func.abs(income_diffs.c.delta)), 0), BigInteger),
    )

    def total(version: ColumnElement[int], kind: str) -> Select[str, int | None, int | None]:
        amount = cast(func.coalesce(func.sum(BudgetLine.amount_centimes), 0), BigInteger)
        return select(
            literal(kind, String),
            cast(null(), Integer),
            case((version.is_(None), cast(null(), BigInteger)), else_=amount),
        ).where(BudgetLine.version_id == version)

    return union_all(budget_rows, cost_rows, income_row, total(version_id, "total"), total(base_id, "base_total"))


def _codes(session: Session, unit_ids: set[int]) -> dict[int, str]:
    if not unit_ids:
        return {}
    rows = session.execute(select(Unit.id, Unit.code).where(Unit.id.in_(unit_ids)).order_by(Unit.code))
    return {unit_id: code for unit_id, code in rows}


def _set_status(session: Session, version: PlanVersion, status: str, **values: str | None) -> None:
    """Move ``version`` to ``status`` (and set ``values``, e.g. ``submitted_by``) if nobody
    changed it since it was read."""
    result = session.execute(
        update(PlanVersion)
        .where(
            PlanVersion.id == version.id,
            PlanVersion.row_version == version.row_version,
            PlanVersion.status == version.status,
        )
        .values(status=status, row_version=version.row_version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        name = version.name
        session.expire(version)
        raise audit.conflict(f"plan version {name}", audit.last_event(session, PlanVersion.__tablename__, name))
    session.expire(version)


def _transitioned(session: Session, version: PlanVersion, done: bool) -> None:
    """After the database's transition of ``version``: a ``ConflictError`` when it found the
    version changed since it was read (``done`` false), as :func:`_set_status` does."""
    name = version.name
    session.expire(version)
    if done:
        session.refresh(version)
        return
    raise audit.conflict(f"plan version {name}", audit.last_event(session, PlanVersion.__tablename__, name))


def submit(session: Session, who: Actor, name: str) -> PlanVersion:
    """Submit the draft ``name`` for approval; it is locked from now on.

    Needs an admin, or a manager acting for every unit its changes touch. The
    version remembers who submitted it (``submitted_by``): once users exist,
    someone else must approve it.
    """
    require_manager(who, f"submit {name}")
    version = get_version(session, name, lock=True)
    if version.status != "draft":
        raise UsageError(f"cannot submit {name}: it is {version.status}; only a draft can be submitted")
    change = change_against_base(session, version)
    require_submission(who, version=name, units=change.units)
    if pg_security.is_postgresql(session):  # the database has the last word
        done = pg_security.call(
            session,
            "itu_plan_submit",
            who.username,
            f"submit {name}",
            p_version=name,
            p_row_version=version.row_version,
        )
        _transitioned(session, version, bool(done))
    else:
        _set_status(session, version, "submitted", submitted_by=who.username)
    audit.record(
        session,
        who.username,
        "submit",
        PlanVersion.__tablename__,
        name,
        before={"status": "draft"},
        after={"status": "submitted", "submitted_by": who.username},
    )
    return version


def approve(session: Session, who: Actor, name: str) -> Approval:
    """Approve the submitted version ``name`` under the delegation rule
    (:func:`itu_plan.access.require_approval`): a second person, and for a manager a
    change within the approved envelope and their delegation limit.

    The audit event records the figures weighed. The previously approved versions
    of the same period become superseded.
    """
    require_manager(who, f"approve {name}")
    version = get_version(session, name, lock=True)
    if version.status != "submitted":
        hint = "; submit it first" if version.status == "draft" else ""
        raise UsageError(
            f"cannot approve {name}: it is {version.status}; only a submitted version can be approved{hint}"
        )
    change = change_against_base(session, version)
    require_approval(
        who,
        version=name,
        submitted_by=version.submitted_by,
        base=change.base,
        change_centimes=change.amount_centimes,
        base_total_centimes=change.base_total_centimes,
        total_centimes=change.total_centimes,
        units=change.units,
    )
    submitted_by = version.submitted_by
    superseded_by_database: list[str] | None = None
    if pg_security.is_postgresql(session):  # the database has the last word, and supersedes
        names = pg_security.call(
            session,
            "itu_plan_approve",
            who.username,
            f"approve {name}",
            p_version=name,
            p_row_version=version.row_version,
        )
        _transitioned(session, version, names is not None)
        superseded_by_database = list(names)
    else:
        _set_status(session, version, "approved")
    limit = None if who.is_admin else who.delegation_limit_centimes or 0
    audit.record(
        session,
        who.username,
        "approve",
        PlanVersion.__tablename__,
        name,
        before={"status": "submitted"},
        after={
            "status": "approved",
            "based_on": change.base,
            "submitted_by": submitted_by,
            "change": format_chf(change.amount_centimes),
            "budget_change": format_chf(change.budget_centimes),
            "cost_change": format_chf(change.cost_centimes),
            "income_change": format_chf(change.income_centimes),
            "base_total": None if change.base_total_centimes is None else format_chf(change.base_total_centimes),
            "new_total": format_chf(change.total_centimes),
            "delegation_limit": None if limit is None else format_chf(limit),
            "units_touched": sorted(change.units.values()),
        },
    )
    superseded = []
    if superseded_by_database is not None:
        for other_name in superseded_by_database:
            _record_superseded(session, who, other_name, name)
        return Approval(version, change, superseded_by_database)
    others = session.scalars(
        select(PlanVersion)
        .where(
            PlanVersion.status == "approved",
            PlanVersion.id != version.id,
            PlanVersion.first_year == version.first_year,
            PlanVersion.last_year == version.last_year,
        )
        .order_by(PlanVersion.name)
    ).all()
    for other in others:
        _set_status(session, other, "superseded")
        _record_superseded(session, who, other.name, name)
        superseded.append(other.name)
    return Approval(version, change, superseded)


def _record_superseded(session: Session, who: Actor, name: str, by: str) -> None:
    audit.record(
        session,
        who.username,
        "supersede",
        PlanVersion.__tablename__,
        name,
        before={"status": "approved"},
        after={"status": "superseded", "superseded_by": by},
    )

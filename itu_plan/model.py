"""The workspace schema: SQLAlchemy 2.0 typed models for every entity of the design.

Conventions, the same on every table:

* ``id`` is a surrogate key; every table also has a business key with a unique
  constraint (``code``, ``reference``, ``post_number`` ...). Imports, exports and
  the audit trail speak in business keys only.
* Money is exact: columns ending in ``_centimes`` hold integer centimes (CHF).
* Other exact decimals are scaled integers whose suffix says the scale:
  ``units_e4`` (contributory units x 10,000; 1/16 unit is 625),
  ``work_months_e2`` (work-months x 100), ``rate_e6`` (a fraction x 1,000,000).
* Enumerations of the public contract are plain strings guarded by named CHECK
  constraints, identical on SQLite and PostgreSQL.
* Mutable rows carry ``row_version``, SQLAlchemy's ``version_id_col``: a stale
  ORM update raises ``StaleDataError`` instead of overwriting someone else's work.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

# -- enumerations of CONTRACT.md -------------------------------------------------

FUNDING_KINDS = (
    "assessed",
    "sector_members",
    "associates",
    "cost_recovery",
    "voluntary",
    "trust_fund",
    "reserve",
    "other",
)
MEMBER_TYPES = ("member_state", "sector_member", "associate", "academia")
REGIONS = ("A", "B", "C", "D", "E")
#: The administrative regions of the Member States by name, for people (charts, tables).
REGION_NAMES = {
    "A": "Americas",
    "B": "Western Europe",
    "C": "Eastern Europe and Northern Asia",
    "D": "Africa",
    "E": "Asia and Australasia",
}
VERSION_STATUSES = ("draft", "submitted", "approved", "superseded")
ACTIVITY_STATUSES = ("planned", "ongoing", "completed", "cancelled")
CATEGORIES = ("staff", "travel", "meetings", "documents", "contractual", "equipment", "other")
GRADES = (
    "G-1",
    "G-2",
    "G-3",
    "G-4",
    "G-5",
    "G-6",
    "G-7",
    "P-1",
    "P-2",
    "P-3",
    "P-4",
    "P-5",
    "D-1",
    "D-2",
    "ASG",
    "DSG",
    "SG",
)
#: Grades counted in the geographical and gender representation report.
PROFESSIONAL_GRADES = tuple(g for g in GRADES if not g.startswith("G-"))
CR_TYPES = ("income", "direct_cost")
KPI_MEASURES = ("number", "percentage")
KPI_DIRECTIONS = ("up", "down")
#: What a KPI computed from the workspace's own figures computes (a KPI without a
#: formula is measured: its values come from measurements.csv).
KPI_FORMULAS = ("execution_rate", "recruitment_days", "women_share", "cost_recovery_rate")
POST_STATUSES = ("filled", "vacant", "frozen")
GENDERS = ("F", "M", "X")
ROLES = ("admin", "manager", "planner", "reviewer")


def enum_check(column: str, values: tuple[str, ...], *, nullable: bool = False) -> CheckConstraint:
    """A named CHECK constraint restricting ``column`` to ``values``.

    Written as a chain of equalities: SQLite evaluates ``x IN (...)`` in a CHECK
    by building a temporary index for every row, which made bulk loads of
    actuals 2.5 times slower.
    """
    text = " OR ".join(f"{column} = '{v}'" for v in values)
    if nullable:
        text = f"{column} IS NULL OR {text}"
    # what it allows, for loaders that check values themselves (see bulk.bulk_insert)
    return CheckConstraint(text, name=column, info={"enum_of": column, "values": frozenset(values)})


NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Versioned:
    """Mixin for mutable rows: an optimistic-locking counter."""

    row_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.row_version}  # type: ignore[attr-defined]


# -- reference data --------------------------------------------------------------


class Unit(Versioned, Base):
    """An organisational unit: GS, BR, TSB, BDT and the departments below them."""

    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))

    parent: Mapped[Unit | None] = relationship(remote_side=[id])


class Objective(Versioned, Base):
    """A secretariat objective or a sector objective below one."""

    __tablename__ = "objectives"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("objectives.id"))

    parent: Mapped[Objective | None] = relationship(remote_side=[id])


class Member(Versioned, Base):
    """A Member State, Sector Member, Associate or Academia member."""

    __tablename__ = "members"
    __table_args__ = (
        enum_check("type", MEMBER_TYPES),
        enum_check("region", REGIONS, nullable=True),
        CheckConstraint("type <> 'member_state' OR region IS NOT NULL", name="state_region"),
        CheckConstraint("units_e4 IS NULL OR (units_e4 >= 625 AND units_e4 <= 400000)", name="units"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    region: Mapped[str | None] = mapped_column(String(1))
    units_e4: Mapped[int | None] = mapped_column(Integer)


class UnitValue(Versioned, Base):
    """The value of one contributory unit for a member type and year (CHF)."""

    __tablename__ = "unit_values"
    __table_args__ = (
        UniqueConstraint("year", "member_type"),
        enum_check("member_type", MEMBER_TYPES),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    member_type: Mapped[str] = mapped_column(String(20))
    value_centimes: Mapped[int] = mapped_column(BigInteger)


class FundingSource(Versioned, Base):
    __tablename__ = "funding_sources"
    __table_args__ = (enum_check("kind", FUNDING_KINDS),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))


# -- planning (versioned) --------------------------------------------------------


class PlanVersion(Versioned, Base):
    """A named, complete copy of the plan, moving draft -> submitted -> approved."""

    __tablename__ = "plan_versions"
    __table_args__ = (
        enum_check("status", VERSION_STATUSES),
        CheckConstraint("last_year >= first_year", name="period"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("plan_versions.id"))
    #: the version's period (a biennium: 2006 and 2007); data, never parsed from the name
    first_year: Mapped[int] = mapped_column(Integer)
    last_year: Mapped[int] = mapped_column(Integer)
    #: who submitted it for approval (approval takes a second person); NULL unless submitted
    submitted_by: Mapped[str | None] = mapped_column(String(100))

    based_on: Mapped[PlanVersion | None] = relationship(remote_side=[id])

    @property
    def period(self) -> str:
        """``2006-2007`` (or ``2006`` for a one-year version)."""
        return period_text(self.first_year, self.last_year)

    def covers(self, year: int) -> bool:
        return self.first_year <= year <= self.last_year


def period_text(first_year: int, last_year: int) -> str:
    return str(first_year) if first_year == last_year else f"{first_year}-{last_year}"


_PERIOD_IN_NAME = re.compile(r"^([0-9]{4})(?:-([0-9]{4}))?(?![0-9])")


def period_in_name(name: str) -> tuple[int, int] | None:
    """The period a version name starts with, for a version given without one
    (``"2006-2007 draft"`` -> (2006, 2007), ``"2008 revised"`` -> (2008, 2008)).
    Only the importer and the migration call this: everywhere else the period is
    the version's ``first_year`` and ``last_year``."""
    match = _PERIOD_IN_NAME.match(name)
    if match is None:
        return None
    first, last = int(match[1]), int(match[2] or match[1])
    return (first, last) if last >= first else None


class Activity(Versioned, Base):
    """An activity of the operational plan, under one objective and one unit."""

    __tablename__ = "activities"
    __table_args__ = (
        enum_check("status", ACTIVITY_STATUSES, nullable=True),
        CheckConstraint("start_date IS NULL OR end_date IS NULL OR end_date >= start_date", name="dates"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    objective_id: Mapped[int] = mapped_column(ForeignKey("objectives.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str | None] = mapped_column(String(20))
    owner: Mapped[str | None] = mapped_column(String(100))

    objective: Mapped[Objective] = relationship()
    unit: Mapped[Unit] = relationship()


class StandardCost(Versioned, Base):
    """The annual cost of one staff member at a grade in a year."""

    __tablename__ = "standard_costs"
    __table_args__ = (UniqueConstraint("grade", "year"), enum_check("grade", GRADES))
    id: Mapped[int] = mapped_column(primary_key=True)
    grade: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column(Integer)
    annual_cost_centimes: Mapped[int] = mapped_column(BigInteger)


class CostLine(Versioned, Base):
    """What an activity costs in a year and category, in one plan version."""

    __tablename__ = "cost_lines"
    __table_args__ = (
        UniqueConstraint("version_id", "activity_id", "year", "category", "grade", "funding_source_id"),
        enum_check("category", CATEGORIES),
        enum_check("grade", GRADES, nullable=True),
        CheckConstraint("work_months_e2 IS NULL OR work_months_e2 >= 0", name="work_months"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"))
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(20))
    grade: Mapped[str | None] = mapped_column(String(8))
    work_months_e2: Mapped[int | None] = mapped_column(Integer)
    amount_centimes: Mapped[int] = mapped_column(BigInteger)
    funding_source_id: Mapped[int] = mapped_column(ForeignKey("funding_sources.id"))

    version: Mapped[PlanVersion] = relationship()
    activity: Mapped[Activity] = relationship()
    funding_source: Mapped[FundingSource] = relationship()


class BudgetLine(Versioned, Base):
    """The appropriation per unit, objective, year and category of a version."""

    __tablename__ = "budget_lines"
    __table_args__ = (
        UniqueConstraint("version_id", "unit_id", "objective_id", "year", "category"),
        enum_check("category", CATEGORIES),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    objective_id: Mapped[int] = mapped_column(ForeignKey("objectives.id"))
    year: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(20))
    amount_centimes: Mapped[int] = mapped_column(BigInteger)


# -- execution (imported from the finance and HR systems) ---------------------------


class IncomeBudget(Versioned, Base):
    """The income a version plans from a source other than contributory units, per year."""

    __tablename__ = "income_budget"
    __table_args__ = (UniqueConstraint("version_id", "year", "funding_source_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"))
    year: Mapped[int] = mapped_column(Integer)
    funding_source_id: Mapped[int] = mapped_column(ForeignKey("funding_sources.id"))
    amount_centimes: Mapped[int] = mapped_column(BigInteger)

    version: Mapped[PlanVersion] = relationship()
    funding_source: Mapped[FundingSource] = relationship()


#: Funding kinds whose income comes from contributory units (never in an income budget).
CONTRIBUTION_KINDS = ("assessed", "sector_members", "associates")


class Actual(Base):
    """An expenditure transaction; a negative amount is a reversal."""

    __tablename__ = "actuals"
    __table_args__ = (enum_check("category", CATEGORIES),)
    # Only the business key is indexed: reports read ActualTotal, and each
    # secondary index made bulk loads about 30 % slower; a drill-down into one
    # cell scans the table (a few hundred ms at a million rows).
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    date: Mapped[dt.date] = mapped_column(Date)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    objective_id: Mapped[int | None] = mapped_column(ForeignKey("objectives.id"))
    category: Mapped[str] = mapped_column(String(20))
    amount_centimes: Mapped[int] = mapped_column(BigInteger)
    funding_source_id: Mapped[int] = mapped_column(ForeignKey("funding_sources.id"))


class ActualTotal(Base):
    """The actuals summed per year, unit, effective objective and category.

    Kept in step with ``actuals`` in the same transaction by every writer
    (:mod:`itu_plan.summaries`), so reports never scan the transactions. The
    effective objective is the actual's own, else its activity's (NULL when
    it has neither).
    """

    __tablename__ = "actual_totals"
    __table_args__ = (
        UniqueConstraint("year", "unit_id", "objective_id", "category"),
        enum_check("category", CATEGORIES),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    objective_id: Mapped[int | None] = mapped_column(ForeignKey("objectives.id"))
    category: Mapped[str] = mapped_column(String(20))
    amount_centimes: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    #: the latest date summed here: reports as of an earlier date must read the actuals
    last_date: Mapped[dt.date] = mapped_column(Date)


class Income(Base):
    """Income other than contributions and cost recovery."""

    __tablename__ = "income"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    date: Mapped[dt.date] = mapped_column(Date)
    funding_source_id: Mapped[int] = mapped_column(ForeignKey("funding_sources.id"))
    amount_centimes: Mapped[int] = mapped_column(BigInteger)


class Product(Versioned, Base):
    """A cost-recovered product or service (Resolution 91)."""

    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(String(50))


class OverheadRate(Versioned, Base):
    """The indirect-cost rate of a unit for a year, as a fraction."""

    __tablename__ = "overhead_rates"
    __table_args__ = (
        UniqueConstraint("unit_id", "year"),
        CheckConstraint("rate_e6 >= 0", name="rate"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    year: Mapped[int] = mapped_column(Integer)
    rate_e6: Mapped[int] = mapped_column(Integer)


class CostRecoveryEntry(Base):
    """Income or direct cost of a cost-recovered product."""

    __tablename__ = "cost_recovery"
    __table_args__ = (enum_check("type", CR_TYPES),)
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    date: Mapped[dt.date] = mapped_column(Date)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    amount_centimes: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int | None] = mapped_column(Integer)


class Kpi(Versioned, Base):
    """A key performance indicator of an objective."""

    __tablename__ = "kpis"
    __table_args__ = (
        enum_check("measure", KPI_MEASURES),
        enum_check("direction", KPI_DIRECTIONS),
        enum_check("formula", KPI_FORMULAS, nullable=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    objective_id: Mapped[int] = mapped_column(ForeignKey("objectives.id"))
    name: Mapped[str] = mapped_column(String(300))
    measure: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str] = mapped_column(String(8))
    baseline: Mapped[float | None] = mapped_column(Double)
    #: computed from the workspace (one of KPI_FORMULAS) rather than measured
    formula: Mapped[str | None] = mapped_column(String(32))


class KpiTarget(Versioned, Base):
    __tablename__ = "kpi_targets"
    __table_args__ = (UniqueConstraint("kpi_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpis.id"))
    year: Mapped[int] = mapped_column(Integer)
    target: Mapped[float] = mapped_column(Double)


class Measurement(Versioned, Base):
    __tablename__ = "measurements"
    __table_args__ = (UniqueConstraint("kpi_id", "date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpis.id"))
    date: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Double)


# -- human resources -------------------------------------------------------------


class Post(Versioned, Base):
    __tablename__ = "posts"
    __table_args__ = (enum_check("grade", GRADES), enum_check("status", POST_STATUSES))
    id: Mapped[int] = mapped_column(primary_key=True)
    post_number: Mapped[str] = mapped_column(String(32), unique=True)
    grade: Mapped[str] = mapped_column(String(8))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    funding_source_id: Mapped[int] = mapped_column(ForeignKey("funding_sources.id"))
    status: Mapped[str] = mapped_column(String(20))


class Recruitment(Versioned, Base):
    """A vacancy notice and its milestones up to entry on duty (EOD)."""

    __tablename__ = "recruitments"
    __table_args__ = (
        CheckConstraint("closing_date IS NULL OR closing_date >= notice_date", name="closing"),
        CheckConstraint("selection_date IS NULL OR selection_date >= notice_date", name="selection"),
        CheckConstraint("eod_date IS NULL OR eod_date >= notice_date", name="eod"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    vacancy_id: Mapped[str] = mapped_column(String(32), unique=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    notice_date: Mapped[dt.date] = mapped_column(Date)
    closing_date: Mapped[dt.date | None] = mapped_column(Date)
    selection_date: Mapped[dt.date | None] = mapped_column(Date)
    eod_date: Mapped[dt.date | None] = mapped_column(Date)


class Staff(Versioned, Base):
    """A staff member, pseudonymous: no names are stored."""

    __tablename__ = "staff"
    __table_args__ = (
        enum_check("grade", GRADES),
        enum_check("gender", GENDERS),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(32), unique=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    grade: Mapped[str] = mapped_column(String(8))
    gender: Mapped[str] = mapped_column(String(1))
    nationality_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    start_date: Mapped[dt.date] = mapped_column(Date)
    #: the last day of service; NULL while in service
    end_date: Mapped[dt.date | None] = mapped_column(Date)


class Agreement(Versioned, Base):
    """A cooperative international arrangement for which the secretariat is depositary."""

    __tablename__ = "agreements"
    __table_args__ = (
        CheckConstraint(
            "signed_date IS NULL OR in_force_date IS NULL OR in_force_date >= signed_date",
            name="dates",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(50))
    parties: Mapped[str] = mapped_column(Text)
    signed_date: Mapped[dt.date | None] = mapped_column(Date)
    in_force_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(50))


# -- collaboration -----------------------------------------------------------------


class User(Versioned, Base):
    """Who may do what: a role, the units they act for, a delegation limit."""

    __tablename__ = "users"
    __table_args__ = (
        enum_check("role", ROLES),
        CheckConstraint(
            "delegation_limit_centimes IS NULL OR delegation_limit_centimes >= 0",
            name="delegation_limit",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    delegation_limit_centimes: Mapped[int | None] = mapped_column(BigInteger)

    units: Mapped[list[Unit]] = relationship(secondary="user_units", order_by="Unit.code")


class UserUnit(Base):
    """The units a user may act for (and, implicitly, the units below them)."""

    __tablename__ = "user_units"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)


class Comment(Versioned, Base):
    """A remark on any record, addressed by table and business key; resolvable."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_table_name_record_key", "table_name", "record_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64))
    record_key: Mapped[str] = mapped_column(String(300))
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    """One append-only line of the audit trail (a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_table_name_record_key", "table_name", "record_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    username: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    table_name: Mapped[str] = mapped_column(String(64))
    record_key: Mapped[str | None] = mapped_column(String(300))
    before: Mapped[Any | None] = mapped_column(JSON)
    after: Mapped[Any | None] = mapped_column(JSON)
    #: who was connected: ``session_user`` on PostgreSQL, the OS login on SQLite
    login: Mapped[str | None] = mapped_column(String(100))
    #: SHA-256 over the event and the previous event's hash (see ``itu_plan.audit.digest``)
    hash: Mapped[str | None] = mapped_column(String(64))
    #: the PostgreSQL transaction that wrote it (ties raw writes to the events that explain them)
    txid: Mapped[int | None] = mapped_column(BigInteger)


#: The workspace settings and what each holds: ``as_of``, the date the execution
#: data runs to (what every report defaults to); ``demo_scale``, the size of a demo.
SETTINGS = {"as_of": "date", "demo_scale": "int"}


class Setting(Base):
    """Workspace-wide settings, such as the as-of date of the execution data."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


#: Tables whose content describes the plan (everything but the audit trail and
#: derived summaries), in an order where every foreign key points to an earlier table.
CONTENT_TABLES = [t for t in Base.metadata.sorted_tables if t.name not in ("audit_events", "actual_totals")]

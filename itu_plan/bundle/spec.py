"""The bundle format of CONTRACT.md as data: files, columns, types, keys, references.

Every import and export speaks in business keys; this table says how each CSV
column maps to a database column, how it is parsed and what it refers to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Table

from itu_plan import model as m


@dataclass(frozen=True)
class Field:
    """One column of a bundle file.

    ``kind`` is one of: ``text``, ``int``, ``year``, ``date``, ``money``
    (CHF, two decimals, stored as centimes), ``scaled`` (a decimal with at most
    ``scale`` places stored x 10**scale), ``number`` (a float), ``enum``
    (one of ``values``), ``ref`` (a business key of file ``ref``) and ``refs``
    (a comma-separated list of them).
    """

    name: str
    kind: str = "text"
    required: bool = False
    db: str | None = None
    values: tuple[str, ...] = ()
    scale: int = 0
    ref: str | None = None
    low: int | None = None
    high: int | None = None

    @property
    def column(self) -> str:
        """The database column this field fills."""
        if self.db:
            return self.db
        if self.kind == "money":
            return f"{self.name}_centimes"
        if self.kind == "ref":
            return f"{self.name.removesuffix('_code')}_id"
        return self.name


@dataclass(frozen=True)
class FileSpec:
    """One bundle file: its table, its columns and its business key."""

    name: str
    model: type[m.Base]
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    #: the column other files use to refer to a row (None: nobody refers to it)
    ref_key: str | None = None
    #: fields filled by the importer, not read from the file (e.g. a computed amount)
    derived: tuple[str, ...] = field(default=())

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def table(self) -> Table:
        return self.model.__table__  # type: ignore[return-value]

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]


def _code(name: str = "code") -> Field:
    return Field(name, required=True)


def _ref(name: str, target: str, *, required: bool = True, db: str | None = None) -> Field:
    return Field(name, "ref", required=required, ref=target, db=db)


YEAR = Field("year", "year", required=True)
CATEGORY = Field("category", "enum", required=True, values=m.CATEGORIES)

FILES: tuple[FileSpec, ...] = (
    FileSpec(
        "units", m.Unit,
        (_code(), Field("name", required=True), _ref("parent_code", "units", required=False, db="parent_id")),
        key=("code",), ref_key="code",
    ),
    FileSpec(
        "objectives", m.Objective,
        (_code(), Field("title", required=True),
         _ref("parent_code", "objectives", required=False, db="parent_id")),
        key=("code",), ref_key="code",
    ),
    FileSpec(
        "funding_sources", m.FundingSource,
        (_code(), Field("name", required=True), Field("kind", "enum", True, values=m.FUNDING_KINDS)),
        key=("code",), ref_key="code",
    ),
    FileSpec(
        "members", m.Member,
        (_code(), Field("name", required=True), Field("type", "enum", True, values=m.MEMBER_TYPES),
         Field("region", "enum", values=m.REGIONS),
         Field("units", "scaled", scale=4, db="units_e4", low=625, high=400_000)),
        key=("code",), ref_key="code",
    ),
    FileSpec(
        "unit_values", m.UnitValue,
        (YEAR, Field("member_type", "enum", True, values=m.MEMBER_TYPES), Field("value", "money", True, low=0)),
        key=("year", "member_type"),
    ),
    FileSpec(
        "versions", m.PlanVersion,
        (Field("name", required=True), Field("status", "enum", True, values=m.VERSION_STATUSES),
         _ref("based_on", "versions", required=False, db="based_on_id"),
         Field("first_year", "year"), Field("last_year", "year")),
        key=("name",), ref_key="name",
    ),
    FileSpec(
        "activities", m.Activity,
        (_code(), Field("title", required=True), _ref("objective_code", "objectives"),
         _ref("unit_code", "units"), Field("start_date", "date"), Field("end_date", "date"),
         Field("status", "enum", values=m.ACTIVITY_STATUSES), Field("owner")),
        key=("code",), ref_key="code",
    ),
    FileSpec(
        "standard_costs", m.StandardCost,
        (Field("grade", "enum", True, values=m.GRADES), YEAR, Field("annual_cost", "money", True, low=0)),
        key=("grade", "year"),
    ),
    FileSpec(
        "cost_lines", m.CostLine,
        (_ref("version", "versions", db="version_id"), _ref("activity_code", "activities"), YEAR, CATEGORY,
         Field("grade", "enum", values=m.GRADES),
         Field("work_months", "scaled", scale=2, db="work_months_e2", low=0),
         Field("amount", "money", low=0), _ref("funding_source_code", "funding_sources")),
        key=("version", "activity_code", "year", "category", "grade", "funding_source_code"),
    ),
    FileSpec(
        "budget", m.BudgetLine,
        (_ref("version", "versions", db="version_id"), _ref("unit_code", "units"),
         _ref("objective_code", "objectives"), YEAR, CATEGORY, Field("amount", "money", True, low=0)),
        key=("version", "unit_code", "objective_code", "year", "category"),
    ),
    FileSpec(
        "income_budget", m.IncomeBudget,
        (_ref("version", "versions", db="version_id"), YEAR, _ref("funding_source_code", "funding_sources"),
         Field("amount", "money", True, low=0)),
        key=("version", "year", "funding_source_code"),
    ),
    FileSpec(
        "actuals", m.Actual,
        (Field("reference", required=True), Field("date", "date", True), _ref("unit_code", "units"),
         _ref("activity_code", "activities", required=False),
         _ref("objective_code", "objectives", required=False), CATEGORY, Field("amount", "money", True),
         _ref("funding_source_code", "funding_sources")),
        key=("reference",),
    ),
    FileSpec(
        "income", m.Income,
        (Field("reference", required=True), Field("date", "date", True),
         _ref("funding_source_code", "funding_sources"), Field("amount", "money", True)),
        key=("reference",),
    ),
    FileSpec(
        "products", m.Product,
        (_code(), Field("name", required=True), _ref("unit_code", "units"), Field("kind", required=True)),
        key=("code",), ref_key="code",
    ),
    FileSpec(
        "overhead_rates", m.OverheadRate,
        (_ref("unit_code", "units"), YEAR, Field("rate", "scaled", True, scale=6, db="rate_e6", low=0)),
        key=("unit_code", "year"),
    ),
    FileSpec(
        "cost_recovery", m.CostRecoveryEntry,
        (Field("reference", required=True), Field("date", "date", True), _ref("product_code", "products"),
         Field("type", "enum", True, values=m.CR_TYPES), Field("amount", "money", True),
         Field("quantity", "int", low=0)),
        key=("reference",),
    ),
    FileSpec(
        "kpis", m.Kpi,
        (_code(), _ref("objective_code", "objectives"), Field("name", required=True),
         Field("measure", "enum", True, values=m.KPI_MEASURES),
         Field("direction", "enum", True, values=m.KPI_DIRECTIONS), Field("baseline", "number"),
         Field("formula", "enum", values=m.KPI_FORMULAS)),
        key=("code",), ref_key="code",
    ),
    FileSpec(
        "kpi_targets", m.KpiTarget,
        (_ref("kpi_code", "kpis"), YEAR, Field("target", "number", True)),
        key=("kpi_code", "year"),
    ),
    FileSpec(
        "measurements", m.Measurement,
        (_ref("kpi_code", "kpis"), Field("date", "date", True), Field("value", "number", True)),
        key=("kpi_code", "date"),
    ),
    FileSpec(
        "posts", m.Post,
        (Field("post_number", required=True), Field("grade", "enum", True, values=m.GRADES),
         _ref("unit_code", "units"), _ref("funding_source_code", "funding_sources"),
         Field("status", "enum", True, values=m.POST_STATUSES)),
        key=("post_number",), ref_key="post_number",
    ),
    FileSpec(
        "recruitments", m.Recruitment,
        (Field("vacancy_id", required=True), _ref("post_number", "posts", db="post_id"),
         Field("notice_date", "date", True), Field("closing_date", "date"),
         Field("selection_date", "date"), Field("eod_date", "date")),
        key=("vacancy_id",),
    ),
    FileSpec(
        "staff", m.Staff,
        (Field("staff_id", required=True), _ref("post_number", "posts", required=False, db="post_id"),
         Field("grade", "enum", True, values=m.GRADES), Field("gender", "enum", True, values=m.GENDERS),
         _ref("nationality", "members", db="nationality_id"), Field("start_date", "date", True),
         Field("end_date", "date")),
        key=("staff_id",),
    ),
    FileSpec(
        "agreements", m.Agreement,
        (_code(), Field("title", required=True), Field("kind", required=True),
         Field("parties", required=True), Field("signed_date", "date"), Field("in_force_date", "date"),
         Field("status", required=True)),
        key=("code",),
    ),
    FileSpec(
        "users", m.User,
        (Field("username", required=True), Field("role", "enum", True, values=m.ROLES),
         Field("units", "refs", ref="units", db="-"), Field("delegation_limit", "money", low=0)),
        key=("username",),
    ),
    FileSpec(
        "settings", m.Setting,
        (Field("key", "enum", True, values=tuple(m.SETTINGS)), Field("value", required=True)),
        key=("key",),
    ),
)  # fmt: skip

BY_NAME = {spec.name: spec for spec in FILES}
BY_FILENAME = {spec.filename: spec for spec in FILES}
#: Files other files refer to, and the column they are referred to by.
REFERABLE = {spec.name: spec.ref_key for spec in FILES if spec.ref_key}

"""What a workspace offers to choose from, for the apps: plan versions, years,
units, objectives and the acting user; the editable cost lines of a version; and
the records behind an early warning.

The widgets build their filter bars, grids and drill-downs from here and never
query the database themselves. :func:`load` reads everything a filter bar needs
in one short read transaction; the :class:`Catalog` it returns answers "which
units are below BDT?" and restricts report tables to a unit, objective or year
without going back to the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import func, select, union
from sqlalchemy.orm import aliased

from itu_plan import access, audit, versions
from itu_plan.editing import CostLineKey
from itu_plan.errors import NotFound
from itu_plan.model import (
    REGION_NAMES,
    Activity,
    ActualTotal,
    BudgetLine,
    CostLine,
    FundingSource,
    Kpi,
    KpiTarget,
    Member,
    Objective,
    PlanVersion,
    Post,
    Product,
    Recruitment,
    Unit,
    UnitValue,
    period_text,
)
from itu_plan.money import describe_chf, format_scaled, round_half_even
from itu_plan.reports.common import elapsed_share

if TYPE_CHECKING:
    import pandas as pd

    from itu_plan.reports.warnings import EarlyWarning
    from itu_plan.workspace import Workspace


@dataclass(frozen=True)
class VersionInfo:
    """A plan version as a filter offers it, with its period (``first_year`` to ``last_year``)."""

    name: str
    status: str
    based_on: str | None
    first_year: int
    last_year: int

    @property
    def is_draft(self) -> bool:
        return self.status == "draft"

    @property
    def period(self) -> str:
        """``"2006-2007"`` (one year: ``"2006"``)."""
        return period_text(self.first_year, self.last_year)

    @property
    def years(self) -> range:
        return range(self.first_year, self.last_year + 1)

    def covers(self, year: int) -> bool:
        """Whether ``year`` is a year of the version's period."""
        return self.first_year <= year <= self.last_year

    @property
    def label(self) -> str:
        """``"2006-2007 approved (2006-2007)"``, ``"2006-2007 proposed (2006-2007, superseded)"``:
        the name with the period, and the status when the name does not say it."""
        status = "" if self.name.endswith(self.status) else f", {self.status}"
        return f"{self.name} ({self.period}{status})"

    def elapsed_share(self, as_of: dt.date, year: int | None = None) -> Fraction:
        """The share of the period's days (or, given ``year``, of that year's) that have
        passed at the end of ``as_of``: what an execution rate is read against. The
        arithmetic is :func:`reports.common.elapsed_share`'s; a year alone is a one-year period."""
        first, last = (year, year) if year is not None else (self.first_year, self.last_year)
        return elapsed_share(first, last, as_of)


@dataclass(frozen=True)
class TreeEntry:
    """A unit or an objective in tree order, with its depth below the root (0 at the top)."""

    code: str
    name: str
    parent: str | None
    depth: int


@dataclass(frozen=True)
class UserInfo:
    """The acting user as the apps explain them: role, units, delegation limit."""

    username: str
    role: str
    units: tuple[str, ...]
    delegation_limit: Decimal | None
    all_units: bool
    #: the workspace is read-only for them (a SQLite file they may not write)
    read_only_workspace: bool = False

    @property
    def can_write(self) -> bool:
        """Whether they may change plan data at all (a reviewer only reads; nobody
        writes to a read-only workspace)."""
        return self.role in access.WRITERS and not self.read_only_workspace

    @property
    def can_approve(self) -> bool:
        """Whether they may submit and approve versions (within the delegation rule)."""
        return self.role in ("admin", "manager") and not self.read_only_workspace

    def describe(self) -> str:
        """One sentence for the app header, e.g. ``"manager.bdt, manager for BDT
        (approves changes up to CHF 500,000.00)"``."""
        units = "all units" if self.all_units else (", ".join(self.units) or "no units")
        text = {
            "admin": f"{self.username}, administrator (all units)",
            "manager": f"{self.username}, manager for {units}",
            "planner": f"{self.username}, planner for {units}",
            "reviewer": f"{self.username}, reviewer (read only)",
        }.get(self.role, f"{self.username} ({self.role})")
        if self.role == "manager":
            limit = int((self.delegation_limit or Decimal(0)) * 100)
            text += f" (approves changes up to {describe_chf(limit)})"
        if self.read_only_workspace:
            text += "; the workspace is read-only for you: nothing can be changed here"
        return text


@dataclass(frozen=True)
class Catalog:
    """The choices of a filter bar, read once: versions, years, units, objectives."""

    versions: tuple[VersionInfo, ...]
    years: tuple[int, ...]
    units: tuple[TreeEntry, ...]
    objectives: tuple[TreeEntry, ...]
    as_of: dt.date | None
    _units_below: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _objectives_below: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    #: cost-recovered products and KPIs, code -> name (what warnings name beside their codes)
    products: dict[str, str] = field(default_factory=dict, repr=False)
    kpis: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def default_version(self) -> str | None:
        """The version reports use by default: the latest approved, else the latest."""
        approved = [v for v in self.versions if v.status == "approved"]
        chosen = (approved or list(self.versions))[-1:] if self.versions else []
        return chosen[0].name if chosen else None

    def version(self, name: str) -> VersionInfo:
        for version in self.versions:
            if version.name == name:
                return version
        raise NotFound("plan version", name)

    def unit(self, code: str) -> TreeEntry:
        for unit in self.units:
            if unit.code == code:
                return unit
        raise NotFound("unit", code)

    def objective(self, code: str) -> TreeEntry:
        for objective in self.objectives:
            if objective.code == code:
                return objective
        raise NotFound("objective", code)

    @property
    def figures_as_of(self) -> dt.date:
        """The date reports read the execution data at by default: the workspace's as-of
        date, else today (see :func:`itu_plan.reports.common.effective_as_of`)."""
        return self.as_of or dt.date.today()

    @cached_property
    def _names(self) -> dict[str, dict[str, str]]:
        return {
            "unit_code": {u.code: u.name for u in self.units},
            "objective_code": {o.code: o.name for o in self.objectives},
            "product_code": dict(self.products),
            "kpi_code": dict(self.kpis),
            "region": dict(REGION_NAMES),
        }

    def name_of(self, column: str, code: str) -> str | None:
        """The name of the unit (``column`` ``"unit_code"``), objective
        (``"objective_code"``), cost-recovered product (``"product_code"``), KPI
        (``"kpi_code"``) or region (``"region"``) ``code``: ``"Africa regional office"``;
        None for a code the workspace does not know or another column."""
        return self._names.get(column, {}).get(code)

    def named(self, column: str, code: str) -> str:
        """``"BDT-AFR — Africa regional office"``: the code with its name beside it (the
        code alone when it has none)."""
        name = self.name_of(column, code)
        return f"{code} — {name}" if name else code

    def units_below(self, code: str) -> frozenset[str]:
        """``code`` and every unit below it (``NotFound`` for an unknown unit)."""
        self.unit(code)
        return self._units_below[code]

    def objectives_below(self, code: str) -> frozenset[str]:
        """``code`` and every objective below it (``NotFound`` for an unknown objective)."""
        self.objective(code)
        return self._objectives_below[code]

    def restrict(
        self,
        frame: pd.DataFrame,
        *,
        unit: str | None = None,
        objective: str | None = None,
        year: int | None = None,
        years: Iterable[int] | None = None,
    ) -> pd.DataFrame:
        """The rows of a report table that belong to ``unit`` (or a unit below it),
        ``objective`` (or one below it), ``year`` and ``years`` (a version's period, say).

        A filter applies only to a table that has its column (``unit_code``,
        ``objective_code``, ``year``); other tables pass through unchanged. The
        warnings table is filtered by what each warning names (its structured
        record's ``parts``, see :func:`warning_records`): a warning that names no
        unit (or no year) is about the whole secretariat and stays. The frame's notes (``attrs``) are kept.
        """
        import pandas as pd

        mask = None
        in_years: set[int] | None = None if years is None else set(years)
        if year is not None:
            in_years = {year} & (in_years if in_years is not None else {year})
        filters = (
            ("unit_code", self.units_below(unit) if unit else None),
            ("objective_code", self.objectives_below(objective) if objective else None),
            ("year", in_years),
        )
        warnings = frame.attrs.get("report") == "warnings"
        if warnings:
            subjects = [record.parts for record in warning_records(frame)]
            for column, allowed in filters:
                if allowed is not None:
                    flags = [column not in parts or parts[column] in allowed for parts in subjects]
                    keep = pd.Series(flags, index=frame.index, dtype=bool)
                    mask = keep if mask is None else mask & keep
        for column, allowed in filters:
            if allowed is None or column not in frame.columns or warnings:
                continue
            keep = frame[column].isin(list(allowed))
            mask = keep if mask is None else mask & keep
        if mask is None:
            return frame
        result = frame[mask].reset_index(drop=True)
        result.attrs.update(frame.attrs)
        return result


def _tree(rows: Iterable[tuple[int, str, str, int | None]]) -> tuple[tuple[TreeEntry, ...], dict[str, frozenset[str]]]:
    """(entries in depth-first code order, code -> codes of itself and everything below)."""
    rows = list(rows)
    by_id = {row_id: (code, name, parent) for row_id, code, name, parent in rows}
    children: dict[int | None, list[int]] = {}
    for row_id, _code, _name, parent in sorted(rows, key=lambda r: r[1]):
        children.setdefault(parent if parent in by_id else None, []).append(row_id)
    entries: list[TreeEntry] = []
    below: dict[str, frozenset[str]] = {}

    def walk(row_id: int, depth: int, seen: frozenset[int]) -> frozenset[str]:
        code, name, parent = by_id[row_id]
        entries.append(TreeEntry(code, name, by_id[parent][0] if parent in by_id else None, depth))
        codes = {code}
        for child in children.get(row_id, []):
            if child not in seen:  # a cycle in bad data must not hang the app
                codes |= walk(child, depth + 1, seen | {child})
        below[code] = frozenset(codes)
        return below[code]

    for root in children.get(None, []):
        walk(root, 0, frozenset({root}))
    return tuple(entries), below


def load(workspace: Workspace) -> Catalog:
    """Everything a filter bar offers, in one read transaction."""
    with workspace.reading() as session:
        base = aliased(PlanVersion)
        versions = tuple(
            VersionInfo(name, status, based_on, first_year, last_year)
            for name, status, based_on, first_year, last_year in session.execute(
                select(PlanVersion.name, PlanVersion.status, base.name, PlanVersion.first_year, PlanVersion.last_year)
                .outerjoin(base, base.id == PlanVersion.based_on_id)
                .order_by(PlanVersion.id)
            )
        )
        years_query = union(
            select(CostLine.year),
            select(BudgetLine.year),
            select(UnitValue.year),
            select(ActualTotal.year),
        )
        years = tuple(sorted(int(y) for y in session.scalars(select(years_query.subquery().c[0]))))
        units, units_below = _tree(
            (r[0], r[1], r[2], r[3]) for r in session.execute(select(Unit.id, Unit.code, Unit.name, Unit.parent_id))
        )
        objectives, objectives_below = _tree(
            (r[0], r[1], r[2], r[3])
            for r in session.execute(select(Objective.id, Objective.code, Objective.title, Objective.parent_id))
        )
        products = {code: name for code, name in session.execute(select(Product.code, Product.name))}
        kpi_names = {code: name for code, name in session.execute(select(Kpi.code, Kpi.name))}
    return Catalog(
        versions, years, units, objectives, workspace.as_of, units_below, objectives_below, products, kpi_names
    )


def current_user(workspace: Workspace) -> UserInfo:
    """The acting user of ``workspace`` (``PermissionDenied`` for a user the workspace does not know)."""
    with workspace.reading() as session:
        who = access.actor(session, workspace.user)
    limit = who.delegation_limit_centimes
    return UserInfo(
        who.username,
        who.role,
        who.unit_codes,
        None if limit is None else Decimal(format_scaled(limit, 2)),
        who.all_units,
        workspace.read_only,
    )


# -- cost lines, for the plan grid ------------------------------------------------------------


@dataclass(frozen=True)
class CostLineRow:
    """One cost line as the plan grid shows it, with the ``row_version`` an edit must name."""

    key: CostLineKey
    activity_title: str
    unit: str
    objective: str
    work_months: Decimal | None
    amount: Decimal
    row_version: int

    @property
    def line(self) -> str:
        """The key without the version: ``"BDT-AFR-001/2006/travel//RB-MS"`` (unique in a version)."""
        k = self.key
        return audit.record_key(k.activity, k.year, k.category, k.grade, k.funding_source)


def cost_lines(
    workspace: Workspace,
    version: str,
    *,
    units: Iterable[str] | None = None,
    objectives: Iterable[str] | None = None,
    year: int | None = None,
) -> list[CostLineRow]:
    """The cost lines of ``version``, optionally only of ``units`` and ``objectives``
    (codes, taken from the activity) and ``year``, in business-key order."""
    statement = (
        select(
            Activity.code,
            CostLine.year,
            CostLine.category,
            CostLine.grade,
            FundingSource.code,
            Activity.title,
            Unit.code,
            Objective.code,
            CostLine.work_months_e2,
            CostLine.amount_centimes,
            CostLine.row_version,
        )
        .join(PlanVersion, PlanVersion.id == CostLine.version_id)
        .join(Activity, Activity.id == CostLine.activity_id)
        .join(Unit, Unit.id == Activity.unit_id)
        .join(Objective, Objective.id == Activity.objective_id)
        .join(FundingSource, FundingSource.id == CostLine.funding_source_id)
        .where(PlanVersion.name == version)
        .order_by(Activity.code, CostLine.year, CostLine.category, CostLine.grade, FundingSource.code)
    )
    if units is not None:
        statement = statement.where(Unit.code.in_(sorted(units)))
    if objectives is not None:
        statement = statement.where(Objective.code.in_(sorted(objectives)))
    if year is not None:
        statement = statement.where(CostLine.year == year)
    with workspace.reading() as session:
        if session.scalar(select(PlanVersion.id).where(PlanVersion.name == version)) is None:
            raise NotFound("plan version", version)
        rows = session.execute(statement).all()
    return [
        CostLineRow(
            CostLineKey(version, activity, year_, category, grade, source),
            title,
            unit,
            objective,
            None if months is None else Decimal(format_scaled(months, 2)),
            Decimal(format_scaled(amount, 2)),
            row_version,
        )
        for activity, year_, category, grade, source, title, unit, objective, months, amount, row_version in rows
    ]


# -- early warnings ---------------------------------------------------------------------------


def warning_records(frame: pd.DataFrame) -> list[EarlyWarning]:
    """The :class:`~itu_plan.reports.warnings.EarlyWarning` behind each row of a
    ``warnings`` report frame (``Workspace.report("warnings")``, whole or filtered), in
    row order: the report keeps them in ``attrs["records"]``; a row is matched by its
    rule and subject, which together name one warning."""
    by_key = {(record.rule, record.subject): record for record in frame.attrs.get("records", ())}
    try:
        return [by_key[rule, subject] for rule, subject in zip(frame["rule"], frame["subject"], strict=True)]
    except KeyError as missing:
        raise NotFound("early warning", " ".join(map(str, missing.args[0]))) from None


#: the parts of a warning that have a name, in the order they are said
NAMED_PARTS = ("unit_code", "objective_code", "product_code", "kpi_code")


def warning_names(cat: Catalog, warning: EarlyWarning) -> list[str]:
    """What a warning is about, each code with its name beside it: ``["BDT-AFR —
    Africa regional office", "ITU-D.3 — ..."]`` (a code the workspace cannot name
    is said alone; a vacancy or a year has no name)."""
    parts = warning.parts
    return [cat.named(name, str(parts[name])) for name in NAMED_PARTS if parts.get(name) is not None]


def records_behind_warning(
    workspace: Workspace,
    warning: EarlyWarning,
    *,
    version: str | None = None,
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    """The records an early warning is about, as a table, read from its fields: the
    actuals behind an overspend or a projected one, the product-year of a
    cost-recovery warning, the financial plan of a year with a funding gap, the
    values and target of a KPI in the year it missed, the recruitment of a delayed
    vacancy as it stood at ``as_of``."""
    import pandas as pd

    from itu_plan import kpis

    w = warning
    if w.unit_code is not None and w.year is not None:  # OVERSPEND, PROJECTED_OVERSPEND
        key = {"year": w.year, "unit_code": w.unit_code, "objective_code": w.objective_code}
        return workspace.drill("budget-vs-actual", key, version=version, as_of=as_of)
    if w.product_code is not None and w.year is not None:  # COST_RECOVERY_*, MISSING_OVERHEAD_RATE
        frame = workspace.report("cost-recovery", year=w.year, as_of=as_of)
        return frame[frame["product_code"] == w.product_code].reset_index(drop=True)
    if w.rule == "FUNDING_GAP" and w.year is not None:
        return workspace.report("financial-plan", version=version, year=w.year, as_of=as_of)
    with workspace.reading() as session:
        if w.kpi_code is not None:
            kpi = session.execute(select(Kpi.id, Kpi.name, Kpi.direction).where(Kpi.code == w.kpi_code)).first()
            if kpi is None:
                raise NotFound("KPI", w.kpi_code)
            targets = {
                year: target
                for year, target in session.execute(
                    select(KpiTarget.year, KpiTarget.target).where(KpiTarget.kpi_id == kpi.id)
                )
            }
            known = kpis.values(session.connection(), as_of or workspace.as_of or dt.date.today()).get(kpi.id, [])
            rows = [
                {"kpi_code": w.kpi_code, "name": kpi.name, "date": date, "value": value,
                 "target": targets.get(date.year), "direction": kpi.direction}
                for date, value in known
                if w.year is None or date.year == w.year
            ]  # fmt: skip
            return pd.DataFrame(rows, columns=["kpi_code", "name", "date", "value", "target", "direction"])
        if w.vacancy_id is not None:
            columns = ["vacancy_id", "post_number", "grade", "unit_code", "notice_date", "closing_date",
                       "selection_date", "eod_date"]  # fmt: skip
            found = session.execute(
                select(Recruitment.vacancy_id, Post.post_number, Post.grade, Unit.code, Recruitment.notice_date,
                       Recruitment.closing_date, Recruitment.selection_date, Recruitment.eod_date)
                .join(Post, Post.id == Recruitment.post_id)
                .join(Unit, Unit.id == Post.unit_id)
                .where(Recruitment.vacancy_id == w.vacancy_id)
            ).all()  # fmt: skip
            # as it stood at as_of: a milestone reached later is not known yet
            rows = [
                dict(zip(columns, [*row[:4], *(d if d is None or as_of is None or d <= as_of else None
                                               for d in row[4:])], strict=True))
                for row in found
            ]  # fmt: skip
            return pd.DataFrame(rows, columns=columns)
    raise NotFound(f"records behind the {w.rule} warning", w.subject)


# -- figures a scenario starts from -----------------------------------------------------------


def unit_values(workspace: Workspace) -> dict[tuple[int, str], Decimal]:
    """The value of a contributory unit in CHF per (year, member type)."""
    with workspace.reading() as session:
        return {
            (year, kind): Decimal(format_scaled(value, 2))
            for year, kind, value in session.execute(
                select(UnitValue.year, UnitValue.member_type, UnitValue.value_centimes).order_by(
                    UnitValue.year, UnitValue.member_type
                )
            )
        }


@dataclass(frozen=True)
class ApprovalFacts:
    """What approving a version would mean: its status, base, who submitted it, and the
    figures the delegation rule weighs (see :func:`itu_plan.versions.change_against_base`):
    the change against the base, and the budget totals of the version and of its base."""

    version: str
    status: str
    base: str | None
    change: Decimal
    units_touched: tuple[str, ...]
    budget_total: Decimal = Decimal(0)
    base_budget_total: Decimal | None = None
    submitted_by: str | None = None

    @property
    def raises_total(self) -> bool:
        """Whether the version's budget total is above its base's (outside the approved envelope)."""
        return self.base_budget_total is not None and self.budget_total > self.base_budget_total


def approval_facts(workspace: Workspace, version: str) -> ApprovalFacts:
    """The figures the delegation rule looks at for ``version``."""
    with workspace.reading() as session:
        found = versions.get_version(session, version)
        change = versions.change_against_base(session, found)
        base_total = change.base_total_centimes
        return ApprovalFacts(
            found.name,
            found.status,
            change.base,
            Decimal(format_scaled(change.amount_centimes, 2)),
            tuple(sorted(change.units.values())),
            budget_total=Decimal(format_scaled(change.total_centimes, 2)),
            base_budget_total=None if base_total is None else Decimal(format_scaled(base_total, 2)),
            submitted_by=found.submitted_by,
        )


def contributions(workspace: Workspace, version: str | None = None) -> pd.DataFrame:
    """Contributions by year, member type and region: members, contributory units and
    the amount they pay (units x the unit value of the year and member type), for
    the years of ``version``'s period (the default version's, as the reports choose
    it); the financial plan's plan column of the same years.

    Each row is rounded half-even to the centime once; the financial plan rounds
    the total of each member type once, so the rows of a type may differ from its
    ``*_contributions`` line by a few centimes.
    """
    import pandas as pd

    from itu_plan.reports.common import version_ref

    with workspace.reading() as session:
        ref = version_ref(session.connection(), version)
        groups = session.execute(
            select(Member.type, Member.region, func.count(), func.coalesce(func.sum(Member.units_e4), 0))
            .where(Member.units_e4.is_not(None))
            .group_by(Member.type, Member.region)
            .order_by(Member.type, Member.region)
        ).all()
        values = session.execute(
            select(UnitValue.year, UnitValue.member_type, UnitValue.value_centimes)
            .where(UnitValue.year.between(ref.first_year, ref.last_year))
            .order_by(UnitValue.year, UnitValue.member_type)
        ).all()
    rows = []
    for year, kind, value in values:
        for member_type, region, members, units_e4 in groups:
            if member_type != kind:
                continue
            centimes = round_half_even(Fraction(int(units_e4 or 0) * int(value), 10_000))
            rows.append(
                (year, member_type, region, int(members), Decimal(format_scaled(int(units_e4 or 0), 4)),
                 Decimal(format_scaled(centimes, 2)))
            )  # fmt: skip
    return pd.DataFrame(rows, columns=["year", "member_type", "region", "members", "units", "amount"])

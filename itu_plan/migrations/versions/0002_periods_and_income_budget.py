"""periods on versions, the income budget, staff who leave, computed KPIs

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Contract v2: a version's period is data (``first_year``, ``last_year``), filled
here from the leading ``YYYY-YYYY`` (or ``YYYY``) of each existing version's
name; a version whose name has none stops the upgrade with its name and how to
give it a period (``itu-plan init --period "NAME=2006-2007"``). Also the
income budget of a version (``income_budget``), ``staff.end_date``, who
submitted a version (``plan_versions.submitted_by``) and what a computed KPI
computes (``kpis.formula``).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import context, op

KPI_FORMULAS = ("execution_rate", "recruitment_days", "women_share", "cost_recovery_rate")

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{4}))?(?!\d)")


class MissingPeriod(Exception):
    """A version whose name gives no period and for which none was given."""


def _periods_given() -> dict[str, tuple[int, int]]:
    given = context.config.attributes.get("periods") if context.config is not None else None
    return dict(given or {})


def upgrade() -> None:
    with op.batch_alter_table("plan_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_year", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_year", sa.Integer(), nullable=True))

    connection = op.get_bind()
    given = _periods_given()
    missing = []
    for version_id, name in connection.execute(sa.text("SELECT id, name FROM plan_versions ORDER BY name")).all():
        if name in given:
            first, last = given[name]
        elif match := _PERIOD.match(name):
            first = int(match[1])
            last = int(match[2] or match[1])
        else:
            missing.append(name)
            continue
        connection.execute(
            sa.text("UPDATE plan_versions SET first_year = :first, last_year = :last WHERE id = :id"),
            {"first": first, "last": last, "id": version_id},
        )
    if missing:
        names = ", ".join(repr(n) for n in missing)
        raise MissingPeriod(
            f"the plan version{'s' if len(missing) > 1 else ''} {names} "
            f"{'have' if len(missing) > 1 else 'has'} no period in the name; give each one with "
            f'`itu-plan init --period "{missing[0]}=2006-2007"` (first and last year)'
        )

    with op.batch_alter_table("plan_versions", schema=None) as batch_op:
        batch_op.alter_column("first_year", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("last_year", existing_type=sa.Integer(), nullable=False)
        batch_op.create_check_constraint(op.f("ck_plan_versions_period"), "last_year >= first_year")

    with op.batch_alter_table("plan_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submitted_by", sa.String(length=100), nullable=True))

    formulas = " OR ".join(f"formula = '{f}'" for f in KPI_FORMULAS)
    with op.batch_alter_table("kpis", schema=None) as batch_op:
        batch_op.add_column(sa.Column("formula", sa.String(length=32), nullable=True))
        batch_op.create_check_constraint(op.f("ck_kpis_formula"), f"formula IS NULL OR {formulas}")

    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("end_date", sa.Date(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_staff_dates"), "end_date IS NULL OR end_date >= start_date")

    op.create_table(
        "income_budget",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("funding_source_id", sa.Integer(), nullable=False),
        sa.Column("amount_centimes", sa.BigInteger(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["funding_source_id"],
            ["funding_sources.id"],
            name=op.f("fk_income_budget_funding_source_id_funding_sources"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["plan_versions.id"], name=op.f("fk_income_budget_version_id_plan_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_income_budget")),
        sa.UniqueConstraint(
            "version_id", "year", "funding_source_id", name=op.f("uq_income_budget_version_id_year_funding_source_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("income_budget")
    with op.batch_alter_table("kpis", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_kpis_formula"), type_="check")
        batch_op.drop_column("formula")
    with op.batch_alter_table("plan_versions", schema=None) as batch_op:
        batch_op.drop_column("submitted_by")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_staff_dates"), type_="check")
        batch_op.drop_column("end_date")
    with op.batch_alter_table("plan_versions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_plan_versions_period"), type_="check")
        batch_op.drop_column("last_year")
        batch_op.drop_column("first_year")

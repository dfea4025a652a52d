"""A small, hand-written plan for the access, version and editing tests.

Small enough to reason about line by line, unlike the demo:

* units GS; BR > BR-SSD; TSB > TSB-SGD; BDT > BDT-AFR, BDT-PKM;
* versions ``2004-2005 approved`` (no base), ``2006-2007 proposed``
  (superseded), ``2006-2007 approved`` (based on the proposal), ``2006-2007
  draft`` (based on the approved version; its BDT-AFR travel line is
  CHF 5,000 higher, so the draft's change is CHF 5,000.00 in BDT-AFR) and
  ``2006-2007 bare`` (a draft with no base);
* in each 2006-2007 version and activity: a travel line of CHF 10,000.00 and a
  staff line of 6 work-months at P-3 (CHF 90,000.00), both in 2006 and paid by
  RB-MS, and budget lines that add them up per unit, objective and category;
* users of every role; ``manager.small`` is a BDT manager with a limit of CHF 1,000.
"""

from __future__ import annotations

from itu_plan import Workspace
from itu_plan.editing import BudgetLineKey, CostLineKey
from itu_plan.model import (
    Activity,
    BudgetLine,
    CostLine,
    FundingSource,
    Objective,
    PlanVersion,
    StandardCost,
    Unit,
    User,
    UserUnit,
)

DRAFT = "2006-2007 draft"
APPROVED = "2006-2007 approved"
BARE = "2006-2007 bare"
OLD = "2004-2005 approved"

#: username -> (role, units, delegation limit in CHF)
USERS = {
    "admin": ("admin", (), None),
    "manager.bdt": ("manager", ("BDT",), 500_000),
    "manager.br": ("manager", ("BR",), 250_000),
    "manager.small": ("manager", ("BDT",), 1_000),
    "planner.bdt": ("planner", ("BDT",), None),
    "planner.tsb": ("planner", ("TSB",), None),
    "reviewer": ("reviewer", (), None),
}
ACTIVITIES = {
    # code: (unit, objective)
    "BDT-AFR-001": ("BDT-AFR", "ITU-D.1"),
    "BDT-AFR-002": ("BDT-AFR", "ITU-D.1"),  # no cost lines: it can be deleted
    "BDT-PKM-001": ("BDT-PKM", "ITU-D.1"),
    "TSB-SGD-001": ("TSB-SGD", "ITU-T.1"),
    "BR-SSD-001": ("BR-SSD", "S-01"),
}
#: P-3 standard cost in 2006: CHF 180,000 a year, CHF 15,000 a work-month.
P3_2006 = 180_000_00


def travel(activity: str = "BDT-AFR-001", version: str = DRAFT) -> CostLineKey:
    return CostLineKey(version, activity, 2006, "travel", None, "RB-MS")


def staff(activity: str = "BDT-AFR-001", version: str = DRAFT) -> CostLineKey:
    return CostLineKey(version, activity, 2006, "staff", "P-3", "RB-MS")


def budget(unit: str = "BDT-AFR", category: str = "travel", version: str = DRAFT) -> BudgetLineKey:
    objective = {"BDT-AFR": "ITU-D.1", "BDT-PKM": "ITU-D.1", "TSB-SGD": "ITU-T.1", "BR-SSD": "S-01"}[unit]
    return BudgetLineKey(version, unit, objective, 2006, category)


def build_small_plan(workspace: Workspace) -> None:
    """Write the small plan into the (initialised, empty) ``workspace``."""
    with workspace.transaction() as s:
        units: dict[str, Unit] = {}
        for code, parent in [
            ("GS", None),
            ("BR", None),
            ("BR-SSD", "BR"),
            ("TSB", None),
            ("TSB-SGD", "TSB"),
            ("BDT", None),
            ("BDT-AFR", "BDT"),
            ("BDT-PKM", "BDT"),
        ]:
            units[code] = Unit(code=code, name=f"Unit {code}", parent=units.get(parent or ""))
        objectives = {"S-01": Objective(code="S-01", title="Inform the Council")}
        objectives["ITU-D.1"] = Objective(code="ITU-D.1", title="Regulatory reform", parent=objectives["S-01"])
        objectives["ITU-T.1"] = Objective(code="ITU-T.1", title="Standards", parent=objectives["S-01"])
        sources = {
            "RB-MS": FundingSource(code="RB-MS", name="Member States", kind="assessed"),
            "TF-ICT": FundingSource(code="TF-ICT", name="Trust funds", kind="trust_fund"),
        }
        s.add_all([*units.values(), *objectives.values(), *sources.values()])
        s.add_all(
            [
                StandardCost(grade="P-3", year=2006, annual_cost_centimes=P3_2006),
                StandardCost(grade="P-3", year=2007, annual_cost_centimes=183_600_00),
            ]
        )
        activities = {
            code: Activity(code=code, title=f"Activity {code}", unit=units[unit], objective=objectives[objective])
            for code, (unit, objective) in ACTIVITIES.items()
        }
        s.add_all(activities.values())
        old = PlanVersion(name=OLD, status="approved", first_year=2004, last_year=2005)
        proposed = PlanVersion(name="2006-2007 proposed", status="superseded", first_year=2006, last_year=2007)
        approved = PlanVersion(name=APPROVED, status="approved", based_on=proposed, first_year=2006, last_year=2007)
        draft = PlanVersion(name=DRAFT, status="draft", based_on=approved, first_year=2006, last_year=2007)
        bare = PlanVersion(name=BARE, status="draft", first_year=2006, last_year=2007)
        s.add_all([old, proposed, approved, draft, bare])
        s.flush()
        s.add(
            BudgetLine(
                version_id=old.id,
                unit_id=units["BDT-AFR"].id,
                objective_id=objectives["ITU-D.1"].id,
                year=2005,
                category="travel",
                amount_centimes=8_000_00,
            )
        )
        for version in (proposed, approved, draft, bare):
            for code, activity in activities.items():
                if code == "BDT-AFR-002":
                    continue
                extra = 5_000_00 if version is draft and code == "BDT-AFR-001" else 0
                for category, grade, months, amount in (
                    ("travel", None, None, 10_000_00 + extra),
                    ("staff", "P-3", 600, 90_000_00),
                ):
                    s.add(
                        CostLine(
                            version_id=version.id,
                            activity_id=activity.id,
                            year=2006,
                            category=category,
                            grade=grade,
                            work_months_e2=months,
                            amount_centimes=amount,
                            funding_source_id=sources["RB-MS"].id,
                        )
                    )
                    s.add(
                        BudgetLine(
                            version_id=version.id,
                            unit_id=activity.unit.id,
                            objective_id=activity.objective.id,
                            year=2006,
                            category=category,
                            amount_centimes=amount,
                        )
                    )
        for username, (role, codes, limit) in USERS.items():
            user = User(username=username, role=role, delegation_limit_centimes=None if limit is None else limit * 100)
            s.add(user)
            s.flush()
            s.add_all(UserUnit(user_id=user.id, unit_id=units[code].id) for code in codes)

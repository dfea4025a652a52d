"""The headline figures the apps show above a page (budget, actual, execution rate,
warnings ...): each is one report's column summed, its rows counted, or the ratio of
two of its columns' sums, so that anyone can check a card against
``itu-plan report NAME --format csv``. The widgets draw them; the arithmetic is here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

#: A headline ratio's places: four decimals (a percentage to two), as the reports print it.
RATIO_PLACES = Decimal("0.0001")


def total_of(values: Iterable[Decimal | None]) -> Decimal:
    """The sum of the values given (an empty cell counts for nothing)."""
    return sum((v for v in values if v is not None), Decimal(0))


def ratio_of_sums(numerators: Iterable[Decimal | None], denominators: Iterable[Decimal | None]) -> Decimal | None:
    """The sum of ``numerators`` over the sum of ``denominators``, to four decimals rounded
    half-even (not the mean of the rows' ratios); None when the denominators sum to 0."""
    top, bottom = total_of(numerators), total_of(denominators)
    return None if bottom == 0 else (top / bottom).quantize(RATIO_PLACES, ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Headline:
    """How a headline figure is computed from one report, so that anyone can check it
    against ``itu-plan report NAME --format csv``: keep the rows matching ``where``,
    then ``sum`` the ``column``, ``count`` the rows, or take the ``ratio`` of the
    sums of the two columns ``numerator/denominator`` (four decimals, half-even).

    ``label`` and ``note`` may name ``{as_of}``, the date the figure is counted at."""

    label: str
    report: str
    aggregate: str  # sum | count | ratio
    column: str = ""
    kind: str = "money"  # money | ratio | int
    where: Mapping[str, str] = field(default_factory=dict)
    note: str = ""
    #: "low" when a small value is good news (warnings), "high" when a large one is
    good: str = ""
    #: read against time: the card says the share of the period elapsed at as-of
    against_time: bool = False
    #: an actual to the as-of date set beside a plan for the whole period: the label
    #: says "to {as_of}" while the period runs, and the note the share of it elapsed
    to_date: bool = False

    def label_at(self, as_of: str, elapsed: Fraction | None) -> str:
        """The label as the card shows it at ``as_of`` (``"Actual balance to 2007-06-30"``
        while the period runs; the plain label once it has ended)."""
        label = self.label.format(as_of=as_of)
        return f"{label} to {as_of}" if self.to_date and (elapsed is None or elapsed < 1) else label

    def compute(self, frame: pd.DataFrame) -> Decimal | int | None:
        for column, value in self.where.items():
            frame = frame[frame[column].astype(str) == value]
        if self.aggregate == "count":
            return len(frame)
        if self.aggregate == "sum":
            total = total_of(frame[self.column])
            return total if self.kind != "int" else int(total)
        numerator, denominator = self.column.split("/")
        return ratio_of_sums(frame[numerator], frame[denominator])


#: The headline figures pages may show, by name.
HEADLINES: dict[str, Headline] = {
    "plan_cost": Headline("Planned cost", "plan-costs", "sum", "amount", note="cost lines of the version"),
    "budget": Headline("Budget", "budget-vs-actual", "sum", "budget", note="appropriations of the version"),
    "actual": Headline("Actual", "budget-vs-actual", "sum", "actual", note="expenditure booked", to_date=True),
    "variance": Headline("Unspent budget", "budget-vs-actual", "sum", "variance", note="budget minus actual"),
    "execution_rate": Headline(
        "Execution rate",
        "budget-vs-actual",
        "ratio",
        "actual/budget",
        "ratio",
        note="actual / budget",
        against_time=True,
    ),
    "warnings": Headline("Early warnings", "warnings", "count", kind="int", note="all severities", good="low"),
    "high_warnings": Headline(
        "High-severity warnings", "warnings", "count", kind="int", where={"severity": "high"}, good="low"
    ),
    "total_income": Headline(
        "Planned income",
        "financial-plan",
        "sum",
        "plan",
        where={"line": "total_income"},
        note="all sources, the reserve drawing apart",
    ),
    "income_received": Headline(
        "Income received",
        "financial-plan",
        "sum",
        "actual",
        where={"line": "total_income"},
        note="all sources",
        to_date=True,
    ),
    "expenditure": Headline(
        "Planned expenditure", "financial-plan", "sum", "plan", where={"line": "expenditure"}, note="cost lines"
    ),
    "expenditure_actual": Headline(
        "Actual expenditure",
        "financial-plan",
        "sum",
        "actual",
        where={"line": "expenditure"},
        note="expenditure booked",
        to_date=True,
    ),
    "balance": Headline(
        "Planned balance", "financial-plan", "sum", "plan", where={"line": "balance"}, note="income minus expenditure"
    ),
    "balance_actual": Headline(
        "Actual balance",
        "financial-plan",
        "sum",
        "actual",
        where={"line": "balance"},
        note="received minus spent",
        to_date=True,
    ),
    "net_balance": Headline(
        "Planned net balance",
        "financial-plan",
        "sum",
        "plan",
        where={"line": "net_balance"},
        note="after the reserve drawing",
    ),
    "assessed": Headline(
        "Assessed contributions",
        "financial-plan",
        "sum",
        "plan",
        where={"line": "assessed_contributions"},
        note="Member States' contributory units",
    ),
    "assessed_received": Headline(
        "Assessed contributions received",
        "financial-plan",
        "sum",
        "actual",
        where={"line": "assessed_contributions"},
        note="received",
        to_date=True,
    ),
    "cr_income": Headline("Cost-recovery income", "cost-recovery", "sum", "income", note="Resolution 91 products"),
    "cr_full_cost": Headline("Full cost", "cost-recovery", "sum", "full_cost", note="direct + indirect"),
    "cr_net": Headline("Net result", "cost-recovery", "sum", "net", note="income minus full cost"),
    "recovery_rate": Headline(
        "Recovery rate", "cost-recovery", "ratio", "income/full_cost", "ratio", note="income / full cost"
    ),
    "recruitments": Headline(
        "Recruitments completed",
        "recruitment",
        "sum",
        "completed",
        "int",
        note="entry on duty on or before {as_of}",
    ),
    "women_share": Headline(
        "Women (P and above)",
        "representation",
        "sum",
        "share",
        "ratio",
        where={"dimension": "gender", "category": "F"},
        note="share of staff at P-1 and above in service on {as_of}",
    ),
    "recruitment_delays": Headline(
        "Delayed recruitments",
        "warnings",
        "count",
        kind="int",
        where={"rule": "RECRUITMENT_DELAY"},
        note="open at {as_of}, beyond the target",
        good="low",
    ),
    "agreements": Headline(
        "Agreements", "agreements", "count", kind="int", note="in the depositary register on {as_of}"
    ),
    "agreements_in_force": Headline(
        "In force",
        "agreements",
        "count",
        kind="int",
        where={"status": "in force"},
        note="agreements in force on {as_of}",
    ),
}


#: The headline figures whose sign is good or bad news.
BALANCES = ("balance", "balance_actual", "net_balance")

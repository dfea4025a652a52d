"""The deterministic demo workspace: the ITU secretariat's 2004-2007 plan, invented
but realistic, seeded so that two runs give identical content.

Everything is generated in memory with one ``random.Random(seed)`` and written
with :mod:`itu_plan.bulk` in a single transaction, with explicit ids in a fixed
order. The plan holds together the way a finance officer would check it:

- every activity sits under an objective of its own Sector (ITU-R for BR, ITU-T
  for TSB, ITU-D for BDT, the secretariat's for GS); each Sector's objectives sit
  below its root objective (``ITU-R``, ``ITU-T``, ``ITU-D``), so costs roll up
  through the hierarchy to the Sector;
- two approved biennia, 2004-2005 and 2006-2007, each with its cost lines, budget
  lines (the cost lines summed) and income budget, and with actuals, income and
  contributions received (a little below what was assessed: arrears) in every
  year to the as-of date 2007-06-30, so that the previous biennium can be
  compared with the current one;
- no cost lines on cancelled activities, and actuals only on activities running
  on their date, except exactly what :data:`PLANTED_QUALITY_ISSUES` lists;
- staff who leave (and the people recruited to replace them), so that the
  workforce at an earlier as-of date differs from today's;
- KPIs the workspace can compute carry a formula and targets, never measurements.

Each early-warning rule fires a few times, for a reason written down here
(:data:`PLANTED_SPENDING`, :data:`PLANNED_BALANCE`, :data:`KPI_OFF_TRACK`,
:data:`PRODUCT_RECOVERY`, :data:`MISSING_OVERHEAD_RATES`, :data:`DELAYED_VACANCY_DAYS`).

``scale`` K adds activities and about 10,000 actuals per unit of scale.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, select

from itu_plan import audit, bulk, summaries
from itu_plan.access import require_admin
from itu_plan.errors import UsageError
from itu_plan.model import CATEGORIES, CONTENT_TABLES, ActualTotal, Base
from itu_plan.money import staff_cost

if TYPE_CHECKING:
    from itu_plan.workspace import Workspace

SEED = 2004
AS_OF = dt.date(2007, 6, 30)
YEARS = (2004, 2005, 2006, 2007)
ACTUALS_PER_SCALE = 10_000
#: Work-months of staff time planned on activities each year (about 650 staff).
STAFF_WORK_MONTHS = 7_800
MEMBER_STATE_UNIT_VALUE = 318_000_00  # centimes
SECTOR_MEMBER_UNIT_VALUE = MEMBER_STATE_UNIT_VALUE // 5
ASSOCIATE_UNIT_VALUE = 10_600_00

UNITS = [
    ("GS", "General Secretariat", None),
    ("BR", "Radiocommunication Bureau", None),
    ("TSB", "Telecommunication Standardization Bureau", None),
    ("BDT", "Telecommunication Development Bureau", None),
    ("GS-SPM", "Strategic Planning and Membership Department", "GS"),
    ("GS-FRM", "Financial Resources Management Department", "GS"),
    ("GS-HRM", "Human Resources Management Department", "GS"),
    ("GS-IS", "Information Services Department", "GS"),
    ("GS-CPD", "Conferences and Publications Department", "GS"),
    ("GS-TEL", "ITU TELECOM", "GS"),
    ("BR-SSD", "Space Services Department", "BR"),
    ("BR-TSD", "Terrestrial Services Department", "BR"),
    ("BR-SGD", "Study Groups Department", "BR"),
    ("BR-IAP", "Informatics, Administration and Publications Department", "BR"),
    ("TSB-SGD", "Study Groups Department", "TSB"),
    ("TSB-TPD", "Technical Policy Department", "TSB"),
    ("TSB-OAD", "Operations and Administration Department", "TSB"),
    ("BDT-PKM", "Policies and Knowledge Management Department", "BDT"),
    ("BDT-ISA", "Infrastructure, Services and e-Applications Department", "BDT"),
    ("BDT-PRJ", "Projects and Special Programmes Department", "BDT"),
    ("BDT-AFR", "Regional Office for Africa (Addis Ababa)", "BDT"),
    ("BDT-AMS", "Regional Office for the Americas (Brasilia)", "BDT"),
    ("BDT-ARB", "Regional Office for the Arab States (Cairo)", "BDT"),
    ("BDT-ASP", "Regional Office for Asia and the Pacific (Bangkok)", "BDT"),
]

SECRETARIAT_OBJECTIVES = [
    "Provide the Council with clear, accurate and transparent information",
    "Link costs to activities through operational plans, financial plans and budgets",
    "Account openly for the income and expenditure of cost-recovered products and services",
    "Identify the sources of funding of every activity",
    "Delegate responsibility and authority to the appropriate level",
    "Improve efficiency and cut costs",
    "Use new technologies and outsourcing where they pay",
    "Make the secretariat agile in its response to the membership",
    "Give the membership early information when objectives slip",
    "Reduce recruitment delays",
    "Raise the quality and skills of staff",
    "Keep staff geographically and gender balanced",
    "Develop mechanisms of cooperation with other organisations",
    "Promote the Union and its work",
    "Act as depositary of cooperative international arrangements",
]
#: Each Sector's root objective (code, title, bureau): the Sector's objectives sit below it,
#: as the secretariat's fifteen S-xx objectives are the General Secretariat's.
SECTOR_ROOTS = [
    ("ITU-R", "Radiocommunication Sector", "BR"),
    ("ITU-T", "Telecommunication Standardization Sector", "TSB"),
    ("ITU-D", "Telecommunication Development Sector", "BDT"),
]
#: The Sectors' objectives (code, title, parent, bureau), each below its Sector's root:
#: the leaves the bureaux' activities sit under.
SECTOR_OBJECTIVES = [
    ("ITU-R.1", "Efficient and equitable use of the spectrum and satellite orbits", "ITU-R", "BR"),
    ("ITU-R.2", "Timely processing of notices and filings for frequency assignments", "ITU-R", "BR"),
    ("ITU-R.3", "Radio Regulations and Recommendations kept current", "ITU-R", "BR"),
    ("ITU-T.1", "Timely, market-relevant international standards", "ITU-T", "TSB"),
    ("ITU-T.2", "Participation of developing countries in standardization", "ITU-T", "TSB"),
    ("ITU-T.3", "Numbering, naming and addressing resources managed well", "ITU-T", "TSB"),
    ("ITU-D.1", "Policy and regulatory reform in developing countries", "ITU-D", "BDT"),
    ("ITU-D.2", "Infrastructure and e-applications for development", "ITU-D", "BDT"),
    ("ITU-D.3", "Human capacity, least developed countries and emergency telecommunications", "ITU-D", "BDT"),
]
#: The prefix of the objectives each bureau's units work under (GS: the secretariat's).
SECTOR_OF = {"GS": "S-", "BR": "ITU-R.", "TSB": "ITU-T.", "BDT": "ITU-D."}

FUNDING_SOURCES = [
    ("RB-MS", "Member States' contributions (regular budget)", "assessed"),
    ("RB-SM", "Sector Members' contributions", "sector_members"),
    ("RB-AS", "Associates' contributions", "associates"),
    ("CR-SNF", "Satellite network filing fees", "cost_recovery"),
    ("CR-PUB", "Sales of publications", "cost_recovery"),
    ("CR-TEL", "ITU TELECOM events", "cost_recovery"),
    ("VC-GEN", "Voluntary contributions", "voluntary"),
    ("TF-ICT", "ICT development trust funds", "trust_fund"),
    ("RES", "Reserve Account", "reserve"),
    ("OTH", "Interest and miscellaneous income", "other"),
]
#: The contributions received, by funding source and the member type they come from.
CONTRIBUTION_SOURCES = {"member_state": "RB-MS", "sector_member": "RB-SM", "associate": "RB-AS"}
#: The share of a year's assessed contributions received in that year (the rest: arrears).
COLLECTION_RATE = {2004: 0.976, 2005: 0.971, 2006: 0.968, 2007: 0.975}
#: How the contributions of a year come in, month by month (most early in the year).
COLLECTION_MONTHS = (30, 20, 14, 8, 6, 5, 4, 3, 3, 3, 2, 2)

#: The income budget besides contributions and cost recovery, CHF a year, per biennium.
OTHER_INCOME_BUDGET = {
    (2004, 2005): {"VC-GEN": 1_800_000, "TF-ICT": 3_200_000, "OTH": 2_400_000},
    (2006, 2007): {"VC-GEN": 2_000_000, "TF-ICT": 3_600_000, "OTH": 2_200_000},
}
#: The planned balance (total income less expenditure), CHF, per approved version and year.
#: 2007 of the approved 2006-2007 plan spends 3.1 m more than it receives; Council approved
#: a drawing of 2.0 m on the Reserve Account, leaving 1.1 m to be found (FUNDING_GAP 2007).
PLANNED_BALANCE = {
    ("2004-2005 approved", 2004): 1_200_000,
    ("2004-2005 approved", 2005): 800_000,
    ("2006-2007 approved", 2006): 600_000,
    ("2006-2007 approved", 2007): -3_100_000,
}
#: Reserve drawings in the income budget of the 2006-2007 versions, CHF.
RESERVE_DRAWING = {2007: 2_000_000}
#: Drawn on the reserve before the as-of date (an advance on the 2007 drawing), CHF.
RESERVE_DRAWN = (dt.date(2007, 4, 30), 1_000_000)

#: Standard annual cost in CHF for 2004; later years add 2 % a year.
STANDARD_COST_2004 = {
    "G-1": 82_000, "G-2": 89_000, "G-3": 97_000, "G-4": 106_000, "G-5": 117_000,
    "G-6": 129_000, "G-7": 142_000, "P-1": 124_000, "P-2": 151_000, "P-3": 184_000,
    "P-4": 222_000, "P-5": 258_000, "D-1": 289_000, "D-2": 318_000,
    "ASG": 332_000, "DSG": 356_000, "SG": 398_000,
}  # fmt: skip
STAFF_GRADES = ["G-3", "G-4", "G-5", "G-6", "P-2", "P-3", "P-4", "P-5", "D-1"]
STAFF_GRADE_WEIGHTS = [6, 10, 12, 8, 6, 12, 12, 6, 2]

#: What each department does, and under which objective: a title always has one objective.
ACTIVITY_TEMPLATES = {
    "GS-SPM": [("Council and Plenipotentiary preparations", "S-01"),
               ("Operational plan and performance report", "S-02"),
               ("Early-warning reporting to the membership", "S-09"),
               ("Membership outreach and promotion", "S-14"),
               ("Cooperation with UN agencies", "S-13"),
               ("Depositary functions for cooperative arrangements", "S-15")],
    "GS-FRM": [("Financial statements and external audit follow-up", "S-01"),
               ("Cost accounting and cost attribution", "S-02"),
               ("Cost-recovery accounts (Resolution 91)", "S-03"),
               ("Funding sources and extrabudgetary resources", "S-04"),
               ("Delegation of financial authority", "S-05")],
    "GS-HRM": [("Recruitment campaign", "S-10"),
               ("Staff training and career development", "S-11"),
               ("Geographical and gender balance outreach", "S-12"),
               ("Delegation of authority in staff matters", "S-05")],
    "GS-IS": [("Information systems infrastructure", "S-07"),
              ("Electronic document handling", "S-07"),
              ("Service desk consolidation", "S-06")],
    "GS-CPD": [("Translation and document production", "S-06"),
               ("Conference services and interpretation", "S-06"),
               ("Publications on demand", "S-07"),
               ("Records management and archives", "S-06")],
    "GS-TEL": [("ITU TELECOM exhibition and forum", "S-14"),
               ("ITU TELECOM regional events", "S-14")],
    "BR-SSD": [("Processing of satellite network filings", "ITU-R.2"),
               ("Satellite coordination assistance", "ITU-R.1"),
               ("Space Radiocommunication Stations database", "ITU-R.2")],
    "BR-TSD": [("Examination of terrestrial notices", "ITU-R.2"),
               ("Regional Radiocommunication Conference RRC-06", "ITU-R.1"),
               ("Master International Frequency Register upkeep", "ITU-R.2"),
               ("Interference resolution assistance", "ITU-R.1")],
    "BR-SGD": [("Radiocommunication study group meetings", "ITU-R.3"),
               ("World Radiocommunication Conference WRC-07 preparations", "ITU-R.3"),
               ("World Radiocommunication Seminar", "ITU-R.1"),
               ("Radiocommunication Assembly preparations", "ITU-R.3")],
    "BR-IAP": [("Radio Regulations publication", "ITU-R.3"),
               ("Electronic notice submission software", "ITU-R.2")],
    "TSB-SGD": [("Study group meetings and rapporteur work", "ITU-T.1"),
                ("Recommendations approval (AAP)", "ITU-T.1"),
                ("Standardization workshops in developing regions", "ITU-T.2")],
    "TSB-TPD": [("International numbering resources", "ITU-T.3"),
                ("Bridging the standardization gap", "ITU-T.2"),
                ("Telecommunication Standardization Advisory Group", "ITU-T.1")],
    "TSB-OAD": [("Interoperability events", "ITU-T.1"),
                ("Fellowships for developing-country delegates", "ITU-T.2"),
                ("Numbering database operations", "ITU-T.3")],
    "BDT-PKM": [("ICT statistics and indicators", "ITU-D.1"),
                ("Regulatory reform assistance", "ITU-D.1"),
                ("Telecommunication development finance", "ITU-D.1")],
    "BDT-ISA": [("Rural connectivity pilot", "ITU-D.2"),
                ("e-Government applications", "ITU-D.2"),
                ("Cybersecurity capacity building", "ITU-D.2")],
    "BDT-PRJ": [("Human capacity building (Centres of Excellence)", "ITU-D.3"),
                ("Least developed countries programme", "ITU-D.3"),
                ("Emergency telecommunications support", "ITU-D.3")],
}  # fmt: skip
REGIONAL_OFFICE_TEMPLATES = [
    ("Regulatory reform assistance", "ITU-D.1"),
    ("Emergency telecommunications support", "ITU-D.3"),
    ("Rural connectivity pilot", "ITU-D.2"),
    ("Regional development forum", "ITU-D.1"),
    ("Spectrum management assistance", "ITU-D.1"),
]
for _office in ("BDT-AFR", "BDT-AMS", "BDT-ARB", "BDT-ASP"):
    ACTIVITY_TEMPLATES[_office] = REGIONAL_OFFICE_TEMPLATES
NON_STAFF_CATEGORIES = [category for category in CATEGORIES if category != "staff"]

#: Activities whose years and status are fixed, so that the stories below always have
#: their activity: code -> (first year, last year, cancelled).
PINNED_ACTIVITIES = {
    "BDT-AFR-001": (2006, 2007, False),  # regulatory reform; edited in the apps' tests
    "BDT-AFR-002": (2006, 2007, False),  # emergency telecommunications: overspent
    "BR-TSD-002": (2004, 2006, False),  # RRC-06: overspent in 2006, a late invoice in 2007
    "BR-TSD-004": (2006, 2007, False),  # interference resolution: keeps ITU-R.1 budgeted in 2007
    "BR-SGD-002": (2006, 2007, False),  # WRC-07 preparations: spending fast in 2007
    "GS-CPD-001": (2004, 2005, False),  # documents for WSIS Tunis: overspent in 2005
    "TSB-OAD-001": (2006, 2006, True),  # an interoperability event cancelled after booking
    "TSB-OAD-004": (2006, 2007, False),  # the next interoperability events go ahead
}
#: The share of a year's cost lines spent to the as-of date, where it is not the usual
#: under-spending: two overspends in 2006 (OVERSPEND; spent in the first eight months, so
#: that PROJECTED_OVERSPEND saw them coming), two lines spending fast in the first half of
#: 2007 (PROJECTED_OVERSPEND), one overspend in 2005 (previous biennium). Every other line
#: spends evenly, in arrears, below its budget's pace, so that at each quarter end (with the
#: approved version covering its year) these are all the spending warnings there are:
#:
#: - 2004: none;
#: - 2005-03-31, 2005-06-30: PROJECTED_OVERSPEND GS-CPD/S-06/2005;
#: - 2005-09-30, 2005-12-31: OVERSPEND GS-CPD/S-06/2005;
#: - 2006-03-31, 2006-06-30: PROJECTED_OVERSPEND BDT-AFR/ITU-D.3/2006 and BR-TSD/ITU-R.1/2006;
#: - 2006-09-30 to 2007-06-30: OVERSPEND BDT-AFR/ITU-D.3/2006 and BR-TSD/ITU-R.1/2006;
#: - 2007-03-31, 2007-06-30: also PROJECTED_OVERSPEND BDT-AFR/ITU-D.3/2007 and BR-SGD/ITU-R.3/2007.
PLANTED_SPENDING = {
    ("BDT-AFR", "ITU-D.3", 2006): 1.15,  # emergency support after the 2006 floods
    ("BR-TSD", "ITU-R.1", 2006): 1.04,  # RRC-06 ran over
    ("BR-SGD", "ITU-R.3", 2007): 0.64,  # WRC-07 preparations, front-loaded
    ("BDT-AFR", "ITU-D.3", 2007): 0.60,  # the same emergency line, again
    ("GS-CPD", "S-06", 2005): 1.06,  # WSIS Tunis documents
}
#: How fast each unit spends its cost lines in a biennium (the rest is under-spent): the
#: execution rate fell in 2006-2007, so the computed KPI-EXEC is off track for 2006.
UNIT_PACE = {(2004, 2005): (0.93, 0.985), (2006, 2007): (0.88, 0.97)}

PRODUCTS = [
    # code, name, unit, kind, funding source of its income
    ("SNF-API", "Satellite network filings: advance publication", "BR-SSD", "satellite_filing", "CR-SNF"),
    ("SNF-COORD", "Satellite network filings: coordination requests", "BR-SSD", "satellite_filing", "CR-SNF"),
    ("SNF-NOTIF", "Satellite network filings: notification", "BR-SSD", "satellite_filing", "CR-SNF"),
    ("PUB-RR", "Radio Regulations (print and electronic)", "BR-IAP", "publication", "CR-PUB"),
    ("PUB-REC-T", "ITU-T Recommendations (sales)", "TSB-OAD", "publication", "CR-PUB"),
    ("PUB-STAT", "World Telecommunication Indicators database", "BDT-PKM", "database_access", "CR-PUB"),
    ("TEL-WORLD", "ITU TELECOM WORLD", "GS-TEL", "event", "CR-TEL"),
    ("TEL-AFRICA", "ITU TELECOM AFRICA", "GS-TEL", "event", "CR-TEL"),
    ("UIFN", "Universal International Freephone Numbers", "TSB-TPD", "numbering", "CR-PUB"),
    ("TRAIN-CoE", "Centres of Excellence training courses", "BDT-ISA", "training", "CR-PUB"),
]
#: Income as a share of full cost, for the product-years that do not recover exactly
#: their cost (COST_RECOVERY_DEFICIT below 1, COST_RECOVERY_SURPLUS above).
PRODUCT_RECOVERY = {
    ("PUB-RR", 2004): 1.12,  # the 2004 edition of the Radio Regulations sold well
    ("TEL-AFRICA", 2005): 0.82,
    ("SNF-COORD", 2006): 0.86,  # coordination requests cost more than their fees
    ("SNF-COORD", 2007): 0.84,
    ("PUB-REC-T", 2006): 1.09,
    ("TEL-WORLD", 2006): 1.07,
    ("TRAIN-CoE", 2007): 0.88,
}
#: Overhead rate in percent of direct cost per unit in 2004 (plus one point a year).
OVERHEAD_PERCENT = {
    "BR-SSD": 18,
    "BR-IAP": 22,
    "TSB-OAD": 20,
    "TSB-TPD": 15,
    "BDT-PKM": 12,
    "BDT-ISA": 10,
    "GS-TEL": 25,
}
#: Unit-years with no overhead rate set (MISSING_OVERHEAD_RATE: TRAIN-CoE in 2007).
MISSING_OVERHEAD_RATES = {("BDT-ISA", 2007)}

KPIS = [
    # code, objective, name, measure, direction, baseline, targets 2004..2007, formula
    ("KPI-SNF-TIME", "ITU-R.2", "Months to process a satellite coordination request", "number", "down", 14.0,
     (12.0, 10.0, 8.0, 6.0), None),
    ("KPI-BACKLOG", "ITU-R.2", "Satellite filings in the backlog", "number", "down", 1400, (1200, 900, 600, 300),
     None),
    ("KPI-AAP", "ITU-T.1", "Share of Recommendations approved under AAP", "percentage", "up", 70.0,
     (75.0, 80.0, 85.0, 90.0), None),
    ("KPI-RECS", "ITU-T.1", "Recommendations approved", "number", "up", 180, (190, 200, 210, 220), None),
    ("KPI-DEVCO", "ITU-T.2", "Share of study-group delegates from developing countries", "percentage",
     "up", 22.0, (24.0, 26.0, 28.0, 30.0), None),
    ("KPI-REG", "ITU-D.1", "Countries with an independent regulator", "number", "up", 110, (118, 126, 134, 142),
     None),
    ("KPI-TRAINED", "ITU-D.3", "Professionals trained by Centres of Excellence", "number", "up", 3000,
     (3500, 4000, 4500, 5000), None),
    ("KPI-EXEC", "S-02", "Budget execution rate", "percentage", "up", 92.0, (93.0, 94.0, 95.0, 96.0),
     "execution_rate"),
    ("KPI-COUNCIL", "S-01", "Council documents published six weeks ahead", "percentage", "up", 60.0,
     (70.0, 80.0, 90.0, 95.0), None),
    ("KPI-COSTREC", "S-03", "Share of the full cost of cost-recovered products recovered", "percentage", "up",
     95.0, (96.0, 97.0, 98.0, 99.0), "cost_recovery_rate"),
    ("KPI-RECRUIT", "S-10", "Mean days from vacancy notice to entry on duty", "number", "down", 270,
     (260, 245, 225, 195), "recruitment_days"),
    ("KPI-WOMEN-P", "S-12", "Share of women at grade P-1 and above", "percentage", "up", 32.0,
     (33.0, 34.0, 36.0, 38.0), "women_share"),
    ("KPI-DEPOSIT", "S-15", "Depositary notifications issued within 30 days", "percentage", "up", 75.0,
     (80.0, 85.0, 90.0, 95.0), None),
]  # fmt: skip
#: Measured KPIs whose year-end value misses the year's target (KPI_OFF_TRACK for that year
#: once it has ended); every other year-end value meets its target.
KPI_OFF_TRACK = {("KPI-SNF-TIME", 2006), ("KPI-AAP", 2005)}

#: Days since the notice of the recruitments still open at the as-of date and late
#: (RECRUITMENT_DELAY, target 120 days); the other open recruitments are recent.
DELAYED_VACANCY_DAYS = (138, 167, 204, 251, 322)
#: Mean days from notice to entry on duty of the recruitments noticed in a year: they
#: get faster, but those open in the first half of 2006 were still late at 2006-06-30.
RECRUITMENT_DAYS = {2004: 255, 2005: 225, 2006: 190, 2007: 160}


@dataclass(frozen=True)
class PlantedIssue:
    """A finding the data-quality report is meant to show on the demo, by business key."""

    kind: str
    key: str
    detail: str


#: Exactly the data-quality findings the demo plants; nothing else in it is a finding.
PLANTED_QUALITY_ISSUES = (
    PlantedIssue("actual_on_cancelled_activity", "FIN-2006-CXL-0001",
                 "a venue deposit of CHF 18,450.00 paid on 2006-03-14 for TSB-OAD-001, cancelled"),
    PlantedIssue("actual_on_cancelled_activity", "FIN-2006-CXL-0002",
                 "travel of CHF 6,200.00 paid on 2006-04-03 for TSB-OAD-001, cancelled"),
    PlantedIssue("actual_outside_activity_dates", "FIN-2007-LATE-0001",
                 "an invoice of CHF 12,400.00 paid on 2007-02-12 for BR-TSD-002, which ended on 2006-12-31"),
    PlantedIssue("product_without_overhead_rate", "TRAIN-CoE/2007",
                 "BDT-ISA has no overhead rate for 2007, so TRAIN-CoE's indirect cost shows as 0"),
    PlantedIssue("budget_differs_from_costs", "2004-2005 approved",
                 "the 2005 budget holds CHF 500,000.00 for GS-SPM/S-01 (other) that no cost line explains"),
)  # fmt: skip
#: The planted actuals: reference, date, activity, category, CHF.
PLANTED_ACTUALS = [
    ("FIN-2006-CXL-0001", dt.date(2006, 3, 14), "TSB-OAD-001", "meetings", 18_450),
    ("FIN-2006-CXL-0002", dt.date(2006, 4, 3), "TSB-OAD-001", "travel", 6_200),
    ("FIN-2007-LATE-0001", dt.date(2007, 2, 12), "BR-TSD-002", "contractual", 12_400),
]
#: The budget line without cost lines: version, unit, objective, year, category, CHF.
UNCOSTED_BUDGET = ("2004-2005 approved", "GS-SPM", "S-01", 2005, "other", 500_000)

AGREEMENTS = [
    ("AGR-HQ-1971", "Headquarters Agreement between the Swiss Federal Council and the ITU",
     "headquarters agreement", "Switzerland; ITU", "1971-09-22", "1971-09-22", "in force"),
    ("AGR-GMPCS-1997", "Memorandum of Understanding on Global Mobile Personal Communications by Satellite",
     "memorandum of understanding", "Administrations and operators (open)", "1997-02-21", "1997-02-21",
     "in force"),
    ("AGR-TAMPERE-1998", "Tampere Convention on the Provision of Telecommunication Resources for "
     "Disaster Mitigation and Relief Operations", "convention", "States (open)", "1998-06-18", "2005-01-08",
     "in force"),
    ("AGR-GMPCS-ARR-1998", "Arrangements implementing the GMPCS-MoU", "arrangement",
     "GMPCS-MoU signatories", "1998-02-20", "1998-02-20", "in force"),
    ("AGR-WMO-2003", "Cooperation agreement with the World Meteorological Organization", "cooperation agreement",
     "ITU; WMO", "2003-05-06", "2003-05-06", "in force"),
    ("AGR-UPU-2004", "Memorandum of Understanding with the Universal Postal Union", "memorandum of understanding",
     "ITU; UPU", "2004-03-11", "2004-03-11", "in force"),
    ("AGR-WSIS-2005", "Host country agreement for the second phase of WSIS (Tunis)", "host country agreement",
     "Tunisia; ITU", "2004-11-23", "2004-11-23", "expired"),
    ("AGR-RRC06-2006", "Regional Agreement GE06 (digital terrestrial broadcasting)", "regional agreement",
     "Region 1 States and Iran", "2006-06-16", None, "open for signature"),
    ("AGR-TEL-HK-2006", "Host agreement for ITU TELECOM WORLD 2006 (Hong Kong, China)", "host country agreement",
     "China; ITU", "2005-07-01", "2005-07-01", "expired"),
    ("AGR-ETSI-2006", "Memorandum of Understanding with ETSI on standards cooperation",
     "memorandum of understanding", "ITU; ETSI", "2006-10-12", "2006-10-12", "in force"),
    ("AGR-CITEL-2007", "Cooperation agreement with CITEL", "cooperation agreement", "ITU; CITEL",
     "2007-02-14", None, "signed"),
    ("AGR-ATU-2007", "Cooperation agreement with the African Telecommunications Union",
     "cooperation agreement", "ITU; ATU", None, None, "under negotiation"),
]  # fmt: skip

SECTOR_MEMBER_BRANDS = [
    "Alcatel", "Ericsson", "Nokia", "Siemens", "Motorola", "NEC", "Fujitsu", "Huawei Technologies",
    "ZTE Corporation", "Cisco Systems", "Intel", "Qualcomm", "Microsoft", "Sony", "Samsung Electronics",
    "LG Electronics", "Nortel Networks", "Lucent Technologies", "Intelsat", "Inmarsat", "Eutelsat", "SES Global",
    "Iridium", "Globalstar", "Thales Alenia Space", "EADS Astrium", "Orange", "Vodafone", "Telefonica",
    "Deutsche Telekom", "BT Group", "France Telecom", "NTT", "KDDI", "China Telecom", "China Mobile",
    "Telstra", "Swisscom", "Telenor", "TeliaSonera", "KPN", "Belgacom", "Portugal Telecom", "Telecom Italia",
    "Verizon", "AT&T", "Sprint", "Rogers", "Bell Canada", "Telmex", "Oi", "MTN Group", "Orascom Telecom",
    "Etisalat", "Saudi Telecom", "Maroc Telecom", "Safaricom", "Bharti Airtel", "Reliance", "Singtel",
]  # fmt: skip
SECTOR_MEMBER_KINDS = [
    "Telecom",
    "Mobile",
    "Broadcasting Corporation",
    "Satellite Systems",
    "Networks",
]
SECTOR_MEMBER_UNITS = [(5000, 10), (10000, 30), (20000, 15), (30000, 6), (50000, 5), (100000, 2)]

USERS = [
    # username, role, units, delegation limit in CHF
    ("admin", "admin", "", None),
    ("manager.bdt", "manager", "BDT", 500_000),
    ("manager.br", "manager", "BR", 250_000),
    ("planner.tsb", "planner", "TSB", None),
    ("planner.bdt", "planner", "BDT", None),
    ("reviewer", "reviewer", "", None),
    ("auditor", "reviewer", "", None),
]

VERSIONS = [
    # name, status, based_on, years
    ("2004-2005 approved", "approved", None, (2004, 2005)),
    ("2006-2007 proposed", "superseded", "2004-2005 approved", (2006, 2007)),
    ("2006-2007 approved", "approved", "2006-2007 proposed", (2006, 2007)),
    ("2006-2007 draft", "draft", "2006-2007 approved", (2006, 2007)),
]
#: The version whose cost lines the actuals of a year execute.
EXECUTED_VERSION = {2004: "2004-2005 approved", 2005: "2004-2005 approved",
                    2006: "2006-2007 approved", 2007: "2006-2007 approved"}  # fmt: skip


@dataclass
class Rows:
    """The generated rows of one table, in insertion order, with their columns."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, *values: Any) -> int:
        self.rows.append((len(self.rows) + 1, *values))
        return len(self.rows)


@dataclass(frozen=True)
class ActivityInfo:
    """An activity as the generator keeps it, to cost it and to spend on it."""

    id: int
    code: str
    unit: str
    objective: str
    first: int
    last: int
    start: dt.date
    end: dt.date
    cancelled: bool

    def window(self, year: int) -> tuple[dt.date, dt.date]:
        """The days of ``year`` on which the activity runs (first > last when none)."""
        return max(self.start, dt.date(year, 1, 1)), min(self.end, dt.date(year, 12, 31))


def _member_states() -> list[dict[str, str]]:
    text = resources.files("itu_plan").joinpath("data/member_states.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def _e4(units: str) -> int:
    whole, _, frac = units.partition(".")
    return int(whole) * 10_000 + int((frac + "0000")[:4])


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """``total`` centimes split into ``parts`` random positive-ish parts that sum exactly."""
    if parts <= 1:
        return [total]
    weights = [rng.random() + 0.2 for _ in range(parts)]
    scale = sum(weights)
    amounts = [int(total * w / scale) for w in weights]
    amounts[-1] += total - sum(amounts)
    return amounts


def _instalments(rng: random.Random, total: int, parts: int) -> list[int]:
    """``total`` centimes split into ``parts`` near-equal parts (within 3 %) that sum exactly."""
    if parts <= 1:
        return [total]
    weights = [rng.uniform(0.97, 1.03) for _ in range(parts)]
    scale = sum(weights)
    amounts = [int(total * w / scale) for w in weights]
    amounts[-1] += total - sum(amounts)
    return amounts


def _date_in(rng: random.Random, year: int) -> dt.date:
    """A day of ``year``, any day (callers drop what falls after the as-of date)."""
    start = dt.date(year, 1, 1)
    return start + dt.timedelta(days=rng.randrange((dt.date(year, 12, 31) - start).days + 1))


def _days(first: dt.date, last: dt.date) -> int:
    return (last - first).days + 1


class DemoBuilder:
    """Generates the demo tables in memory; :func:`write_demo` writes them."""

    def __init__(self, *, seed: int = SEED, scale: int = 1, username: str = "local") -> None:
        if scale < 1:
            raise ValueError("scale must be at least 1")
        self.seed = seed
        self.rng = random.Random(seed)
        self.scale = scale
        self.username = username
        self.tables: dict[str, Rows] = {}
        self.ids: dict[str, dict[str, int]] = defaultdict(dict)

    def table(self, name: str, *columns: str) -> Rows:
        rows = self.tables[name] = Rows(("id", *columns))
        return rows

    def build(self) -> dict[str, Rows]:
        steps = [
            self._reference, self._members, self._activities, self._cost_recovery, self._plans,
            self._actuals, self._income, self._kpis, self._human_resources, self._agreements_and_users,
        ]  # fmt: skip
        for step in steps:
            # each step draws from its own stream: changing one leaves the others' data as it was
            self.rng = random.Random(f"{self.seed}:{step.__name__}")
            step()
        return self.tables

    # -- reference data -----------------------------------------------------------

    def _reference(self) -> None:
        units = self.table("units", "code", "name", "parent_id", "row_version")
        for code, name, parent in UNITS:
            self.ids["unit"][code] = units.add(code, name, self.ids["unit"].get(parent or ""), 1)
        objectives = self.table("objectives", "code", "title", "parent_id", "row_version")
        for n, title in enumerate(SECRETARIAT_OBJECTIVES, start=1):
            code = f"S-{n:02d}"
            self.ids["objective"][code] = objectives.add(code, title, None, 1)
        for root, title, _bureau in SECTOR_ROOTS:
            self.ids["objective"][root] = objectives.add(root, title, None, 1)
            for code, title, parent, _bureau in SECTOR_OBJECTIVES:
                if parent == root:
                    self.ids["objective"][code] = objectives.add(code, title, self.ids["objective"][root], 1)
        sources = self.table("funding_sources", "code", "name", "kind", "row_version")
        for code, name, kind in FUNDING_SOURCES:
            self.ids["source"][code] = sources.add(code, name, kind, 1)
        costs = self.table("standard_costs", "grade", "year", "annual_cost_centimes", "row_version")
        self.standard_cost: dict[tuple[str, int], int] = {}
        for grade, base in STANDARD_COST_2004.items():
            for year in YEARS:
                chf = round(base * 1.02 ** (year - 2004), -2)
                self.standard_cost[grade, year] = int(chf) * 100
                costs.add(grade, year, self.standard_cost[grade, year], 1)
        values = self.table("unit_values", "year", "member_type", "value_centimes", "row_version")
        for year in YEARS:
            values.add(year, "member_state", MEMBER_STATE_UNIT_VALUE, 1)
            values.add(year, "sector_member", SECTOR_MEMBER_UNIT_VALUE, 1)
            values.add(year, "associate", ASSOCIATE_UNIT_VALUE, 1)

    def _members(self) -> None:
        rng = self.rng
        members = self.table("members", "code", "name", "type", "region", "units_e4", "row_version")
        states = _member_states()
        self.state_codes: list[str] = []
        self.state_region: dict[str, str] = {}
        units_e4 = {"member_state": 0, "sector_member": 0, "associate": 0}
        for state in states:
            e4 = _e4(state["units"])
            units_e4["member_state"] += e4
            self.ids["member"][state["code"]] = members.add(
                state["code"], state["name"], "member_state", state["region"], e4, 1
            )
            self.state_codes.append(state["code"])
            self.state_region[state["code"]] = state["region"]
        names = [state["name"] for state in states]
        choices, weights = zip(*SECTOR_MEMBER_UNITS, strict=True)
        for n in range(1, 281):
            if n <= len(SECTOR_MEMBER_BRANDS):
                name = SECTOR_MEMBER_BRANDS[n - 1]
            else:
                name = f"{rng.choice(names)} {rng.choice(SECTOR_MEMBER_KINDS)} ({n})"
            e4 = rng.choices(choices, weights)[0]
            units_e4["sector_member"] += e4
            members.add(f"SM-{n:04d}", name, "sector_member", None, e4, 1)
        for n in range(1, 121):
            name = f"{rng.choice(names)} {rng.choice(['Research Institute', 'Operator', 'Regulatory Forum', 'Consultancy'])} ({n})"
            units_e4["associate"] += 10_000
            members.add(f"AS-{n:04d}", name, "associate", None, 10_000, 1)
        for n in range(1, 21):
            members.add(f"AC-{n:04d}", f"University of {rng.choice(names)} ({n})", "academia", None, None, 1)
        value = {
            "member_state": MEMBER_STATE_UNIT_VALUE,
            "sector_member": SECTOR_MEMBER_UNIT_VALUE,
            "associate": ASSOCIATE_UNIT_VALUE,
        }
        # contributions are whole centimes here: every units_e4 is a multiple of 625
        self.contributions = {kind: units_e4[kind] * value[kind] // 10_000 for kind in value}

    def _activities(self) -> None:
        """Each department works through its templates in turn; the objective comes with
        the title. Pinned activities have fixed years so that the planted stories exist
        at every scale."""
        rng = self.rng
        activities = self.table(
            "activities", "code", "title", "objective_id", "unit_id", "start_date", "end_date",
            "status", "owner", "row_version",
        )  # fmt: skip
        departments = [code for code, _n, parent in UNITS if parent]
        count = 300 + 30 * (self.scale - 1)
        self.activities: list[ActivityInfo] = []
        self.activity_of: dict[str, ActivityInfo] = {}
        serial: dict[str, int] = defaultdict(int)
        for n in range(count):
            unit = departments[n % len(departments)]
            templates = ACTIVITY_TEMPLATES[unit]
            template, objective = templates[serial[unit] % len(templates)]
            serial[unit] += 1
            code = f"{unit}-{serial[unit]:03d}"
            first = rng.choice(YEARS[:3]) if rng.random() < 0.3 else (2004 if n % 2 else 2006)
            last = min(2007, first + rng.choice((1, 1, 3)))
            cancelled = rng.random() < 0.03
            start = dt.date(first, rng.randint(1, 3), 1)
            if code in PINNED_ACTIVITIES:
                first, last, cancelled = PINNED_ACTIVITIES[code]
                start = dt.date(first, 1, 1)
            end = dt.date(last, 12, 31)
            status = "completed" if end < AS_OF else ("ongoing" if start <= AS_OF else "planned")
            if cancelled:
                status = "cancelled"
            title = f"{template} ({first})" if first == last else f"{template} ({first}-{last})"
            owner = rng.choice(("planner.tsb", "planner.bdt", "manager.br", "manager.bdt", None))
            activity_id = activities.add(
                code, title, self.ids["objective"][objective], self.ids["unit"][unit],
                start, end, status, owner, 1,
            )  # fmt: skip
            info = ActivityInfo(activity_id, code, unit, objective, first, last, start, end, cancelled)
            self.activities.append(info)
            self.activity_of[code] = info
        missing = set(PINNED_ACTIVITIES) - set(self.activity_of)
        if missing:
            raise RuntimeError(f"the demo lost its pinned activities {sorted(missing)}")

    # -- cost recovery ----------------------------------------------------------------------

    def _cost_recovery(self) -> None:
        """Products with direct costs and income in pairs of entries of the same date, so
        that a product recovers exactly its full cost at any as-of date unless
        :data:`PRODUCT_RECOVERY` says otherwise. Also the full-year income each funding
        source of kind cost_recovery can expect (the income budget's estimate)."""
        rng = self.rng
        products = self.table("products", "code", "name", "unit_id", "kind", "row_version")
        rates = self.table("overhead_rates", "unit_id", "year", "rate_e6", "row_version")
        for unit, percent in sorted(OVERHEAD_PERCENT.items()):
            for year in YEARS:
                if (unit, year) not in MISSING_OVERHEAD_RATES:
                    rates.add(self.ids["unit"][unit], year, (percent + (year - 2004)) * 10_000, 1)
        entries = self.table("cost_recovery", "reference", "date", "product_id", "type", "amount_centimes", "quantity")
        typical_direct = {"satellite_filing": 3_000_000, "publication": 1_500_000, "event": 6_000_000,
                          "database_access": 400_000, "numbering": 150_000, "training": 800_000}  # fmt: skip
        self.cr_expected: dict[tuple[int, str], int] = defaultdict(int)  # (year, source) -> centimes
        found: list[tuple[dt.date, int, str, int, int | None]] = []
        for code, name, unit, kind, source in PRODUCTS:
            product_id = products.add(code, name, self.ids["unit"][unit], kind, 1)
            for year in YEARS:
                if kind == "event" and (code == "TEL-AFRICA") == (year % 2 == 0):
                    continue  # WORLD in even years, AFRICA in odd ones
                percent = 0 if (unit, year) in MISSING_OVERHEAD_RATES else OVERHEAD_PERCENT[unit] + year - 2004
                direct_chf = int(typical_direct[kind] * rng.uniform(0.8, 1.2))
                self.cr_expected[year, source] += direct_chf * (100 + percent)  # centimes: CHF x percent
                recovery = PRODUCT_RECOVERY.get((code, year), 1.0)
                if kind == "event":  # an event: its costs and takings within a few weeks
                    opening = _date_in(rng, year)
                    dates = [opening + dt.timedelta(days=rng.randrange(30)) for _ in range(3)]
                else:
                    dates = [_date_in(rng, year) for _ in range(12)]
                pieces = _split(rng, direct_chf, len(dates))
                for date, piece in zip(dates, pieces, strict=True):
                    if date > AS_OF:
                        continue
                    full = piece * (100 + percent)  # centimes, exact
                    income = full if recovery == 1.0 else int(full * recovery) // 100 * 100
                    found.append((date, product_id, "direct_cost", piece * 100, None))
                    found.append((date, product_id, "income", income, rng.randint(1, 40)))
        found.sort(key=lambda e: (e[0], e[1], e[2]))
        for n, (date, product_id, type_, amount, quantity) in enumerate(found, start=1):
            entries.add(f"CR-{date.year}-{n:05d}", date, product_id, type_, amount, quantity)

    # -- plans ----------------------------------------------------------------------------

    def _income_budget(self, version: str, year: int) -> list[tuple[str, int]]:
        """(source, centimes) planned by ``version`` for ``year``, besides contributions."""
        biennium = next(years for name, _s, _b, years in VERSIONS if name == version)
        planned = [(source, round(self.cr_expected[year, source], -6)) for source in ("CR-SNF", "CR-PUB", "CR-TEL")]
        planned += [(source, chf * 100) for source, chf in OTHER_INCOME_BUDGET[biennium].items()]
        if biennium == (2006, 2007) and year in RESERVE_DRAWING:
            planned.append(("RES", RESERVE_DRAWING[year] * 100))
        return planned

    def _plans(self) -> None:
        """Versions with their income budget, cost lines and budget lines. Each approved
        version's expenditure is sized to its planned income less :data:`PLANNED_BALANCE`;
        budget lines are the cost lines summed, but for :data:`UNCOSTED_BUDGET`."""
        rng = self.rng
        versions = self.table(
            "plan_versions", "name", "status", "based_on_id", "first_year", "last_year", "row_version"
        )
        income_budget = self.table(
            "income_budget", "version_id", "year", "funding_source_id", "amount_centimes", "row_version"
        )
        planned_income: dict[tuple[str, int], int] = {}
        for name, status, based_on, years in VERSIONS:
            based = self.ids["version"].get(based_on or "")
            version_id = versions.add(name, status, based, min(years), max(years), 1)
            self.ids["version"][name] = version_id
            for year in years:
                planned = self._income_budget(name, year)
                for source, amount in planned:
                    income_budget.add(version_id, year, self.ids["source"][source], amount, 1)
                planned_income[name, year] = sum(self.contributions.values()) + sum(
                    amount for source, amount in planned if source != "RES"
                )
        regular = self.ids["source"]["RB-MS"]
        funding_choices = [
            (regular, 80), (self.ids["source"]["RB-SM"], 10), (self.ids["source"]["TF-ICT"], 5),
            (self.ids["source"]["VC-GEN"], 5),
        ]  # fmt: skip
        sources, source_weights = zip(*funding_choices, strict=True)
        self.lines: dict[str, list[list[Any]]] = {}  # [activity, year, category, grade, wm_e2, amount, source]
        for name in ("2004-2005 approved", "2006-2007 approved"):
            years = next(y for n, _s, _b, y in VERSIONS if n == name)
            lines: list[list[Any]] = []
            for activity in self.activities:
                if activity.cancelled:
                    continue  # a cancelled activity has no cost lines
                for year in years:
                    if not activity.first <= year <= activity.last:
                        continue
                    if activity.code == "BDT-AFR-001":
                        lines.append([activity.id, year, "staff", "P-3", rng.random() + 0.1, 0, regular])
                        lines.append([activity.id, year, "contractual", None, None, rng.random(), regular])
                        lines.append([activity.id, year, "travel", None, None, rng.random(), regular])
                        continue
                    grades = set(rng.choices(STAFF_GRADES, STAFF_GRADE_WEIGHTS, k=rng.choice((1, 1, 2))))
                    for grade in sorted(grades):
                        lines.append([activity.id, year, "staff", grade, rng.random() + 0.1, 0, regular])
                    for category in rng.sample(NON_STAFF_CATEGORIES, rng.randint(1, 3)):
                        source = rng.choices(sources, source_weights)[0]
                        lines.append([activity.id, year, category, None, None, rng.random(), source])
            for year in years:
                # the secretariat's work-months are fixed; more activities share them
                staff_lines = [line for line in lines if line[1] == year and line[2] == "staff"]
                weight_sum = sum(line[4] for line in staff_lines)
                for line in staff_lines:
                    line[4] = max(50, round(STAFF_WORK_MONTHS * 100 * line[4] / weight_sum / 50) * 50)
                    line[5] = staff_cost(line[4], self.standard_cost[line[3], year])
                staff = sum(line[5] for line in staff_lines)
                others = [line for line in lines if line[1] == year and line[2] != "staff"]
                target = planned_income[name, year] - PLANNED_BALANCE[name, year] * 100
                budget_left = target - staff
                if budget_left <= 0:
                    raise RuntimeError(f"demo staff costs exceed the {year} target; lower them")
                weight_sum = sum(line[5] for line in others)
                for line in others:
                    line[5] = int(budget_left * line[5] / weight_sum) // 100 * 100
                others[-1][5] += budget_left - sum(line[5] for line in others)
            self.lines[name] = lines
        # the proposal asked for 3 % more than Council approved, on every non-staff line
        self.lines["2006-2007 proposed"] = [
            [*line[:5], line[5] if line[2] == "staff" else line[5] * 103 // 100, line[6]]
            for line in self.lines["2006-2007 approved"]
        ]
        # the draft revises a few BDT activities (a change a BDT manager may approve)
        draft = [list(line) for line in self.lines["2006-2007 approved"]]
        by_id = {a.id: a for a in self.activities}
        revised = [line for line in draft if by_id[line[0]].unit.startswith("BDT-") and line[2] == "travel"][:5]
        for line in revised:
            line[5] += 5_000_00
        self.lines["2006-2007 draft"] = draft

        cost_lines = self.table(
            "cost_lines", "version_id", "activity_id", "year", "category", "grade", "work_months_e2",
            "amount_centimes", "funding_source_id", "row_version",
        )  # fmt: skip
        budget = self.table(
            "budget_lines", "version_id", "unit_id", "objective_id", "year", "category",
            "amount_centimes", "row_version",
        )  # fmt: skip
        keys = {a.id: (self.ids["unit"][a.unit], self.ids["objective"][a.objective]) for a in self.activities}
        for name, _status, _based, _years in VERSIONS:
            version_id = self.ids["version"][name]
            totals: dict[tuple[int, int, int, str], int] = defaultdict(int)
            for activity, year, category, grade, wm, amount, source in self.lines[name]:
                cost_lines.add(version_id, activity, year, category, grade, wm, amount, source, 1)
                unit, objective = keys[activity]
                totals[unit, objective, year, category] += amount
            if name == UNCOSTED_BUDGET[0]:
                _v, unit_code, objective_code, year, category, chf = UNCOSTED_BUDGET
                totals[self.ids["unit"][unit_code], self.ids["objective"][objective_code], year, category] += chf * 100
            for (unit, objective, year, category), amount in sorted(totals.items()):
                budget.add(version_id, unit, objective, year, category, amount, 1)
        budgeted = {(row[1], row[2], row[3], row[4]) for row in budget.rows}
        for unit_code, objective_code, year in PLANTED_SPENDING:
            version_id = self.ids["version"][EXECUTED_VERSION[year]]
            key = (version_id, self.ids["unit"][unit_code], self.ids["objective"][objective_code], year)
            if key not in budgeted:
                where = f"{unit_code}/{objective_code}/{year}"
                raise RuntimeError(f"the demo plants spending on {where}, which has no budget")

    # -- execution ------------------------------------------------------------------------

    def _actuals(self) -> None:
        """About ``10,000 x scale`` expenditure transactions executing the cost lines of
        the approved version of each year, each on its activity and on a day it runs:
        most lines under-spent and spent evenly through the year, a few over-spent or
        spending fast (:data:`PLANTED_SPENDING`), a few
        reversals, some without an activity; and the :data:`PLANTED_ACTUALS`."""
        rng = self.rng
        actuals = self.table(
            "actuals", "reference", "date", "unit_id", "activity_id", "objective_id", "category",
            "amount_centimes", "funding_source_id",
        )  # fmt: skip
        by_id = {a.id: a for a in self.activities}
        unit_pace = {
            (unit, biennium): rng.uniform(*bounds)
            for unit in sorted(self.ids["unit"])
            for biennium, bounds in sorted(UNIT_PACE.items())
        }
        groups = []  # (activity, year, category, source, first day, days, total, planted)
        for year in YEARS:
            biennium = (2004, 2005) if year <= 2005 else (2006, 2007)
            for activity_id, line_year, category, _grade, _wm, amount, source in self.lines[EXECUTED_VERSION[year]]:
                if line_year != year:
                    continue
                activity = by_id[activity_id]
                first, last = activity.window(year)
                elapsed = _days(first, min(last, AS_OF)) / _days(first, last) if first <= AS_OF else 0.0
                if elapsed <= 0:
                    continue
                planted = PLANTED_SPENDING.get((activity.unit, activity.objective, year))
                days = _days(first, min(last, AS_OF))
                if planted is None:
                    share = unit_pace[activity.unit, biennium] * rng.uniform(0.97, 1.02) * elapsed
                else:
                    share = planted
                    if planted > 1:  # an overspend comes from a crisis early in the year
                        days = days * 2 // 3
                groups.append((activity, year, category, source, first, days, int(amount * share), planted))
        grand = sum(g[6] for g in groups) or 1
        wanted = ACTUALS_PER_SCALE * self.scale
        rows = actuals.rows
        n = 0
        for activity, year, category, source, first, days, total, fast in groups:
            total = total // 100 * 100
            count = max(1, round(wanted * total / grand))
            unit = self.ids["unit"][activity.unit]
            objective = self.ids["objective"][activity.objective]
            ref_year = f"FIN-{year}-"
            for k, amount in enumerate(_instalments(rng, total, count)):
                n += 1
                # near-equal instalments over the days the line is spent on, the k-th of
                # count in the k-th count-th of them: paid in arrears (at its end, or up to a
                # week later) so that an ordinary line never runs ahead of its pace on any
                # date; a planted line spends in advance (at its start), as in a crisis
                due = k * days // count if fast else -(-(k + 1) * days // count) - 1
                date = first + dt.timedelta(days=min(days - 1, due + rng.randrange(8)))
                row: tuple[Any, ...]
                if rng.random() < 0.02:  # booked to the objective, not to an activity
                    row = (n, f"{ref_year}{n:07d}", date, unit, None, objective, category, amount, source)
                else:
                    row = (n, f"{ref_year}{n:07d}", date, unit, activity.id, None, category, amount, source)
                rows.append(row)
                if rng.random() < 0.004:  # a correction: posted, reversed, posted again
                    n += 1
                    rows.append((n, f"{ref_year}{n:07d}", *row[2:7], -amount, source))
                    n += 1
                    rows.append((n, f"{ref_year}{n:07d}", *row[2:]))
        for reference, date, code, category, chf in PLANTED_ACTUALS:
            activity = self.activity_of[code]
            n += 1
            rows.append(
                (n, reference, date, self.ids["unit"][activity.unit], activity.id, None, category, chf * 100,
                 self.ids["source"]["RB-MS"])
            )  # fmt: skip

    def _income(self) -> None:
        """Contributions received (each year's assessment less arrears, most of it early
        in the year), voluntary contributions, trust funds, interest and a drawing on the
        reserve: what the income budget planned, give or take, to the as-of date."""
        rng = self.rng
        income = self.table("income", "reference", "date", "funding_source_id", "amount_centimes")
        found = []
        weights = sum(COLLECTION_MONTHS)
        for year in YEARS:
            for kind, source in CONTRIBUTION_SOURCES.items():
                received = int(self.contributions[kind] * COLLECTION_RATE[year]) // 100 * 100
                for month, weight in enumerate(COLLECTION_MONTHS, start=1):
                    date = dt.date(year, month, rng.randint(5, 28))
                    if date <= AS_OF:
                        found.append((date, source, received * weight // weights // 100 * 100))
            biennium = (2004, 2005) if year <= 2005 else (2006, 2007)
            quarter_ends = [dt.date(year, 3, 31), dt.date(year, 6, 30), dt.date(year, 9, 30), dt.date(year, 12, 31)]
            for source, count in (("VC-GEN", 12), ("TF-ICT", 8), ("OTH", 4)):
                total = int(OTHER_INCOME_BUDGET[biennium][source] * rng.uniform(0.9, 1.08)) * 100
                dates = quarter_ends if source == "OTH" else [_date_in(rng, year) for _ in range(count)]
                for date, amount in zip(dates, _split(rng, total, count), strict=True):
                    if date <= AS_OF:  # interest (OTH) is credited at the end of each quarter
                        found.append((date, source, amount // 100 * 100))
        date, chf = RESERVE_DRAWN
        found.append((date, "RES", chf * 100))
        found.sort()
        for n, (date, source, amount) in enumerate(found, start=1):
            prefix = "CTB" if source in CONTRIBUTION_SOURCES.values() else "INC"
            income.add(f"{prefix}-{date.year}-{n:05d}", date, self.ids["source"][source], amount)

    # -- KPIs and human resources ----------------------------------------------------------

    def _kpis(self) -> None:
        """Targets for every KPI; measurements (quarterly, the last one at the year's end)
        only for those without a formula. Year-end values meet their target except
        :data:`KPI_OFF_TRACK`; values within a year are on the way there."""
        rng = self.rng
        kpis = self.table(
            "kpis", "code", "objective_id", "name", "measure", "direction", "baseline", "formula", "row_version"
        )
        targets = self.table("kpi_targets", "kpi_id", "year", "target", "row_version")
        measurements = self.table("measurements", "kpi_id", "date", "value", "row_version")
        quarters = [(3, 31), (6, 30), (9, 30), (12, 31)]
        for code, objective, name, measure, direction, baseline, yearly, formula in KPIS:
            kpi_id = kpis.add(
                code, self.ids["objective"][objective], name, measure, direction, float(baseline), formula, 1
            )
            for year, target in zip(YEARS, yearly, strict=True):
                targets.add(kpi_id, year, float(target), 1)
            if formula is not None:
                continue  # computed from the workspace: never typed in
            sign = 1 if direction == "up" else -1
            previous = float(baseline)
            for year, target in zip(YEARS, yearly, strict=True):
                step = abs(target - previous) or abs(target) * 0.05
                if (code, year) in KPI_OFF_TRACK:
                    year_end = target - sign * step * rng.uniform(0.3, 0.6)
                else:
                    year_end = target + sign * abs(target) * rng.uniform(0.0, 0.03)
                for month, day in quarters:
                    date = dt.date(year, month, day)
                    if date > AS_OF:
                        break
                    progress = month / 12
                    value = (
                        year_end if month == 12 else previous + (year_end - previous) * progress * rng.uniform(0.9, 1.1)
                    )
                    if measure == "percentage":
                        value = min(value, 100.0)
                    measurements.add(kpi_id, date, round(value, 1), 1)
                previous = year_end

    def _human_resources(self) -> None:
        """Posts, the staff on them and the recruitments that filled them. A recruited
        member of staff replaces a predecessor who left (``end_date``); vacant and frozen
        posts were left by someone too. Open recruitments are recent except
        :data:`DELAYED_VACANCY_DAYS`."""
        rng = self.rng
        posts = self.table("posts", "post_number", "grade", "unit_id", "funding_source_id", "status", "row_version")
        recruitments = self.table(
            "recruitments", "vacancy_id", "post_id", "notice_date", "closing_date", "selection_date",
            "eod_date", "row_version",
        )  # fmt: skip
        staff = self.table(
            "staff", "staff_id", "post_id", "grade", "gender", "nationality_id", "start_date", "end_date",
            "row_version",
        )  # fmt: skip
        grades = ["G-2", "G-3", "G-4", "G-5", "G-6", "G-7", "P-1", "P-2", "P-3", "P-4", "P-5", "D-1", "D-2"]
        weights = [2, 6, 10, 14, 10, 5, 1, 5, 12, 12, 7, 3, 1]
        departments = [code for code, _n, parent in UNITS if parent]
        # nationality weights: Western Europe over-represented, as in 2005
        region_weight = {"A": 1.0, "B": 3.2, "C": 0.9, "D": 0.9, "E": 1.0}
        state_weights = [region_weight[self.state_region[c]] for c in self.state_codes]
        regular = self.ids["source"]["RB-MS"]
        elected = [("SG", "GS"), ("DSG", "GS"), ("D-2", "BR"), ("D-2", "TSB"), ("D-2", "BDT")]
        posts_plan = [(g, u) for g, u in elected] + [
            (rng.choices(grades, weights)[0], departments[i % len(departments)]) for i in range(760)
        ]
        people: list[tuple[int | None, str, str, str, dt.date, dt.date | None]] = []
        openings: list[tuple[int, dt.date, dt.date | None, dt.date | None, dt.date | None]] = []

        def person(post_id: int | None, grade: str, start: dt.date, end: dt.date | None, female: float) -> None:
            gender = "F" if rng.random() < female else ("X" if rng.random() < 0.005 else "M")
            nationality = rng.choices(self.state_codes, state_weights)[0]
            people.append((post_id, grade, gender, nationality, start, end))

        def long_ago() -> dt.date:
            return dt.date(rng.randint(1978, 2001), rng.randint(1, 12), 1)

        delayed = list(DELAYED_VACANCY_DAYS)
        vacant_seen = 0
        for n_posts, (grade, unit) in enumerate(posts_plan, start=1):
            roll = rng.random()
            status = "filled" if roll < 0.86 else ("vacant" if roll < 0.97 else "frozen")
            if grade in ("SG", "DSG"):
                status = "filled"
            number = f"{unit.split('-')[0]}/{grade}/{n_posts:04d}"
            post_id = posts.add(number, grade, self.ids["unit"][unit], regular, status, 1)
            professional = not grade.startswith("G-")
            # women: fewer among those who leave, more among those recruited now
            before, now, new = (0.25, 0.36, 0.5) if professional else (0.6, 0.64, 0.62)
            if status == "filled" and grade not in ("SG", "DSG") and rng.random() < 0.17:
                notice = dt.date(2004, 1, 5) + dt.timedelta(days=rng.randrange(_days(dt.date(2004, 1, 5), AS_OF)))
                days = max(70, round(rng.gauss(RECRUITMENT_DAYS[notice.year], 30)))
                eod = notice + dt.timedelta(days=days)
                if eod > AS_OF:  # noticed too late to be filled by now: notice it earlier
                    notice = AS_OF - dt.timedelta(days=days + rng.randint(1, 60))
                    eod = notice + dt.timedelta(days=days)
                closing = notice + dt.timedelta(days=rng.choice((45, 60)))
                selection = max(closing, eod - dt.timedelta(days=rng.randint(25, 90)))
                openings.append((post_id, notice, closing, selection, eod))
                left = notice + dt.timedelta(days=rng.randint(-60, 60))
                person(post_id, grade, long_ago(), min(left, eod - dt.timedelta(days=1)), before)
                person(post_id, grade, eod, None, new)
            elif status == "filled":
                person(post_id, grade, long_ago(), None, now)
            elif status == "vacant":
                vacant_seen += 1
                if delayed and vacant_seen % 9 == 4:
                    age: int | None = delayed.pop(0)
                else:
                    age = rng.randint(12, 115) if vacant_seen % 3 else None  # None: not yet advertised
                if age is None:
                    person(post_id, grade, long_ago(), AS_OF - dt.timedelta(days=rng.randint(10, 200)), before)
                    continue
                notice = AS_OF - dt.timedelta(days=age)
                closing = notice + dt.timedelta(days=45)
                openings.append((post_id, notice, closing if closing <= AS_OF else None, None, None))
                person(post_id, grade, long_ago(), notice + dt.timedelta(days=rng.randint(-45, 0)), before)
            else:  # frozen after its holder left
                left = dt.date(2004, 3, 1) + dt.timedelta(days=rng.randrange(1000))
                person(post_id, grade, long_ago(), left, before)
        if delayed:
            raise RuntimeError("the demo has too few vacant posts for its delayed recruitments")
        # short-term staff without a post; those who came in 2005 have left
        for _ in range(25):
            start = dt.date(rng.choice((2005, 2006, 2007)), rng.randint(1, 6), 1)
            end = start + dt.timedelta(days=rng.randint(180, 540))
            person(None, rng.choice(("G-4", "G-5", "P-2", "P-3")), start, end if end <= AS_OF else None, 0.5)
        for n, (on_post, at_grade, gender, nationality, since, until) in enumerate(people, start=1):
            staff.add(f"S{n:05d}", on_post, at_grade, gender, self.ids["member"][nationality], since, until, 1)
        openings.sort(key=lambda o: (o[1], o[0]))
        for n, (of_post, noticed, closes, selected, on_duty) in enumerate(openings, start=1):
            recruitments.add(f"VN-{noticed.year}-{n:04d}", of_post, noticed, closes, selected, on_duty, 1)

    def _agreements_and_users(self) -> None:
        agreements = self.table(
            "agreements", "code", "title", "kind", "parties", "signed_date", "in_force_date", "status",
            "row_version",
        )  # fmt: skip
        for code, title, kind, parties, signed, in_force, status in AGREEMENTS:
            agreements.add(
                code, title, kind, parties,
                dt.date.fromisoformat(signed) if signed else None,
                dt.date.fromisoformat(in_force) if in_force else None,
                status, 1,
            )  # fmt: skip
        users = self.table("users", "username", "role", "delegation_limit_centimes", "row_version")
        user_units = Rows(("user_id", "unit_id"))
        self.tables["user_units"] = user_units
        entries = list(USERS)
        if self.username not in {u[0] for u in entries}:
            entries.insert(1, (self.username, "admin", "", None))
        for username, role, units, limit in entries:
            user_id = users.add(username, role, None if limit is None else limit * 100, 1)
            for unit in filter(None, units.split(",")):
                user_units.rows.append((user_id, self.ids["unit"][unit]))
        settings = Rows(("key", "value"))
        settings.rows += [("as_of", AS_OF.isoformat()), ("demo_scale", str(self.scale))]
        self.tables["settings"] = settings


def write_demo(
    connection: Connection,
    tables: dict[str, Rows],
    *,
    replace: bool = False,
    progress: Callable[[int], Any] | None = None,
) -> dict[str, int]:
    """Write the generated ``tables`` in the caller's transaction; returns rows per table.

    With ``replace``, every content table is emptied first (the audit trail is kept).
    """
    if replace:
        connection.execute(delete(ActualTotal))
        for table in reversed(CONTENT_TABLES):
            connection.execute(delete(table))
    counts: dict[str, int] = {}
    metadata_tables = Base.metadata.tables
    for table in CONTENT_TABLES:
        rows = tables.get(table.name)
        if rows is None:
            counts[table.name] = 0
            continue
        counts[table.name] = bulk.bulk_insert(
            connection, metadata_tables[table.name], rows.columns, rows.rows, progress=progress
        )
    bulk.sync_sequences(connection, CONTENT_TABLES)
    return counts


def build_demo_workspace(
    workspace: Workspace,
    *,
    scale: int = 1,
    seed: int = SEED,
    force: bool = False,
    progress: bool = True,
) -> dict[str, int]:
    """Create the schema if needed and fill ``workspace`` with the demo plan, in one transaction.

    Refuses (``UsageError``, nothing changed) a workspace that holds data unless
    ``force``; replacing content needs the admin role. Returns rows per table.
    """
    from tqdm import tqdm

    workspace.init()
    with workspace.transaction() as session:
        connection = session.connection()
        existing = sum(connection.execute(select(func.count()).select_from(t)).scalar_one() for t in CONTENT_TABLES)
        if existing and not force:
            raise UsageError(
                f"the workspace at {workspace.url} already holds data ({existing:,} rows); "
                "nothing was changed. Use --force to replace its content with the demo"
            )
        if existing:
            require_admin(session, workspace.user, "replace the workspace content with the demo")
        if progress:
            print(f"Generating the demo plan (scale {scale}) ...", file=sys.stderr)
        tables = DemoBuilder(seed=seed, scale=scale, username=workspace.user).build()
        total = sum(len(rows.rows) for rows in tables.values())
        with tqdm(
            total=total,
            unit=" rows",
            unit_scale=True,
            desc="Writing",
            disable=not progress,
            file=sys.stderr,
        ) as bar:
            counts = write_demo(connection, tables, replace=bool(existing), progress=bar.update)
        summaries.rebuild(connection)
        audit.record(
            session,
            workspace.user,
            "demo",
            "*",
            after={
                "scale": scale,
                "seed": seed,
                "replaced_rows": existing,
                "rows": sum(counts.values()),
            },
        )
    return counts

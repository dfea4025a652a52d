"""The deterministic demo workspace: the ITU secretariat's 2004-2007 plan, invented
but realistic, seeded so that two runs give identical content.

Everything is generated in memory with one ``random.Random(seed)`` and written
with :mod:`itu_plan.bulk` in a single transaction, with explicit ids in a fixed
order. The data is planted so that every early-warning rule of the contract
fires at least once: an overspent budget line, KPIs off track, slow open
recruitments, cost-recovered products in deficit and in surplus, and a year
whose expenditure exceeds income (2007).

``scale`` K adds activities and about 10,000 actuals per unit of scale.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, select

from itu_plan import audit, bulk, summaries
from itu_plan.access import require_admin
from itu_plan.errors import UsageError
from itu_plan.model import CONTENT_TABLES, ActualTotal, Base
from itu_plan.money import staff_cost

if TYPE_CHECKING:
    from itu_plan.workspace import Workspace

SEED = 2004
AS_OF = dt.date(2007, 6, 30)
YEARS = (2004, 2005, 2006, 2007)
#: The years the actuals cover: the current biennium, up to the as-of date.
ACTUAL_YEARS = (2006, 2007)
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
    ("BDT-PKM", "Policies, Strategies and Finance Department", "BDT"),
    ("BDT-ISA", "Infrastructure, Enabling Environment and e-Applications Department", "BDT"),
    ("BDT-PRJ", "Projects and Knowledge Management Department", "BDT"),
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
SECTOR_OBJECTIVES = [
    ("ITU-R.1", "Efficient and equitable use of the spectrum and satellite orbits", "S-04", "BR"),
    ("ITU-R.2", "Timely processing of notices and filings for frequency assignments", "S-03", "BR"),
    ("ITU-R.3", "Radio Regulations and Recommendations kept current", "S-08", "BR"),
    ("ITU-T.1", "Timely, market-relevant international standards", "S-08", "TSB"),
    ("ITU-T.2", "Participation of developing countries in standardization", "S-13", "TSB"),
    ("ITU-T.3", "Numbering, naming and addressing resources managed well", "S-03", "TSB"),
    ("ITU-D.1", "Policy and regulatory reform in developing countries", "S-13", "BDT"),
    ("ITU-D.2", "Infrastructure and e-applications for development", "S-04", "BDT"),
    ("ITU-D.3", "Least developed countries and emergency telecommunications", "S-13", "BDT"),
]

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

#: Standard annual cost in CHF for 2004; later years add 2 % a year.
STANDARD_COST_2004 = {
    "G-1": 82_000, "G-2": 89_000, "G-3": 97_000, "G-4": 106_000, "G-5": 117_000,
    "G-6": 129_000, "G-7": 142_000, "P-1": 124_000, "P-2": 151_000, "P-3": 184_000,
    "P-4": 222_000, "P-5": 258_000, "D-1": 289_000, "D-2": 318_000,
    "ASG": 332_000, "DSG": 356_000, "SG": 398_000,
}  # fmt: skip
STAFF_GRADES = ["G-3", "G-4", "G-5", "G-6", "P-2", "P-3", "P-4", "P-5", "D-1"]
STAFF_GRADE_WEIGHTS = [6, 10, 12, 8, 6, 12, 12, 6, 2]

ACTIVITY_TEMPLATES = {
    "GS": [
        "Council and Plenipotentiary preparations",
        "Operational plan and performance report",
        "Financial statements and external audit follow-up",
        "Cost accounting and cost attribution",
        "Recruitment campaign",
        "Staff training and career development",
        "Records management and archives",
        "Conference services and interpretation",
        "Translation and document production",
        "Electronic document handling",
        "Membership outreach and promotion",
        "ITU TELECOM exhibition and forum",
        "Depositary functions for cooperative arrangements",
        "Information systems infrastructure",
        "Cooperation with UN agencies",
    ],
    "BR": [
        "Processing of satellite network filings",
        "Examination of terrestrial notices",
        "Master International Frequency Register upkeep",
        "Radiocommunication study group meetings",
        "Regional radiocommunication conference preparations",
        "Space Radiocommunication Stations database",
        "Interference resolution assistance",
        "Radio Regulations publication",
        "World Radiocommunication Seminar",
    ],
    "TSB": [
        "Study group meetings and rapporteur work",
        "Recommendations approval (AAP)",
        "Standardization workshop",
        "International numbering resources",
        "Bridging the standardization gap",
        "Interoperability events",
        "Telecommunication Standardization Advisory Group",
    ],
    "BDT": [
        "Regulatory reform assistance",
        "Rural connectivity pilot",
        "Human capacity building (Centres of Excellence)",
        "ICT statistics and indicators",
        "Emergency telecommunications support",
        "Least developed countries programme",
        "e-Government applications",
        "Spectrum management assistance",
        "Regional development forum",
        "Cybersecurity capacity building",
    ],
}
NON_STAFF_CATEGORIES = ["travel", "meetings", "documents", "contractual", "equipment", "other"]

PRODUCTS = [
    # code, name, unit, kind, (balanced share), income/direct ratio tendency
    ("SNF-API", "Satellite network filings: advance publication", "BR-SSD", "satellite_filing"),
    ("SNF-COORD", "Satellite network filings: coordination requests", "BR-SSD", "satellite_filing"),
    ("SNF-NOTIF", "Satellite network filings: notification", "BR-SSD", "satellite_filing"),
    ("PUB-RR", "Radio Regulations (print and electronic)", "BR-IAP", "publication"),
    ("PUB-REC-T", "ITU-T Recommendations (sales)", "TSB-OAD", "publication"),
    ("PUB-STAT", "World Telecommunication Indicators database", "BDT-PKM", "database_access"),
    ("TEL-WORLD", "ITU TELECOM WORLD", "GS-TEL", "event"),
    ("TEL-AFRICA", "ITU TELECOM AFRICA", "GS-TEL", "event"),
    ("UIFN", "Universal International Freephone Numbers", "TSB-TPD", "numbering"),
    ("TRAIN-CoE", "Centres of Excellence training courses", "BDT-ISA", "training"),
]
#: The recovery outcome per product: "balanced" exactly, "surplus" or "deficit".
PRODUCT_OUTCOME = {
    "SNF-API": "balanced",
    "SNF-COORD": "deficit",
    "SNF-NOTIF": "balanced",
    "PUB-RR": "surplus",
    "PUB-REC-T": "surplus",
    "PUB-STAT": "balanced",
    "TEL-WORLD": "surplus",
    "TEL-AFRICA": "deficit",
    "UIFN": "balanced",
    "TRAIN-CoE": "deficit",
}
#: Overhead rate in percent per bureau; BDT-ISA has none (an edge case reports must handle).
OVERHEAD_PERCENT = {
    "BR-SSD": 18,
    "BR-IAP": 22,
    "TSB-OAD": 20,
    "TSB-TPD": 15,
    "BDT-PKM": 12,
    "GS-TEL": 25,
}

KPIS = [
    # code, objective, name, measure, direction, baseline, targets 2004..2007, off-track years
    ("KPI-SNF-TIME", "ITU-R.2", "Months to process a satellite coordination request", "number", "down", 14.0,
     (12.0, 10.0, 8.0, 6.0)),
    ("KPI-BACKLOG", "ITU-R.2", "Satellite filings in the backlog", "number", "down", 1400, (1200, 900, 600, 300)),
    ("KPI-AAP", "ITU-T.1", "Share of Recommendations approved under AAP", "percentage", "up", 70.0,
     (75.0, 80.0, 85.0, 90.0)),
    ("KPI-RECS", "ITU-T.1", "Recommendations approved", "number", "up", 180, (190, 200, 210, 220)),
    ("KPI-DEVCO", "ITU-T.2", "Share of study-group delegates from developing countries", "percentage",
     "up", 22.0, (24.0, 26.0, 28.0, 30.0)),
    ("KPI-REG", "ITU-D.1", "Countries with an independent regulator", "number", "up", 110, (118, 126, 134, 142)),
    ("KPI-TRAINED", "ITU-D.3", "Professionals trained by Centres of Excellence", "number", "up", 3000,
     (3500, 4000, 4500, 5000)),
    ("KPI-EXEC", "S-02", "Budget execution rate", "percentage", "up", 92.0, (94.0, 95.0, 96.0, 97.0)),
    ("KPI-COUNCIL", "S-01", "Council documents published six weeks ahead", "percentage", "up", 60.0,
     (70.0, 80.0, 90.0, 95.0)),
    ("KPI-RECRUIT", "S-10", "Average days from vacancy notice to entry on duty", "number", "down", 240,
     (220, 190, 160, 120)),
    ("KPI-WOMEN-P", "S-12", "Share of women in Professional and higher posts", "percentage", "up", 30.0,
     (32.0, 34.0, 36.0, 38.0)),
    ("KPI-DEPOSIT", "S-15", "Depositary notifications issued within 30 days", "percentage", "up", 75.0,
     (80.0, 85.0, 90.0, 95.0)),
]  # fmt: skip
#: KPIs whose latest measurement in the given year misses its target.
KPI_OFF_TRACK = {("KPI-SNF-TIME", 2007), ("KPI-RECRUIT", 2007), ("KPI-WOMEN-P", 2006),
                 ("KPI-AAP", 2007), ("KPI-EXEC", 2005)}  # fmt: skip

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


@dataclass
class Rows:
    """The generated rows of one table, in insertion order, with their columns."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, *values: Any) -> int:
        self.rows.append((len(self.rows) + 1, *values))
        return len(self.rows)


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


def _date_in(rng: random.Random, year: int, last: dt.date) -> dt.date:
    start = dt.date(year, 1, 1)
    end = min(dt.date(year, 12, 31), last)
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


class DemoBuilder:
    """Generates the demo tables in memory; :func:`write_demo` writes them."""

    def __init__(self, *, seed: int = SEED, scale: int = 1, username: str = "local") -> None:
        if scale < 1:
            raise ValueError("scale must be at least 1")
        self.rng = random.Random(seed)
        self.scale = scale
        self.username = username
        self.tables: dict[str, Rows] = {}
        self.ids: dict[str, dict[str, int]] = defaultdict(dict)

    def table(self, name: str, *columns: str) -> Rows:
        rows = self.tables[name] = Rows(("id", *columns))
        return rows

    def build(self) -> dict[str, Rows]:
        self._reference()
        self._members()
        self._activities()
        self._execution_income()
        self._cost_recovery()
        self._plans()
        self._actuals()
        self._kpis()
        self._human_resources()
        self._agreements_and_users()
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
        for code, title, parent, _bureau in SECTOR_OBJECTIVES:
            self.ids["objective"][code] = objectives.add(code, title, self.ids["objective"][parent], 1)
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
        self.contributions = sum(units_e4[t] * value[t] for t in value) // 10_000

    def _activities(self) -> None:
        rng = self.rng
        activities = self.table(
            "activities", "code", "title", "objective_id", "unit_id", "start_date", "end_date",
            "status", "owner", "row_version",
        )  # fmt: skip
        departments = [code for code, _n, parent in UNITS if parent]
        sector_objectives: dict[str, list[str]] = defaultdict(list)
        for code, _t, _p, bureau in SECTOR_OBJECTIVES:
            sector_objectives[bureau].append(code)
        secretariat = [f"S-{n:02d}" for n in range(1, 16)]
        count = 300 + 30 * (self.scale - 1)
        self.activity_info: list[tuple[int, str, str, int, int]] = []  # id, unit, objective, first, last year
        serial: dict[str, int] = defaultdict(int)
        for n in range(count):
            unit = departments[n % len(departments)]
            bureau = unit.split("-")[0]
            if bureau == "GS" or rng.random() < 0.25:
                objective = rng.choice(secretariat)
            else:
                objective = rng.choice(sector_objectives[bureau])
            serial[unit] += 1
            code = f"{unit}-{serial[unit]:03d}"
            title = f"{rng.choice(ACTIVITY_TEMPLATES[bureau])} ({serial[unit]})"
            first = rng.choice(YEARS[:3]) if rng.random() < 0.3 else (2004 if n % 2 else 2006)
            last = min(2007, first + rng.choice((1, 1, 3)))
            start = dt.date(first, rng.randint(1, 3), 1)
            end = dt.date(last, 12, 31)
            status = "completed" if end < AS_OF else ("ongoing" if start <= AS_OF else "planned")
            if rng.random() < 0.03:
                status = "cancelled"
            owner = rng.choice(("planner.tsb", "planner.bdt", "manager.br", "manager.bdt", None))
            activity_id = activities.add(
                code, title, self.ids["objective"][objective], self.ids["unit"][unit],
                start, end, status, owner, 1,
            )  # fmt: skip
            self.ids["activity"][code] = activity_id
            self.activity_info.append((activity_id, unit, objective, first, last))

    # -- income ---------------------------------------------------------------------------

    def _execution_income(self) -> None:
        rng = self.rng
        income = self.table("income", "reference", "date", "funding_source_id", "amount_centimes")
        self.other_income: dict[int, int] = defaultdict(int)
        plan = [
            ("VC-GEN", 12, 150_000),
            ("TF-ICT", 8, 400_000),
            ("OTH", 4, 600_000),
            ("RES", 1, 2_000_000),
        ]
        n = 0
        for year in YEARS:
            for source, count, typical in plan:
                if source == "RES" and year != 2007:
                    continue  # a drawing on the reserve in 2007 only
                for _ in range(count):
                    date = _date_in(rng, year, AS_OF)
                    amount = int(typical * rng.uniform(0.4, 1.6)) * 100
                    n += 1
                    income.add(f"INC-{year}-{n:05d}", date, self.ids["source"][source], amount)
                    self.other_income[year] += amount
        income.rows.sort(key=lambda r: r[1])
        income.rows[:] = [(i, *r[1:]) for i, r in enumerate(income.rows, start=1)]

    def _cost_recovery(self) -> None:
        rng = self.rng
        products = self.table("products", "code", "name", "unit_id", "kind", "row_version")
        rates = self.table("overhead_rates", "unit_id", "year", "rate_e6", "row_version")
        for unit, percent in sorted(OVERHEAD_PERCENT.items()):
            for year in YEARS:
                rates.add(self.ids["unit"][unit], year, (percent + (year - 2004)) * 10_000, 1)
        entries = self.table(
            "cost_recovery",
            "reference",
            "date",
            "product_id",
            "type",
            "amount_centimes",
            "quantity",
        )
        self.cr_income: dict[int, int] = defaultdict(int)
        typical_direct = {"satellite_filing": 3_000_000, "publication": 1_500_000, "event": 6_000_000,
                          "database_access": 400_000, "numbering": 150_000, "training": 800_000}  # fmt: skip
        n = 0
        for code, name, unit, kind in PRODUCTS:
            product_id = products.add(code, name, self.ids["unit"][unit], kind, 1)
            for year in YEARS:
                last = min(dt.date(year, 12, 31), AS_OF)
                elapsed = ((last - dt.date(year, 1, 1)).days + 1) / 365
                if kind == "event" and (code == "TEL-AFRICA") == (year % 2 == 0):
                    continue  # WORLD in odd years... and AFRICA in the others
                direct_chf = int(typical_direct[kind] * elapsed * rng.uniform(0.8, 1.2))
                unit_percent = OVERHEAD_PERCENT.get(unit)
                rate = 0 if unit_percent is None else unit_percent + (year - 2004)
                full = direct_chf * 100 * (100 + rate) // 100  # exact: whole CHF x whole percent
                outcome = PRODUCT_OUTCOME[code]
                if outcome == "surplus":
                    income_total = full + int(full * rng.uniform(0.03, 0.2)) // 100 * 100
                elif outcome == "deficit":
                    income_total = full - int(full * rng.uniform(0.05, 0.3)) // 100 * 100
                else:
                    income_total = full
                pieces = 12 if kind != "event" else 3
                for kind_of, total in (("direct_cost", direct_chf * 100), ("income", income_total)):
                    for amount in _split(rng, total, pieces):
                        n += 1
                        quantity = rng.randint(1, 40) if kind_of == "income" else None
                        entries.add(
                            f"CR-{year}-{n:05d}", _date_in(rng, year, AS_OF), product_id, kind_of,
                            amount, quantity,
                        )  # fmt: skip
                self.cr_income[year] += income_total

    # -- plans ----------------------------------------------------------------------------

    def _plans(self) -> None:
        """Cost lines and budget lines for every version, sized against income so that
        2007 of the approved version spends more than it receives (FUNDING_GAP)."""
        rng = self.rng
        versions = self.table(
            "plan_versions", "name", "status", "based_on_id", "first_year", "last_year", "row_version"
        )
        for name, status, based_on, years in VERSIONS:
            based = self.ids["version"].get(based_on or "")
            self.ids["version"][name] = versions.add(name, status, based, min(years), max(years), 1)
        income = {y: self.contributions + self.cr_income[y] + self.other_income[y] for y in YEARS}
        # expenditure as a share of each year's income, per version
        target_share = {
            "2004-2005 approved": {2004: 0.985, 2005: 0.97},
            "2006-2007 approved": {2006: 0.98, 2007: 1.04},
        }
        regular = self.ids["source"]["RB-MS"]
        funding_choices = [
            (regular, 80), (self.ids["source"]["RB-SM"], 10), (self.ids["source"]["TF-ICT"], 5),
            (self.ids["source"]["VC-GEN"], 5),
        ]  # fmt: skip
        sources, source_weights = zip(*funding_choices, strict=True)
        lines_by_version: dict[str, list[list[Any]]] = {}
        for name in ("2004-2005 approved", "2006-2007 approved"):
            years = dict(VERSIONS_YEARS)[name]
            lines: list[list[Any]] = []  # [activity, year, category, grade, wm_e2, amount, source]
            for activity_id, _unit, _obj, first, last in self.activity_info:
                for year in years:
                    if not first <= year <= last:
                        continue
                    for _ in range(rng.choice((1, 1, 2))):
                        grade = rng.choices(STAFF_GRADES, STAFF_GRADE_WEIGHTS)[0]
                        lines.append([activity_id, year, "staff", grade, rng.random() + 0.1, 0, regular])
                    for category in rng.sample(NON_STAFF_CATEGORIES, rng.randint(1, 3)):
                        source = rng.choices(sources, source_weights)[0]
                        lines.append([activity_id, year, category, None, None, rng.random(), source])
            # size the non-staff lines so that each year hits its target expenditure
            for year in years:
                # the secretariat's work-months are fixed; more activities share them
                staff_lines = [line for line in lines if line[1] == year and line[2] == "staff"]
                weight_sum = sum(line[4] for line in staff_lines)
                for line in staff_lines:
                    line[4] = max(50, round(STAFF_WORK_MONTHS * 100 * line[4] / weight_sum / 50) * 50)
                    line[5] = staff_cost(line[4], self.standard_cost[line[3], year])
                staff = sum(line[5] for line in lines if line[1] == year and line[2] == "staff")
                others = [line for line in lines if line[1] == year and line[2] != "staff"]
                target = int(income[year] * target_share[name][year])
                budget_left = target - staff
                if budget_left <= 0:
                    raise RuntimeError(f"demo staff costs exceed the {year} target; lower them")
                weight_sum = sum(line[5] for line in others)
                for line in others:
                    line[5] = int(budget_left * line[5] / weight_sum) // 100 * 100
                others[-1][5] += budget_left - sum(line[5] for line in others)
            lines_by_version[name] = lines
        # the proposal asked for 3 % more than Council approved, on every non-staff line
        lines_by_version["2006-2007 proposed"] = [
            [*line[:5], line[5] if line[2] == "staff" else line[5] * 103 // 100, line[6]]
            for line in lines_by_version["2006-2007 approved"]
        ]
        # the draft revises a few BDT activities (a change a BDT manager may approve)
        draft = [list(line) for line in lines_by_version["2006-2007 approved"]]
        bdt = {self.ids["unit"][c] for c, _n, p in UNITS if p == "BDT"}
        unit_of = {a: self.ids["unit"][u] for a, u, _o, _f, _l in self.activity_info}
        revised = [line for line in draft if unit_of[line[0]] in bdt and line[2] == "travel"][:5]
        for line in revised:
            line[5] += 5_000_00
        lines_by_version["2006-2007 draft"] = draft

        cost_lines = self.table(
            "cost_lines", "version_id", "activity_id", "year", "category", "grade", "work_months_e2",
            "amount_centimes", "funding_source_id", "row_version",
        )  # fmt: skip
        budget = self.table(
            "budget_lines", "version_id", "unit_id", "objective_id", "year", "category",
            "amount_centimes", "row_version",
        )  # fmt: skip
        activity_keys = {a: (unit_of[a], self.ids["objective"][o]) for a, _u, o, _f, _l in self.activity_info}
        self.approved_budget: dict[tuple[int, int, int, str], int] = {}
        for name, _status, _based, _years in VERSIONS:
            version_id = self.ids["version"][name]
            totals: dict[tuple[int, int, int, str], int] = defaultdict(int)
            merged: dict[tuple[Any, ...], list[Any]] = {}
            for activity, year, category, grade, wm, amount, source in lines_by_version[name]:
                key = (activity, year, category, grade, source)
                if key in merged:  # one line per business key: add work-months and amounts
                    merged[key][1] = None if wm is None else merged[key][1] + wm
                    merged[key][2] += amount
                else:
                    merged[key] = [key, wm, amount]
            for (activity, year, category, grade, source), wm, summed in merged.values():
                # a merged staff line is priced on its total work-months
                amount = summed if grade is None else staff_cost(wm, self.standard_cost[grade, year])
                cost_lines.add(version_id, activity, year, category, grade, wm, amount, source, 1)
                unit, objective = activity_keys[activity]
                totals[unit, objective, year, category] += amount
            for (unit, objective, year, category), amount in sorted(totals.items()):
                budget.add(version_id, unit, objective, year, category, amount, 1)
                if name == "2006-2007 approved":
                    self.approved_budget[unit, objective, year, category] = amount

    def _actuals(self) -> None:
        """About ``10,000 x scale`` expenditure transactions against the approved
        2006-2007 budget: most lines under-spent, some over-spent (OVERSPEND),
        a few reversals, some without an activity."""
        rng = self.rng
        actuals = self.table(
            "actuals", "reference", "date", "unit_id", "activity_id", "objective_id", "category",
            "amount_centimes", "funding_source_id",
        )  # fmt: skip
        activities_of: dict[tuple[int, int], list[int]] = defaultdict(list)
        for activity_id, unit_code, objective_code, _f, _l in self.activity_info:
            key = (self.ids["unit"][unit_code], self.ids["objective"][objective_code])
            activities_of[key].append(activity_id)
        unit_pace = {uid: rng.uniform(0.85, 1.0) for uid in self.ids["unit"].values()}
        overspent_unit = self.ids["unit"]["BDT-AFR"]  # emergency support ran over budget
        groups = []
        for (unit, objective, year, category), budget in sorted(self.approved_budget.items()):
            pace = unit_pace[unit] * rng.uniform(0.9, 1.05)
            if unit == overspent_unit or rng.random() < 0.03:
                pace = rng.uniform(1.08, 1.3)
            if year == AS_OF.year:  # the year is half gone
                pace *= AS_OF.timetuple().tm_yday / 365
            groups.append((unit, objective, year, category, int(budget * pace) // 100 * 100))
        grand = sum(g[4] for g in groups) or 1
        wanted = ACTUALS_PER_SCALE * self.scale
        regular = self.ids["source"]["RB-MS"]
        n = 0
        rows = actuals.rows
        for unit, objective, year, category, total in groups:
            count = max(1, round(wanted * total / grand))
            amounts = _split(rng, total, count)
            candidates = activities_of[unit, objective]
            ref_year = f"FIN-{year}-"
            for amount in amounts:
                n += 1
                no_activity = rng.random() < 0.02 or not candidates
                activity = None if no_activity else rng.choice(candidates)
                date = _date_in(rng, year, AS_OF)
                rows.append(
                    (n, f"{ref_year}{n:07d}", date, unit, activity, objective if no_activity else None,
                     category, amount, regular)
                )  # fmt: skip
                if rng.random() < 0.004:  # a correction: posted, reversed, posted again
                    n += 1
                    rows.append(
                        (n, f"{ref_year}{n:07d}", date, unit, activity,
                         objective if no_activity else None, category, -amount, regular)
                    )  # fmt: skip
                    n += 1
                    rows.append(
                        (n, f"{ref_year}{n:07d}", date, unit, activity,
                         objective if no_activity else None, category, amount, regular)
                    )  # fmt: skip

    # -- KPIs and human resources ----------------------------------------------------------

    def _kpis(self) -> None:
        rng = self.rng
        kpis = self.table(
            "kpis",
            "code",
            "objective_id",
            "name",
            "measure",
            "direction",
            "baseline",
            "row_version",
        )
        targets = self.table("kpi_targets", "kpi_id", "year", "target", "row_version")
        measurements = self.table("measurements", "kpi_id", "date", "value", "row_version")
        for code, objective, name, measure, direction, baseline, yearly in KPIS:
            kpi_id = kpis.add(code, self.ids["objective"][objective], name, measure, direction, float(baseline), 1)
            sign = 1 if direction == "up" else -1
            for year, target in zip(YEARS, yearly, strict=True):
                targets.add(kpi_id, year, float(target), 1)
                for month in (3, 6, 9, 12):
                    date = dt.date(year, month, 28 if month != 6 else 30)
                    if date > AS_OF:
                        break
                    progress = month / 12
                    start = baseline if year == 2004 else yearly[YEARS.index(year) - 1]
                    value = start + (target - start) * progress * rng.uniform(0.9, 1.1)
                    if (code, year) in KPI_OFF_TRACK:
                        value = target - sign * abs(target - start) * rng.uniform(0.3, 0.6)
                    elif month == 12 or date.replace(day=1) == AS_OF.replace(day=1):
                        value = target + sign * abs(target) * rng.uniform(0.0, 0.03)
                    if measure == "percentage":
                        value = min(value, 100.0)
                    measurements.add(kpi_id, date, round(value, 1), 1)

    def _human_resources(self) -> None:
        rng = self.rng
        posts = self.table("posts", "post_number", "grade", "unit_id", "funding_source_id", "status", "row_version")
        recruitments = self.table(
            "recruitments", "vacancy_id", "post_id", "notice_date", "closing_date", "selection_date",
            "eod_date", "row_version",
        )  # fmt: skip
        staff = self.table(
            "staff",
            "staff_id",
            "post_id",
            "grade",
            "gender",
            "nationality_id",
            "start_date",
            "row_version",
        )
        grades = [
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
        ]
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
        staff_serial = 0
        vacancy_serial = 0
        for n_posts, (grade, unit) in enumerate(posts_plan, start=1):
            roll = rng.random()
            status = "filled" if roll < 0.86 else ("vacant" if roll < 0.97 else "frozen")
            if grade in ("SG", "DSG"):
                status = "filled"
            number = f"{unit.split('-')[0]}/{grade}/{n_posts:04d}"
            post_id = posts.add(number, grade, self.ids["unit"][unit], regular, status, 1)
            recruited = status == "filled" and rng.random() < 0.17
            if status == "filled":
                staff_serial += 1
                professional = not grade.startswith("G-")
                female_share = 0.36 if professional else 0.64
                gender = "F" if rng.random() < female_share else ("X" if rng.random() < 0.005 else "M")
                nationality = rng.choices(self.state_codes, state_weights)[0]
                start = dt.date(rng.randint(1980, 2003), rng.randint(1, 12), 1)
                if recruited:
                    vacancy_serial += 1
                    notice = dt.date(rng.choice((2004, 2005, 2006)), rng.randint(1, 12), rng.randint(1, 28))
                    closing = notice + dt.timedelta(days=60)
                    selection = closing + dt.timedelta(days=rng.randint(20, 160))
                    eod = selection + dt.timedelta(days=rng.randint(20, 90))
                    if eod > AS_OF:
                        eod = AS_OF - dt.timedelta(days=rng.randint(1, 30))
                        selection = min(selection, eod)
                    recruitments.add(
                        f"VN-{notice.year}-{vacancy_serial:04d}",
                        post_id,
                        notice,
                        closing,
                        selection,
                        eod,
                        1,
                    )
                    start = eod
                staff.add(
                    f"S{staff_serial:05d}",
                    post_id,
                    grade,
                    gender,
                    self.ids["member"][nationality],
                    start,
                    1,
                )
            elif status == "vacant":
                vacancy_serial += 1
                age = rng.choice((20, 45, 60, 75, 90, 100, 110, 150, 200, 320))  # days since the notice
                notice = AS_OF - dt.timedelta(days=age)
                closing = notice + dt.timedelta(days=45)
                chosen: dt.date | None = closing + dt.timedelta(days=60) if age > 200 else None
                if closing > AS_OF:
                    closing = notice + dt.timedelta(days=max(1, age // 2))
                recruitments.add(
                    f"VN-{notice.year}-{vacancy_serial:04d}",
                    post_id,
                    notice,
                    closing,
                    chosen,
                    None,
                    1,
                )
        # short-term staff without a post
        for _ in range(25):
            staff_serial += 1
            grade = rng.choice(("G-4", "G-5", "P-2", "P-3"))
            gender = "F" if rng.random() < 0.5 else "M"
            nationality = rng.choices(self.state_codes, state_weights)[0]
            staff.add(
                f"S{staff_serial:05d}", None, grade, gender, self.ids["member"][nationality],
                dt.date(rng.choice((2005, 2006, 2007)), rng.randint(1, 6), 1), 1,
            )  # fmt: skip
        recruitments.rows.sort(key=lambda r: r[1])
        recruitments.rows[:] = [(i, *r[1:]) for i, r in enumerate(recruitments.rows, start=1)]

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


VERSIONS_YEARS = [(name, years) for name, _s, _b, years in VERSIONS]


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


def iter_counts(tables: dict[str, Rows]) -> Iterator[tuple[str, int]]:
    for name, rows in tables.items():
        yield name, len(rows.rows)


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

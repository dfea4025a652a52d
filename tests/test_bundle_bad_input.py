"""The bad-input corpus: each case is a bundle a careful finance officer would reject.

Every case runs on SQLite and PostgreSQL against a workspace that already holds
the hand-made bundle, and asserts the exact problem lines, exit code 2, and
that no table changed (row counts and the content checksum).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from itu_plan import Workspace
from itu_plan.bundle import import_bundle
from itu_plan.cli import main

HANDMADE = Path(__file__).parent / "data" / "handmade"

ACTUALS_HEADER = "reference,date,unit_code,activity_code,objective_code,category,amount,funding_source_code\n"
COST_HEADER = "version,activity_code,year,category,grade,work_months,amount,funding_source_code\n"


def actuals(*rows: str) -> dict[str, str]:
    return {"actuals.csv": ACTUALS_HEADER + "".join(r + "\n" for r in rows)}


def cost_lines(*rows: str) -> dict[str, str]:
    return {"cost_lines.csv": COST_HEADER + "".join(r + "\n" for r in rows)}


GOOD_ACTUAL = "N-1,2006-07-01,GS,,S-01,travel,10.00,RB"

# name -> (files, expected problem lines)
CASES: dict[str, tuple[dict[str, str], list[str]]] = {
    "blank required cell": (
        actuals("N-1,,GS,,S-01,travel,10,RB"),
        ["actuals.csv:2:date: a value is required"],
    ),
    "text in an amount": (
        actuals("N-1,2006-07-01,GS,,S-01,travel,ten,RB"),
        ["actuals.csv:2:amount: 'ten' is not an amount in CHF"],
    ),
    "three decimals": (
        actuals("N-1,2006-07-01,GS,,S-01,travel,10.005,RB"),
        ["actuals.csv:2:amount: '10.005' has more than two decimals"],
    ),
    "thousands separator": (
        actuals('N-1,2006-07-01,GS,,S-01,travel,"1,000.00",RB'),
        [
            "actuals.csv:2:amount: '1,000.00' is not an amount in CHF "
            "(use '.' as the decimal point and no thousands separators)"
        ],
    ),
    "apostrophe thousands separator": (
        actuals("N-1,2006-07-01,GS,,S-01,travel,1'000,RB"),
        ['actuals.csv:2:amount: "1\'000" is not an amount in CHF (no thousands separators)'],
    ),
    "exponent in an amount": (
        actuals("N-1,2006-07-01,GS,,S-01,travel,1e3,RB"),
        ["actuals.csv:2:amount: '1e3' is not an amount in CHF"],
    ),
    "malformed date": (
        actuals("N-1,01/07/2006,GS,,S-01,travel,10,RB"),
        ["actuals.csv:2:date: '01/07/2006' is not a date (YYYY-MM-DD)"],
    ),
    "impossible date": (
        actuals("N-1,2006-02-30,GS,,S-01,travel,10,RB"),
        ["actuals.csv:2:date: '2006-02-30' is not a date (YYYY-MM-DD)"],
    ),
    "compact date": (
        actuals("N-1,20060701,GS,,S-01,travel,10,RB"),
        ["actuals.csv:2:date: '20060701' is not a date (YYYY-MM-DD)"],
    ),
    "unknown category": (
        actuals("N-1,2006-07-01,GS,,S-01,food,10,RB"),
        [
            "actuals.csv:2:category: 'food' is not one of: staff, travel, meetings, documents, "
            "contractual, equipment, other"
        ],
    ),
    "unknown unit": (
        actuals("N-1,2006-07-01,XYZ,,S-01,travel,10,RB"),
        ["actuals.csv:2:unit_code: unknown unit 'XYZ' (not in the workspace nor in units.csv)"],
    ),
    "unknown activity": (
        actuals("N-1,2006-07-01,GS,A-99,,travel,10,RB"),
        ["actuals.csv:2:activity_code: unknown activity 'A-99' (not in the workspace nor in activities.csv)"],
    ),
    "unknown funding source": (
        actuals("N-1,2006-07-01,GS,,S-01,travel,10,ZZ"),
        [
            "actuals.csv:2:funding_source_code: unknown funding source 'ZZ' "
            "(not in the workspace nor in funding_sources.csv)"
        ],
    ),
    "objective disagrees with the activity": (
        actuals("N-1,2006-07-01,BDT-AFR,A-1,S-01,travel,10,VC"),
        ["actuals.csv:2:objective_code: S-01 disagrees with activity A-1, whose objective is D-1"],
    ),
    "objective disagrees with an activity of the same bundle": (
        {
            "activities.csv": "code,title,objective_code,unit_code,start_date,end_date,status,owner\n"
            "A-9,New,S-01,GS,,,,\n",
            **actuals("N-1,2006-07-01,GS,A-9,D-1,travel,10,RB"),
        },
        ["actuals.csv:2:objective_code: D-1 disagrees with activity A-9, whose objective is S-01"],
    ),
    "duplicate reference in the file": (
        actuals(GOOD_ACTUAL, "N-1,2006-07-02,GS,,S-01,travel,20,RB"),
        ["actuals.csv:3:reference: duplicate key (reference=N-1); it is also on row 2"],
    ),
    "key back with different content": (
        actuals("F-1,2006-03-01,BDT-AFR,A-1,,staff,40000.01,RB"),
        [
            "actuals.csv:2:amount: reference=F-1 is already in the workspace with different content "
            "(amount is 40000.00 there, 40000.01 here); an import adds rows, it never overwrites them"
        ],
    ),
    "unknown column": (
        {"actuals.csv": ACTUALS_HEADER.strip() + ",note\n" + GOOD_ACTUAL + ",x\n"},
        [
            "actuals.csv:1:note: unknown column; actuals.csv has: reference, date, unit_code, activity_code, "
            "objective_code, category, amount, funding_source_code"
        ],
    ),
    "missing required column": (
        {"actuals.csv": "reference,date,unit_code,category,amount\nN-1,2006-07-01,GS,travel,10\n"},
        ["actuals.csv:1:funding_source_code: required column is missing from the header"],
    ),
    "duplicated header": (
        {"income.csv": "reference,date,funding_source_code,amount,amount\nI-9,2006-01-01,VC,1,1\n"},
        ["income.csv:1:amount: column 'amount' appears twice in the header"],
    ),
    "unknown file": (
        {"budgets.csv": "version,unit_code\n"},
        [
            "budgets.csv:1:: unknown file: a bundle holds only units.csv, objectives.csv, funding_sources.csv, "
            "members.csv, unit_values.csv, versions.csv, activities.csv, standard_costs.csv, cost_lines.csv, "
            "budget.csv, income_budget.csv, actuals.csv, income.csv, products.csv, overhead_rates.csv, cost_recovery.csv, kpis.csv, "
            "kpi_targets.csv, measurements.csv, posts.csv, recruitments.csv, staff.csv, agreements.csv, users.csv, "
            "settings.csv"
        ],
    ),
    "empty file": (
        {"income.csv": ""},
        ["income.csv:1:: the file is empty: it needs a header row"],
    ),
    "ragged row": (
        actuals(GOOD_ACTUAL, "N-2,2006-07-01,GS"),
        ["actuals.csv:3:: the row has 3 cells; the header has 8"],
    ),
    "blank line in the middle": (
        actuals(GOOD_ACTUAL, "", "N-2,2006-07-01,GS,,S-01,travel,10.00,RB"),
        ["actuals.csv:3:: the row is empty"],
    ),
    "not utf-8": (
        {"units.csv": "code,name,parent_code\nX,Bureau de d\xe9veloppement,\n"},
        ["units.csv:2:: the file is not UTF-8 text (byte 0xE9 on line 2); save it as UTF-8"],
    ),
    "unterminated quote": (
        {"units.csv": 'code,name,parent_code\nX,"Open quote,\n'},
        ["units.csv:2:: the CSV is malformed: unexpected end of data"],
    ),
    "unknown member type": (
        {"members.csv": "code,name,type,region,units\nFRA,France,state,B,30\n"},
        ["members.csv:2:type: 'state' is not one of: member_state, sector_member, associate, academia"],
    ),
    "member state without region": (
        {"members.csv": "code,name,type,region,units\nFRA,France,member_state,,30\n"},
        ["members.csv:2:region: a member state needs its region (A-E)"],
    ),
    "region outside A-E": (
        {"members.csv": "code,name,type,region,units\nFRA,France,member_state,F,30\n"},
        ["members.csv:2:region: 'F' is not one of: A, B, C, D, E"],
    ),
    "contributory units above 40": (
        {"members.csv": "code,name,type,region,units\nFRA,France,member_state,B,45\n"},
        ["members.csv:2:units: 45 is above the maximum 40"],
    ),
    "contributory units below 1/16": (
        {"members.csv": "code,name,type,region,units\nFRA,France,member_state,B,0.03\n"},
        ["members.csv:2:units: 0.03 is below the minimum 0.0625"],
    ),
    "year that is not a year": (
        {"unit_values.csv": "year,member_type,value\n07,member_state,318000\n"},
        ["unit_values.csv:2:year: '07' is not a year (YYYY)"],
    ),
    "negative unit value": (
        {"unit_values.csv": "year,member_type,value\n2007,member_state,-1\n"},
        ["unit_values.csv:2:value: -1.00 is below the minimum 0.00"],
    ),
    "unknown version status": (
        {"versions.csv": "name,status,based_on\n2008-2009 draft,open,\n"},
        ["versions.csv:2:status: 'open' is not one of: draft, submitted, approved, superseded"],
    ),
    "version based on an unknown version": (
        {"versions.csv": "name,status,based_on\n2008-2009 draft,draft,2008-2009 approved\n"},
        ["versions.csv:2:based_on: unknown version '2008-2009 approved' (not in the workspace nor in versions.csv)"],
    ),
    "end before start": (
        {
            "activities.csv": "code,title,objective_code,unit_code,start_date,end_date,status,owner\n"
            "A-9,New,S-01,GS,2006-05-01,2006-04-30,planned,\n"
        },
        ["activities.csv:2:end_date: end_date 2006-04-30 is before start_date 2006-05-01"],
    ),
    "unknown activity status": (
        {
            "activities.csv": "code,title,objective_code,unit_code,start_date,end_date,status,owner\n"
            "A-9,New,S-01,GS,,,done,\n"
        },
        ["activities.csv:2:status: 'done' is not one of: planned, ongoing, completed, cancelled"],
    ),
    "unknown grade": (
        {"standard_costs.csv": "grade,year,annual_cost\nP-6,2006,300000\n"},
        [
            "standard_costs.csv:2:grade: 'P-6' is not one of: G-1, G-2, G-3, G-4, G-5, G-6, G-7, P-1, P-2, P-3, "
            "P-4, P-5, D-1, D-2, ASG, DSG, SG"
        ],
    ),
    "staff line without a standard cost": (
        cost_lines("2006-2007 draft,A-2,2006,staff,P-4,2,,RB"),
        ["cost_lines.csv:2:grade: there is no standard cost for grade P-4 in 2006"],
    ),
    "staff line without a standard cost for that year": (
        cost_lines("2006-2007 draft,A-2,2007,staff,P-3,2,,RB"),
        ["cost_lines.csv:2:grade: there is no standard cost for grade P-3 in 2007"],
    ),
    "cost line without amount or work-months": (
        cost_lines("2006-2007 draft,A-2,2006,travel,,,,RB"),
        ["cost_lines.csv:2:amount: a value is required unless a staff line gives grade and work_months"],
    ),
    "grade on a non-staff line": (
        cost_lines("2006-2007 draft,A-2,2006,travel,P-3,,100,RB"),
        ["cost_lines.csv:2:grade: grade is only for staff lines, not travel"],
    ),
    "negative work-months": (
        cost_lines("2006-2007 draft,A-2,2006,staff,P-3,-1,,RB"),
        ["cost_lines.csv:2:work_months: -1 is below the minimum 0"],
    ),
    "cost line of an unknown version": (
        cost_lines("2010 draft,A-2,2006,travel,,,100,RB"),
        ["cost_lines.csv:2:version: unknown version '2010 draft' (not in the workspace nor in versions.csv)"],
    ),
    "duplicate budget line": (
        {
            "budget.csv": "version,unit_code,objective_code,year,category,amount\n"
            "2006-2007 draft,GS,S-01,2006,staff,1\n2006-2007 draft,GS,S-01,2006,staff,2\n"
        },
        [
            "budget.csv:3:version: duplicate key (version=2006-2007 draft, unit_code=GS, objective_code=S-01, "
            "year=2006, category=staff); it is also on row 2"
        ],
    ),
    "rate with too many decimals": (
        {"overhead_rates.csv": "unit_code,year,rate\nGS,2006,0.1234567\n"},
        ["overhead_rates.csv:2:rate: '0.1234567' has more than 6 decimals"],
    ),
    "unknown cost-recovery type": (
        {"cost_recovery.csv": "reference,date,product_code,type,amount,quantity\nCR-9,2006-01-01,PUB-1,revenue,10,\n"},
        ["cost_recovery.csv:2:type: 'revenue' is not one of: income, direct_cost"],
    ),
    "fractional quantity": (
        {
            "cost_recovery.csv": "reference,date,product_code,type,amount,quantity\n"
            "CR-9,2006-01-01,PUB-1,income,10,1.5\n"
        },
        ["cost_recovery.csv:2:quantity: '1.5' is not a whole number"],
    ),
    "unknown product": (
        {"cost_recovery.csv": "reference,date,product_code,type,amount,quantity\nCR-9,2006-01-01,PUB-9,income,10,\n"},
        ["cost_recovery.csv:2:product_code: unknown product 'PUB-9' (not in the workspace nor in products.csv)"],
    ),
    "unknown KPI direction": (
        {"kpis.csv": "code,objective_code,name,measure,direction,baseline\nK-9,S-01,X,number,sideways,\n"},
        ["kpis.csv:2:direction: 'sideways' is not one of: up, down"],
    ),
    "target that is not a number": (
        {"kpi_targets.csv": "kpi_code,year,target\nK-1,2007,high\n"},
        ["kpi_targets.csv:2:target: 'high' is not a number"],
    ),
    "measurement of an unknown KPI": (
        {"measurements.csv": "kpi_code,date,value\nK-9,2006-01-01,1\n"},
        ["measurements.csv:2:kpi_code: unknown kpi 'K-9' (not in the workspace nor in kpis.csv)"],
    ),
    "closing before notice": (
        {
            "recruitments.csv": "vacancy_id,post_number,notice_date,closing_date,selection_date,eod_date\n"
            "VN-9,GS/G-5/2,2006-05-01,2006-04-01,,\n"
        },
        ["recruitments.csv:2:closing_date: closing_date 2006-04-01 is before notice_date 2006-05-01"],
    ),
    "entry on duty before selection": (
        {
            "recruitments.csv": "vacancy_id,post_number,notice_date,closing_date,selection_date,eod_date\n"
            "VN-9,GS/G-5/2,2006-01-01,2006-02-01,2006-05-01,2006-04-01\n"
        },
        ["recruitments.csv:2:eod_date: eod_date 2006-04-01 is before selection_date 2006-05-01"],
    ),
    "unknown post status": (
        {"posts.csv": "post_number,grade,unit_code,funding_source_code,status\nX/1,P-2,GS,RB,open\n"},
        ["posts.csv:2:status: 'open' is not one of: filled, vacant, frozen"],
    ),
    "unknown gender and nationality": (
        {"staff.csv": "staff_id,post_number,grade,gender,nationality,start_date\nS-9,,P-2,W,FRA,2006-01-01\n"},
        [
            "staff.csv:2:gender: 'W' is not one of: F, M, X",
            "staff.csv:2:nationality: unknown member 'FRA' (not in the workspace nor in members.csv)",
        ],
    ),
    "in force before signature": (
        {
            "agreements.csv": "code,title,kind,parties,signed_date,in_force_date,status\n"
            "AGR-9,T,treaty,A; B,2006-05-01,2006-01-01,in force\n"
        },
        ["agreements.csv:2:in_force_date: in_force_date 2006-01-01 is before signed_date 2006-05-01"],
    ),
    "unknown role and unit of a user": (
        {"users.csv": 'username,role,units,delegation_limit\nzed,boss,"GS,XX",\n'},
        [
            "users.csv:2:role: 'boss' is not one of: admin, manager, planner, reviewer",
            "users.csv:2:units: unknown unit 'XX' (not in the workspace nor in units.csv)",
        ],
    ),
    "a version without a period": (
        {
            "versions.csv": "name,status,based_on,first_year,last_year\nRevised,draft,,,\nR2,draft,,2006,\n"
            "R3,draft,,2007,2006\n"
        },
        [
            "versions.csv:2:first_year: version 'Revised' has no period: give first_year and last_year "
            "(or start its name with the years, e.g. '2006-2007 draft')",
            "versions.csv:3:last_year: a version's period needs both first_year and last_year",
            "versions.csv:4:last_year: last_year 2006 is before first_year 2007",
        ],
    ),
    "years outside the version's period": (
        {
            "versions.csv": "name,status,based_on,first_year,last_year\n2008 revised,draft,,,\n",
            **cost_lines("2006-2007 approved,A-1,2008,travel,,,10,VC", "2008 revised,A-1,2009,travel,,,10,VC"),
            "budget.csv": "version,unit_code,objective_code,year,category,amount\n"
            "2006-2007 approved,GS,S-01,2005,travel,10\n",
            "income_budget.csv": "version,year,funding_source_code,amount\n2008 revised,2007,VC,10\n",
        },
        [
            "budget.csv:2:year: 2005 is outside the period 2006-2007 of version 2006-2007 approved",
            "cost_lines.csv:2:year: 2008 is outside the period 2006-2007 of version 2006-2007 approved",
            "cost_lines.csv:3:year: 2009 is outside the period 2008 of version 2008 revised",
            "income_budget.csv:2:year: 2007 is outside the period 2008 of version 2008 revised",
        ],
    ),
    "an income budget for contributions": (
        {"income_budget.csv": "version,year,funding_source_code,amount\n2006-2007 approved,2006,RB,10\n"},
        [
            "income_budget.csv:2:funding_source_code: RB is a source of kind assessed: its income comes from "
            "contributory units and unit values, not from the income budget"
        ],
    ),
    "staff who leave before they start": (
        {
            "staff.csv": "staff_id,post_number,grade,gender,nationality,start_date,end_date\n"
            "S-9,,P-2,F,KEN,2006-01-01,2005-12-31\n"
        },
        ["staff.csv:2:end_date: end_date 2005-12-31 is before start_date 2006-01-01"],
    ),
    "unknown setting and a malformed as-of date": (
        {"settings.csv": "key,value\nasof,2007-06-30\nas_of,2007-13-01\n"},
        [
            "settings.csv:2:key: 'asof' is not one of: as_of, demo_scale",
            "settings.csv:3:value: as_of: '2007-13-01' is not a date (YYYY-MM-DD)",
        ],
    ),
    "a negative amount in a plan file": (
        {
            **cost_lines("2006-2007 approved,A-1,2007,travel,,,-123.00,VC"),
            "budget.csv": "version,unit_code,objective_code,year,category,amount\n"
            "2006-2007 approved,GS,S-01,2007,meetings,-1\n",
            "income_budget.csv": "version,year,funding_source_code,amount\n2006-2007 approved,2006,VC,-0.01\n",
        },
        [
            "budget.csv:2:amount: -1.00 is below the minimum 0.00",
            "cost_lines.csv:2:amount: -123.00 is below the minimum 0.00",
            "income_budget.csv:2:amount: -0.01 is below the minimum 0.00",
        ],
    ),
    "an amount beyond the ceiling the editor keeps too": (
        actuals(
            "N-1,2006-07-01,GS,,S-01,travel,9000000000000000.00,RB",
            "N-2,2006-07-01,GS,,S-01,travel,-123456789012345678901234567890,RB",
            "N-3,2006-07-01,GS,,S-01,travel,1000000000000000.00,RB",
            "N-4,2006-07-01,GS,,S-01,travel,999999999999999.99,RB",
            "N-5,2006-07-01,GS,,S-01,travel,-999999999999999.99,RB",
            "N-6,2006-07-01,GS,,S-01,travel,000999999999999999.99,RB",
        ),
        [
            "actuals.csv:2:amount: '9000000000000000.00' is more than CHF 999,999,999,999,999.99, "
            "the largest amount a value may hold",
            "actuals.csv:3:amount: '-123456789012345678901234567890' is less than CHF -999,999,999,999,999.99, "
            "the largest amount a value may hold",
            "actuals.csv:4:amount: '1000000000000000.00' is more than CHF 999,999,999,999,999.99, "
            "the largest amount a value may hold",
        ],
    ),
    "a plan amount negative or beyond 64 bits": (
        cost_lines(
            "2006-2007 approved,A-1,2007,travel,,,-123.00,VC",
            "2006-2007 approved,A-1,2007,meetings,,,90000000000000000,VC",
            "2006-2007 approved,A-1,2007,staff,P-3,99999999999999999999999.5,,VC",
        ),
        [
            "cost_lines.csv:2:amount: -123.00 is below the minimum 0.00",
            "cost_lines.csv:3:amount: '90000000000000000' is more than CHF 999,999,999,999,999.99, "
            "the largest amount a value may hold",
            "cost_lines.csv:4:work_months: '99999999999999999999999.5' has 23 digits before the point; "
            "a number has at most 15",
        ],
    ),
    "other numbers beyond 64 bits": (
        {
            "overhead_rates.csv": "unit_code,year,rate\nGS,2007,12345678901234567890\n",
            "kpi_targets.csv": "kpi_code,year,target\nK-1,2007," + "9" * 400 + "\n",
        },
        [
            "kpi_targets.csv:2:target: '" + "9" * 400 + "' has 400 digits before the point; a number has at most 15",
            "overhead_rates.csv:2:rate: '12345678901234567890' has 20 digits before the point; a number has at most 15",
        ],
    ),
    "digits of another script": (
        actuals("N-1,2006-07-01,GS,,S-01,travel,\u0661\u0662\u0663,RB", "N-2,\u0662006-07-01,GS,,S-01,travel,1,RB"),
        [
            "actuals.csv:2:amount: '\u0661\u0662\u0663' is not an amount in CHF",
            "actuals.csv:3:date: '\u0662006-07-01' is not a date (YYYY-MM-DD)",
        ],
    ),
    "control characters": (
        {
            "agreements.csv": "code,title,kind,parties,signed_date,in_force_date,status\n"
            'AGR-8,"Title\x1b[31m red",treaty,A; B,,,open\n'
            'AGR-9,"Two\nlines",treaty,"A;\tB",,,open\n'
            "AGR-10,Nul\x00here,treaty,A; B,,,open\n"
        },
        [
            "agreements.csv:2:title: holds a control character (U+001B); remove it",
            "agreements.csv:3:parties: holds a control character (U+0009); remove it",
            "agreements.csv:3:title: holds a control character (U+000A); remove it",
            "agreements.csv:4:title: holds a control character (U+0000); remove it",
        ],
    ),
    "parent cycle": (
        {"units.csv": "code,name,parent_code\nP,One,Q\nQ,Two,P\n"},
        [
            "units.csv:2:parent_code: 'Q' makes a cycle of parents",
            "units.csv:3:parent_code: 'P' makes a cycle of parents",
        ],
    ),
    "several problems in several files, sorted": (
        {
            **actuals("N-1,2006-07-01,GS,,S-01,travel,1.001,RB", "N-2,2006-07-01,GS,,S-01,trip,1,RB"),
            "income.csv": "reference,date,funding_source_code,amount\nI-9,2006-1-1,VC,5\n",
        },
        [
            "actuals.csv:2:amount: '1.001' has more than two decimals",
            "actuals.csv:3:category: 'trip' is not one of: staff, travel, meetings, documents, contractual, "
            "equipment, other",
            "income.csv:2:date: '2006-1-1' is not a date (YYYY-MM-DD)",
        ],
    ),
    "a good file beside a bad one writes nothing": (
        {**actuals(GOOD_ACTUAL), "income.csv": "reference,date,funding_source_code,amount\nI-9,2006-01-01,VC,\n"},
        ["income.csv:2:amount: a value is required"],
    ),
}


@pytest.fixture
def loaded(workspace: Workspace) -> Workspace:
    """A workspace holding the hand-made bundle; the acting user is its admin ``boss``."""
    import_bundle(workspace, HANDMADE)
    workspace.user = "boss"
    return workspace


def write_bundle(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    for name, text in files.items():
        data = text.encode("latin-1") if "\xe9" in text else text.encode("utf-8")
        (folder / name).write_bytes(data)
    return folder


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_is_rejected_exactly(
    case: str, loaded: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files, expected = CASES[case]
    bundle = write_bundle(tmp_path / "bundle", files)
    counts, checksum = loaded.table_counts(), loaded.checksum()
    code = main(["--db", loaded.url, "--user", "boss", "import", str(bundle), "--quiet"])
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert err[:-1] == expected
    noun = "problem" if len(expected) == 1 else "problems"
    assert err[-1] == f"itu-plan: {len(expected)} {noun} found; nothing was written"
    assert loaded.table_counts() == counts
    assert loaded.checksum() == checksum

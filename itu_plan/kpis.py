"""The values of the KPIs as known at a date.

A measured KPI takes its values from ``measurements``; a KPI with a
``formula`` (``model.KPI_FORMULAS``) is computed from the workspace's own
figures, so that it can never contradict a report.

(Interface shared by the warnings and the KPI cards; computed values to come.)
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import Connection, select

from itu_plan.model import Measurement


def values(connection: Connection, as_of: dt.date) -> dict[int, list[tuple[dt.date, float]]]:
    """KPI id -> its values known at the end of ``as_of``, oldest first."""
    found: dict[int, list[tuple[dt.date, float]]] = defaultdict(list)
    for kpi_id, date, value in connection.execute(
        select(Measurement.kpi_id, Measurement.date, Measurement.value)
        .where(Measurement.date <= as_of)
        .order_by(Measurement.kpi_id, Measurement.date)
    ):
        found[kpi_id].append((date, value))
    return dict(found)

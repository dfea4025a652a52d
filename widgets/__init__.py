"""ipywidgets components for the itu-plan apps.

Each composite is one ``Box`` subclass with its public state as traitlets; it
holds no SQL and no business rule and calls :mod:`itu_plan` for everything.
Every composite has an :class:`ErrorBanner` that guards its callbacks and a
``static_html()`` for rendered pages (see :mod:`widgets.static`).

A notebook is glue::

    import widgets
    app = widgets.App.open(db_url)
    p = widgets.parameters({"version": version, "year": year, "unit": unit})
    filters = widgets.FilterBar(app, version=p["version"], year=p["year"], unit=p["unit"])
    widgets.show(widgets.AppHeader(app), filters,
                 widgets.KpiCards(app, filters, ["budget", "actual", "execution_rate"]))

Names are imported when first used, so a page loads only what it shows (the
plan grid's ipydatagrid, for instance, only on the operational plan).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from widgets.app import App
    from widgets.approval_panel import ApprovalPanel
    from widgets.comments_panel import CommentsPanel
    from widgets.data_quality_panel import DataQualityPanel
    from widgets.directory import AppDirectory
    from widgets.elapsed_share import ElapsedShare
    from widgets.error_banner import ErrorBanner
    from widgets.export_button import ExportButton
    from widgets.filter_bar import FilterBar
    from widgets.header import AppHeader
    from widgets.kpi_cards import KpiCards
    from widgets.layout import Row
    from widgets.notebook_parameters import parameters
    from widgets.plan_grid import PlanGrid
    from widgets.report_chart import ReportChart
    from widgets.report_heading import ReportHeading
    from widgets.report_table import ReportTable
    from widgets.scenario_panel import ScenarioPanel
    from widgets.static import STATIC_CSS, is_static, show
    from widgets.warnings_list import WarningsList

_EXPORTS = {
    "App": "widgets.app",
    "AppDirectory": "widgets.directory",
    "AppHeader": "widgets.header",
    "ElapsedShare": "widgets.elapsed_share",
    "ApprovalPanel": "widgets.approval_panel",
    "CommentsPanel": "widgets.comments_panel",
    "DataQualityPanel": "widgets.data_quality_panel",
    "ErrorBanner": "widgets.error_banner",
    "ExportButton": "widgets.export_button",
    "FilterBar": "widgets.filter_bar",
    "KpiCards": "widgets.kpi_cards",
    "PlanGrid": "widgets.plan_grid",
    "ReportChart": "widgets.report_chart",
    "ReportHeading": "widgets.report_heading",
    "ReportTable": "widgets.report_table",
    "Row": "widgets.layout",
    "ScenarioPanel": "widgets.scenario_panel",
    "WarningsList": "widgets.warnings_list",
    "STATIC_CSS": "widgets.static",
    "is_static": "widgets.static",
    "show": "widgets.static",
    "parameters": "widgets.notebook_parameters",
}

__all__ = [
    "STATIC_CSS",
    "App",
    "AppDirectory",
    "AppHeader",
    "ApprovalPanel",
    "CommentsPanel",
    "DataQualityPanel",
    "ElapsedShare",
    "ErrorBanner",
    "ExportButton",
    "FilterBar",
    "KpiCards",
    "PlanGrid",
    "ReportChart",
    "ReportHeading",
    "ReportTable",
    "Row",
    "ScenarioPanel",
    "WarningsList",
    "is_static",
    "parameters",
    "show",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'widgets' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

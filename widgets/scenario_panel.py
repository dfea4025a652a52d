"""ScenarioPanel: what-if drivers over the financial plan (nothing is written)."""

from __future__ import annotations

import html
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from itu_plan import catalog
from widgets import charts, svg_chart
from widgets import format as fmt
from widgets.base import Composite

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from widgets.app import App
    from widgets.filter_bar import FilterBar

SHOWN = ("total_income", "expenditure", "balance", "net_balance")


class ScenarioPanel(Composite):
    """Sliders for the Member States' unit value (CHF), inflation and the vacancy rate
    (percent), applied to the financial plan of the filter bar's version through
    ``Workspace.report("financial-plan", scenario=...)``; the plan column as it stands
    and under the scenario side by side, per year of the version's period (a scenario
    changes the plan, never the actuals). The sliders show percent; the drivers sent
    are fractions (5 % is ``0.05``), which the core checks. ``scenario`` holds the
    drivers sent (exact text)."""

    unit_value = traitlets.Int(0)
    inflation = traitlets.Float(0.0)
    vacancy_rate = traitlets.Float(0.0)
    scenario = traitlets.Dict()

    def __init__(self, app: App, filters: FilterBar, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.filters = filters
        values = catalog.unit_values(app.workspace)
        member_state = [v for (_year, kind), v in sorted(values.items()) if kind == "member_state"]
        self.base_unit_value = int(member_state[-1]) if member_state else 0
        style = {"description_width": "200px"}
        layout = w.Layout(width="560px")
        self.unit_value_slider = w.IntSlider(
            value=self.base_unit_value,
            min=max(0, self.base_unit_value // 2),
            max=max(1000, self.base_unit_value * 3 // 2),
            step=1000,
            description="Unit value (CHF)",
            readout_format=",d",
            continuous_update=False,
            style=style,
            layout=layout,
        )
        self.inflation_slider = w.FloatSlider(value=0, min=0, max=10, step=0.5, description="Inflation (% a year)",
                                              readout_format=".1f", continuous_update=False, style=style,
                                              layout=layout)  # fmt: skip
        self.vacancy_slider = w.FloatSlider(value=0, min=0, max=30, step=1, description="Vacancy rate (%)",
                                            readout_format=".0f", continuous_update=False, style=style,
                                            layout=layout)  # fmt: skip
        self.reset = w.Button(description="Back to the plan", icon="undo")
        traitlets.link((self.unit_value_slider, "value"), (self, "unit_value"))
        traitlets.link((self.inflation_slider, "value"), (self, "inflation"))
        traitlets.link((self.vacancy_slider, "value"), (self, "vacancy_rate"))
        self.unit_value = self.base_unit_value
        self.result = w.HTML()
        self.view = w.HTML()  # the chart, drawn by the kernel (widgets.svg_chart)
        self.div_id = app.next_id("chart")
        self.figure: go.Figure | None = None
        self._frames: tuple[pd.DataFrame, pd.DataFrame] | None = None
        self.observe(self.guard(self._on_drivers), names=["unit_value", "inflation", "vacancy_rate"])
        self.reset.on_click(self.guard(self._on_reset))
        filters.on_change(self.guard(self._on_drivers))
        self.children = [
            self.banner,
            w.VBox([self.unit_value_slider, self.inflation_slider, self.vacancy_slider, self.reset]),
            self.result,
            self.view,
        ]
        self.guard(self._on_drivers)()

    def drivers(self) -> dict[str, str]:
        """The scenario drivers that differ from the plan, as exact decimal text."""
        drivers = {}
        if self.unit_value != self.base_unit_value:
            drivers["member_state_unit_value"] = str(self.unit_value)
        if self.inflation:
            drivers["inflation"] = str((Decimal(str(self.inflation)) / 100).normalize())
        if self.vacancy_rate:
            drivers["vacancy_rate"] = str((Decimal(str(self.vacancy_rate)) / 100).normalize())
        return drivers

    def _on_reset(self, _button: Any = None) -> None:
        with self.hold_trait_notifications():
            self.unit_value = self.base_unit_value
            self.inflation = 0.0
            self.vacancy_rate = 0.0
        self._on_drivers()

    def _on_drivers(self, _change: Any = None) -> None:
        self.scenario = self.drivers()
        with self.busy(self.unit_value_slider, self.inflation_slider, self.vacancy_slider, self.reset):
            base = self.filters.report("financial-plan")
            if self.scenario:
                scenario = self.app.workspace.report(
                    "financial-plan", version=self.filters.version, scenario=dict(self.scenario)
                )
                scenario = self.filters.restrict(scenario)
            else:
                scenario = base
        self._frames = (base, scenario)
        self.result.value = self._table(base, scenario)
        self.figure = charts.balance_scenario(base, scenario)
        self.view.value = svg_chart.render(self.figure, "balance-scenario")

    def table(self) -> pd.DataFrame:
        """Plan and scenario per year and line (total income, expenditure, balance, net balance)."""
        import pandas as pd

        if self._frames is None:
            self._on_drivers()
        assert self._frames is not None
        base, scenario = self._frames
        columns = ["year", "line", "plan"]
        merged = base[columns].merge(scenario[columns], on=["year", "line"], suffixes=("_base", "_scenario"))
        merged = merged[merged["line"].isin(SHOWN)].reset_index(drop=True)
        return pd.DataFrame(
            {
                "year": merged["year"],
                "line": merged["line"],
                "plan": merged["plan_base"],
                "scenario": merged["plan_scenario"],
                "difference": [s - p for p, s in zip(merged["plan_base"], merged["plan_scenario"], strict=True)],
            }
        )

    def _table(self, base: pd.DataFrame, scenario: pd.DataFrame) -> str:
        self._frames = (base, scenario)
        drivers = self.scenario
        described = (
            ", ".join(f"{html.escape(k.replace('_', ' '))} {html.escape(v)}" for k, v in drivers.items())
            if drivers
            else "none: the plan as it stands"
        )
        return f'<div class="itu-note">Scenario drivers: {described}.</div>' + fmt.table_html(
            self.table(),
            labels={"plan": "Plan (CHF)", "scenario": "Scenario (CHF)", "difference": "Difference (CHF)"},
            cell_html={"line": lambda v: html.escape(fmt.LINE_LABELS.get(v, str(v)))},
            attrs={"data-report": "financial-plan-scenario"},
        )

    def static_html(self) -> str:
        chart = charts.figure_html(self.figure, self.div_id) if self.figure is not None else ""
        return self.banner.static_html() + self.result.value + chart

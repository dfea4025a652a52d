"""FilterBar: plan version, year, unit and objective, the filters other composites follow."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from itu_plan import NotFound
from widgets.base import Composite
from widgets.notebook_parameters import on_request

if TYPE_CHECKING:
    from fractions import Fraction

    import pandas as pd

    from itu_plan.catalog import VersionInfo
    from widgets.app import App

FIELDS = ("version", "year", "unit", "objective")
INDENT = "\u2003"
#: The dropdowns' value for "all" (an ipywidgets Dropdown shows nothing for a None value).
ALL = ""


def _to_trait(value: Any) -> Any:
    return None if value == ALL else value


def _to_select(value: Any) -> Any:
    return ALL if value is None else value


class FilterBar(Composite):
    """Dropdowns for the plan version, year, unit and objective.

    The public state is four traitlets (``version``: a version name; ``year``,
    ``unit``, ``objective``: None for all). Initial values may come from a URL,
    so they are checked: an unknown one is reported in the banner and ignored.
    Composites follow the bar with :meth:`on_change` and read it with
    :meth:`report` / :meth:`restrict`.
    """

    version = traitlets.Unicode(allow_none=True)
    year = traitlets.Int(allow_none=True)
    unit = traitlets.Unicode(allow_none=True)
    objective = traitlets.Unicode(allow_none=True)

    def __init__(
        self,
        app: App,
        *,
        version: str | None = None,
        year: int | str | None = None,
        unit: str | None = None,
        objective: str | None = None,
        fields: Iterable[str] = FIELDS,
        prefer_draft: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, **kwargs)
        self.fields = tuple(f for f in FIELDS if f in set(fields))
        cat = app.catalog
        problems: list[str] = []
        self.default_version = cat.default_version
        if prefer_draft:
            drafts = [v.name for v in cat.versions if v.is_draft]
            self.default_version = drafts[-1] if drafts else self.default_version
        values = self._resolve(problems, {"version": version, "year": year, "unit": unit, "objective": objective})
        self.version, self.year, self.unit, self.objective = (values[name] for name in FIELDS)

        style = {"description_width": "initial"}
        narrow = w.Layout(width="auto", min_width="180px")
        wide = w.Layout(width="auto", min_width="220px", max_width="420px")
        choices = {
            "version": ("Plan version", [(v.label, v.name) for v in cat.versions], narrow),
            "year": ("Year", [("All years", ALL)] + [(str(y), y) for y in cat.years], narrow),
            "unit": (
                "Unit",
                [("All units", ALL)] + [(f"{INDENT * u.depth}{u.code} — {u.name}", u.code) for u in cat.units],
                wide,
            ),
            "objective": (
                "Objective",
                [("All objectives", ALL)]
                + [(f"{INDENT * o.depth}{o.code} — {o.name}", o.code) for o in cat.objectives],
                wide,
            ),
        }
        #: the dropdowns shown (one per field), by field
        self.selects: dict[str, w.Dropdown] = {}
        for name in self.fields:
            description, options, layout = choices[name]
            select = w.Dropdown(
                description=description,
                options=options,
                value=_to_select(getattr(self, name)),
                layout=layout,
                style=style,
            )
            traitlets.link((select, "value"), (self, name), transform=(_to_trait, _to_select))
            self.selects[name] = select
        #: what the chosen filters mean when they show nothing (a year outside the version's period)
        self.notice = w.HTML()
        self.children = (
            [
                self.banner,
                w.HBox(list(self.selects.values()), layout=w.Layout(flex_flow="row wrap")),
                self.notice,
            ]
            if self.selects
            else [self.banner]
        )
        if problems:
            self.banner.show("; ".join(problems))
        app.observe(self.guard(self._on_versions), names="versions_revision")
        self.observe(self.guard(self._on_period), names=["version", "year"])
        self._on_period()
        on_request(self.guard(self._on_request))

    def _resolve(self, problems: list[str], values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` (a version, year, unit and objective as a URL may give them) checked
        against the workspace; an unknown one is noted in ``problems`` and left unset."""
        cat = self.app.catalog
        checks: dict[str, Callable[[Any], Any]] = {
            "version": lambda v: cat.version(v).name,
            "year": self._year,
            "unit": lambda u: cat.unit(u).code,
            "objective": lambda o: cat.objective(o).code,
        }
        resolved = {name: self._checked(problems, name, values[name], checks[name]) for name in values}
        if "version" in resolved:
            resolved["version"] = resolved["version"] or self.default_version
        return resolved

    def _on_request(self, changed: Mapping[str, Any]) -> None:
        """The page's query string asks for other filters than the notebook's (a preheated
        kernel computed the page before the request came): show those."""
        problems: list[str] = []
        values = self._resolve(problems, {name: value for name, value in changed.items() if name in FIELDS})
        with self.hold_trait_notifications():
            for name, value in values.items():
                setattr(self, name, value)
        if problems:
            self.banner.show("; ".join(problems))

    def _on_versions(self, _change: Any = None) -> None:
        """Versions changed status: show their new labels (the choice stays)."""
        if "version" in self.selects:
            with self.hold_trait_notifications():
                value = self.selects["version"].value
                self.selects["version"].options = [(v.label, v.name) for v in self.app.catalog.versions]
                self.selects["version"].value = value

    def _on_period(self, _change: Any = None) -> None:
        message = self.out_of_period()
        self.notice.value = f'<div class="itu-notice">{html.escape(message)}</div>' if message else ""

    @staticmethod
    def _checked(problems: list[str], name: str, value: Any, check: Callable[[Any], Any]) -> Any:
        if value is None or value == "":
            return None
        try:
            return check(value)
        except NotFound as exc:
            problems.append(f"{exc}; showing all instead" if name != "version" else f"{exc}; showing the default")
            return None

    def _year(self, value: int | str) -> int:
        text = str(value).strip()
        if not text.isdigit() or int(text) not in self.app.catalog.years:
            raise NotFound("year with plan or execution data", text)
        return int(text)

    # -- for the composites that follow the bar ---------------------------------------------

    def on_change(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` whenever a filter changes."""
        self.observe(lambda _change: callback(), names=list(FIELDS))

    def report(self, name: str, **options: Any) -> pd.DataFrame:
        """Report ``name`` for the chosen version, restricted to the chosen year, unit
        and objective where the report has those columns."""
        return self.restrict(self.app.report(name, version=self.version, **options))

    def restrict(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.app.catalog.restrict(frame, unit=self.unit, objective=self.objective, year=self.year)

    @property
    def version_info(self) -> VersionInfo | None:
        """The chosen version with its period (None when the workspace has none)."""
        return self.app.catalog.version(self.version) if self.version else None

    def out_of_period(self) -> str | None:
        """Why the chosen version shows nothing for the chosen year (a year outside its
        period), in words; None when the year is in the period, or no year or no version
        is chosen here."""
        version = self.version_info
        if "version" not in self.fields or version is None or self.year is None or version.covers(self.year):
            return None
        others = [v.label for v in self.app.catalog.versions if v.covers(self.year)]
        hint = f"; {', '.join(others)} {'covers' if len(others) == 1 else 'cover'} {self.year}" if others else ""
        return (
            f"{self.year} is outside the period of {version.label}: its figures are for "
            f"{version.period} only. Choose a year of {version.period} or all years{hint}."
        )

    def elapsed_share(self) -> Fraction | None:
        """The share of the chosen version's period (or of the chosen year) elapsed at the
        end of the app's as-of date; None without a version or for a year outside its period."""
        version = self.version_info
        if version is None or (self.year is not None and not version.covers(self.year)):
            return None
        return version.elapsed_share(self.app.as_of, self.year)

    def state(self) -> dict[str, Any]:
        """The filters as data attributes of static HTML need them."""
        return {name: getattr(self, name) for name in FIELDS}

    def describe(self) -> list[tuple[str, str]]:
        """(label, value) pairs people read: ``("Unit", "BDT — Telecommunication ...")``."""
        cat = self.app.catalog
        parts = []
        for name in self.fields:
            if name == "version":
                version = cat.version(self.version) if self.version else None
                parts.append(("Plan version", version.label if version else "none"))
            elif name == "year":
                parts.append(("Year", str(self.year) if self.year is not None else "all years"))
            elif name == "unit":
                unit = cat.unit(self.unit) if self.unit else None
                parts.append(("Unit", f"{unit.code} — {unit.name} and units below" if unit else "all units"))
            else:
                objective = cat.objective(self.objective) if self.objective else None
                parts.append(("Objective", f"{objective.code} — {objective.name}" if objective else "all objectives"))
        return parts

    def static_html(self) -> str:
        text = " · ".join(f"{html.escape(k)}: <b>{html.escape(v)}</b>" for k, v in self.describe())
        return f'{self.banner.static_html()}<div class="itu-filters">{text}</div>{self.notice.value}'

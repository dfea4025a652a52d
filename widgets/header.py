"""AppHeader: the title band of every page: organisation, title, the version and its
period, the as-of date of the data, who is acting."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from widgets.base import Composite
from widgets.static import stylesheet

if TYPE_CHECKING:
    from widgets.app import App
    from widgets.filter_bar import FilterBar

ORGANISATION = "International Telecommunication Union · General Secretariat"


class AppHeader(Composite):
    """The page title with what its figures are: the plan version chosen in ``filters``
    (when the bar offers one) with its period, and the as-of date of the execution
    data; in the app also the acting user and what they may do. Live, it also
    carries the shared stylesheet, and follows the filters."""

    def __init__(
        self, app: App, title: str = "", subtitle: str = "", *, filters: FilterBar | None = None, **kwargs: Any
    ) -> None:
        super().__init__(app, **kwargs)
        self.title = title
        self.subtitle = subtitle
        self.filters = filters
        self.html = w.HTML()
        #: what the app says while it cannot look for others' changes (``App.unreachable``)
        self.status = w.HTML()
        self.children = [self.banner, self.html, self.status]
        self.follow(filters)
        app.observe(self.guard(self._on_unreachable), names="unreachable")

    def _on_unreachable(self, _change: Any = None) -> None:
        message = self.app.unreachable
        self.status.value = f'<div class="itu-unreachable">{html.escape(message)}</div>' if message else ""

    def _on_filters(self) -> None:
        self.html.value = f"<style>{stylesheet()}</style>{self._html(live=True)}"

    def describe(self) -> list[str]:
        """What the page's figures are, in the words the header shows: ``["Plan version
        2006-2007 approved (2006-2007)", "Execution data as of 2007-06-30"]``."""
        parts = []
        version = self.filters.version_info if self.filters is not None and "version" in self.filters.fields else None
        if version is not None:
            parts.append(f"Plan version {version.label}")
        as_of = self.app.catalog.as_of
        parts.append(
            f"Execution data as of {as_of.isoformat()}"
            if as_of
            else f"Execution data as of today, {self.app.as_of.isoformat()} (the workspace sets no as-of date)"
        )
        return parts

    def _html(self, *, live: bool) -> str:
        meta = self.describe()
        if live:
            meta.append(f"Acting as {self.app.user.describe()}")
        parts = [f'<div class="itu-org">{html.escape(ORGANISATION)}</div>']
        if self.title:
            parts.append(f'<div class="itu-title">{html.escape(self.title)}</div>')
        if self.subtitle:
            parts.append(f'<div class="itu-meta">{html.escape(self.subtitle)}</div>')
        parts.append(f'<div class="itu-meta">{html.escape(" · ".join(meta))}</div>')
        if live and (alarm := self._trail_alarm()):
            parts.append(f'<div class="itu-meta itu-trail-broken" role="alert">{html.escape(alarm)}</div>')
        return f'<div class="itu-header" data-as-of="{self.app.as_of.isoformat()}">{"".join(parts)}</div>'

    def _trail_alarm(self) -> str:
        """A sentence when the audit trail cannot be trusted (its chain broken, its guards
        gone), else ''."""
        trail = self.app.trail
        if not trail.whole:
            return f"Warning: {trail.sentence()} Ask an administrator to run `itu-plan audit verify`."
        if trail.reason:
            return (
                f"Warning: the audit trail is not protected: {trail.reason}. "
                "Ask an administrator to run `itu-plan init`."
            )
        return ""

    def static_html(self) -> str:
        return self._html(live=False)

"""AppHeader: the title band of every page: organisation, title, data date, who is acting."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from widgets.base import Composite
from widgets.static import stylesheet

if TYPE_CHECKING:
    from widgets.app import App

ORGANISATION = "International Telecommunication Union · General Secretariat"


class AppHeader(Composite):
    """The page title with the as-of date of the execution data and, in the app, the
    acting user and what they may do. Live, it also carries the shared stylesheet."""

    def __init__(self, app: App, title: str = "", subtitle: str = "", **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.title = title
        self.subtitle = subtitle
        self.html = w.HTML(f"<style>{stylesheet()}</style>{self._html(live=True)}")
        self.children = [self.banner, self.html]

    def _html(self, *, live: bool) -> str:
        as_of = self.app.catalog.as_of
        meta = [f"Execution data as of {as_of.isoformat()}" if as_of else "No execution data date set"]
        if live:
            meta.append(f"Signed in as {self.app.user.describe()}")
        parts = [f'<div class="itu-org">{html.escape(ORGANISATION)}</div>']
        if self.title:
            parts.append(f'<div class="itu-title">{html.escape(self.title)}</div>')
        if self.subtitle:
            parts.append(f'<div class="itu-meta">{html.escape(self.subtitle)}</div>')
        parts.append(f'<div class="itu-meta">{html.escape(" · ".join(meta))}</div>')
        return f'<div class="itu-header">{"".join(parts)}</div>'

    def static_html(self) -> str:
        return self._html(live=False)

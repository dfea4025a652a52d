"""AppDirectory: the home page's cards linking to each app."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import ipywidgets as w

from widgets.base import Composite
from widgets.notebook_parameters import NAMES as QUERY
from widgets.notebook_parameters import on_request
from widgets.static import is_static

if TYPE_CHECKING:
    from widgets.app import App


class AppDirectory(Composite):
    """One card per app: ``entries`` are ``(notebook name, title, description)``.

    Links are relative, ``NAME.ipynb`` in the apps (Voilà serves each at
    ``/voila/render/NAME.ipynb``, beside the index) and ``NAME.html`` in the
    rendered site; in the apps the page's ``parameters`` that are set (version,
    year, unit, objective) are passed on in the query string.
    """

    def __init__(
        self,
        app: App,
        entries: Iterable[tuple[str, str, str]],
        *,
        parameters: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, **kwargs)
        self.entries = tuple(entries)
        self.parameters = dict(parameters or {})
        self.query = self._query()
        self.html = w.HTML(self._html(static=is_static()))
        self.children = [self.banner, self.html]
        on_request(self.guard(self._on_request))

    def _query(self) -> str:
        return urlencode({k: v for k, v in self.parameters.items() if k in QUERY and v not in (None, "")})

    def _on_request(self, changed: Mapping[str, Any]) -> None:
        """The page's query string changed parameters (a preheated kernel built the page
        before the request came): pass those on."""
        self.parameters.update({k: v for k, v in changed.items() if k in self.parameters})
        self.query = self._query()
        self.html.value = self._html(static=False)

    def href(self, name: str, *, static: bool) -> str:
        if static:
            return f"{name}.html"
        return f"{name}.ipynb" + (f"?{self.query}" if self.query else "")

    def _html(self, *, static: bool) -> str:
        cards = "".join(
            f'<a class="itu-card" href="{html.escape(self.href(name, static=static))}" data-app="{html.escape(name)}">'
            f'<div class="itu-card-title">{html.escape(title)}</div>'
            f'<div class="itu-card-text">{html.escape(text)}</div></a>'
            for name, title, text in self.entries
        )
        return f'<div class="itu-directory">{cards}</div>'

    def static_html(self) -> str:
        return self._html(static=True)

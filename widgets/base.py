"""What every composite shares: an error banner that guards its callbacks, busy
state for long actions, and a static form for rendered pages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import ipywidgets as w

from widgets.error_banner import ErrorBanner
from widgets.static import prepare

if TYPE_CHECKING:
    from widgets.app import App


class Filters(Protocol):
    """What a composite follows (a :class:`~widgets.filter_bar.FilterBar`): something
    that calls back when its choices change."""

    def on_change(self, callback: Callable[[], Any]) -> None: ...


class Composite(w.VBox):
    """A ``Box`` of widgets with its own :class:`ErrorBanner` (``banner``).

    Subclasses build their children in ``__init__``, register handlers named
    ``_on_<thing>`` through ``self.guard`` and implement ``static_html()``.
    """

    def __init__(self, app: App, *, banner: ErrorBanner | None = None, **kwargs: Any) -> None:
        prepare()
        super().__init__(**kwargs)
        self.app = app
        self.banner = banner if banner is not None else ErrorBanner()
        self.add_class("itu-app")
        self.add_class("itu-" + re.sub(r"(?<!^)(?=[A-Z])", "-", type(self).__name__).lower())  # itu-plan-grid

    def guard(self, callback: Any, *, clear: bool = True) -> Any:
        """``callback`` with every error shown in the banner, never as a traceback."""
        return self.banner.guard(callback, clear=clear)

    def follow(self, filters: Filters | None) -> None:
        """Compute the view now (:meth:`_on_filters`) and again whenever the filters
        change or the workspace does (the app's ``revision``: someone saved)."""
        refresh = self.guard(self._on_filters)
        if filters is not None:
            filters.on_change(refresh)
        self.app.observe(lambda _change: refresh(), names="revision")
        refresh()

    def _on_filters(self) -> None:
        """Compute the view for the current filters: composites that :meth:`follow` define it."""
        raise NotImplementedError

    @contextmanager
    def busy(self, *controls: w.Widget) -> Iterator[None]:
        """Disable ``controls`` during a long action; re-enable them in ``finally``."""
        before = [getattr(c, "disabled", False) for c in controls]
        for control in controls:
            control.disabled = True
        try:
            yield
        finally:
            for control, was in zip(controls, before, strict=True):
                control.disabled = was

    def static_html(self) -> str:
        raise NotImplementedError

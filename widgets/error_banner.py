"""A banner where every callback error lands, in plain words: no traceback for managers."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import ipywidgets as w
import traitlets

from itu_plan import ItuPlanError

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


class ErrorBanner(w.VBox):
    """Shows the last error message; hidden while there is none.

    ``guard`` wraps a callback so that an ``ItuPlanError`` shows its own message
    and anything else a generic sentence (the details go to the log).
    """

    message = traitlets.Unicode("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._text = w.HTML()
        self._dismiss = w.Button(description="Dismiss", layout=w.Layout(width="auto"))
        self._dismiss.on_click(self._on_dismiss)
        self.children = [w.HBox([self._text, self._dismiss])]
        self.add_class("itu-error-banner")
        self._on_message({"new": self.message})
        self.observe(self._on_message, names="message")

    def show(self, error: BaseException | str) -> None:
        if isinstance(error, ItuPlanError):
            self.message = str(error)
        elif isinstance(error, str):
            self.message = error
        else:
            log.exception("unexpected error in a widget callback", exc_info=error)
            self.message = "Something went wrong and nothing was saved. Please try again or tell an administrator."

    def clear(self) -> None:
        self.message = ""

    def guard(self, callback: F) -> F:
        """``callback`` with its errors shown here instead of lost in the kernel log."""

        @functools.wraps(callback)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                result = callback(*args, **kwargs)
            except Exception as exc:
                self.show(exc)
                return None
            self.clear()
            return result

        return guarded  # type: ignore[return-value]

    def _on_message(self, change: dict[str, Any]) -> None:
        text = change["new"]
        self._text.value = f"<b>Problem:</b> {html.escape(text)}" if text else ""
        self.layout.display = "flex" if text else "none"

    def _on_dismiss(self, _button: w.Button) -> None:
        self.clear()

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
from widgets.static import prepare

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

#: What a manager reads when something unexpected (a bug, a lost connection) went wrong.
UNEXPECTED = "Something went wrong and nothing was saved. Please try again or tell an administrator."


class ErrorBanner(w.VBox):
    """Shows the last error message; hidden while there is none.

    ``guard`` wraps a callback so that an ``ItuPlanError`` shows its own message
    and anything else a generic sentence (the details go to the log). A message
    may come with one action, such as "Reload" after a conflict.
    """

    message = traitlets.Unicode("")
    #: the label of the action button shown with the message ("" for none)
    action = traitlets.Unicode("")

    def __init__(self, **kwargs: Any) -> None:
        prepare()
        super().__init__(**kwargs)
        self._callback: Callable[[], Any] | None = None
        self.add_class("itu-error-banner")
        self.layout.display = "none"
        self.observe(self._on_message, names=["message", "action"])

    def _build(self) -> None:
        """The text and buttons, made when the first message comes: most banners never
        show one, and every widget costs the page a model to load."""
        self._text = w.HTML()
        self._act = w.Button(description="", button_style="warning", layout=w.Layout(width="auto"))
        self._dismiss = w.Button(description="Dismiss", layout=w.Layout(width="auto"))
        self._act.add_class("itu-banner-action")
        self._dismiss.add_class("itu-banner-dismiss")
        self._text.add_class("itu-banner-text")
        self._act.on_click(self._on_act)
        self._dismiss.on_click(self._on_dismiss)
        self.children = [w.HBox([self._text, self._act, self._dismiss], layout=w.Layout(align_items="center"))]

    def show(self, error: BaseException | str, *, action: tuple[str, Callable[[], Any]] | None = None) -> None:
        """Show ``error`` (an ``ItuPlanError`` in its own words, anything else as a
        generic sentence), optionally with an action button ``(label, callback)``."""
        if isinstance(error, ItuPlanError):
            text = str(error)
        elif isinstance(error, str):
            text = error
        else:
            log.error("unexpected error in a widget callback", exc_info=error)
            text = UNEXPECTED
        self._callback = action[1] if action else None
        with self.hold_trait_notifications():
            self.action = action[0] if action else ""
            self.message = text

    def clear(self) -> None:
        self._callback = None
        with self.hold_trait_notifications():
            self.action = ""
            self.message = ""

    def guard(self, callback: F, *, clear: bool = True) -> F:
        """``callback`` with its errors shown here instead of lost in the kernel log.

        The banner is cleared when the callback starts (a new action begins), so a
        message the callback shows itself stays up. With ``clear=False`` the callback
        decides itself when to clear (a handler that may be called by an echo of what
        the widget itself showed must not wipe the message of the real action).
        """

        @functools.wraps(callback)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if clear:
                self.clear()
            try:
                return callback(*args, **kwargs)
            except Exception as exc:
                self.show(exc)
                return None

        return guarded  # type: ignore[return-value]

    def static_html(self) -> str:
        if not self.message:
            return ""
        return f'<div class="itu-error-banner"><b>Problem:</b> {html.escape(self.message)}</div>'

    def _on_message(self, _change: Any) -> None:
        text = self.message
        if not self.children:
            if not text:
                return
            self._build()
        self._text.value = f"<b>Problem:</b> {html.escape(text)}" if text else ""
        self._act.description = self.action
        self._act.layout.display = "flex" if self.action else "none"
        self.layout.display = "flex" if text else "none"

    def _on_act(self, _button: w.Button) -> None:
        callback = self._callback
        self.clear()
        if callback is not None:
            self.guard(callback)()

    def _on_dismiss(self, _button: w.Button) -> None:
        self.clear()

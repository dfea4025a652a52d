"""Row: composites side by side (wrapping on narrow screens), in the app and in static pages."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from widgets.static import prepare


class Row(w.HBox):
    """``Row(chart, table)``: its children side by side."""

    def __init__(self, *children: Any, **kwargs: Any) -> None:
        prepare()
        super().__init__(list(children), layout=w.Layout(flex_flow="row wrap", align_items="flex-start"), **kwargs)
        for child in children:
            child.layout.flex = "1 1 420px"
            child.layout.min_width = "320px"

    def static_html(self) -> str:
        return '<div class="itu-row">' + "".join(f"<div>{c.static_html()}</div>" for c in self.children) + "</div>"

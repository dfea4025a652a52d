"""ExportButton: download what a composite shows, as CSV or Excel (a link, no server round trip)."""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from itu_plan import UsageError
from itu_plan.spreadsheet import frame_csv, frame_xlsx
from widgets.base import Composite

if TYPE_CHECKING:
    import pandas as pd

    from widgets.app import App

MIME = {
    "csv": "text/csv;charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def to_csv(frame: pd.DataFrame) -> bytes:
    """A spreadsheet CSV: money with two decimals, a ``.`` point and no thousands
    separators; a text a spreadsheet would take for a formula starts with ``'``."""
    return frame_csv(frame)


def to_xlsx(frame: pd.DataFrame, sheet: str) -> bytes:
    """A workbook whose texts are text cells, never formulas."""
    return frame_xlsx(frame, sheet)


class ExportButton(Composite):
    """Exports ``source.table()`` (or ``source()``), the rows a composite shows, as
    ``name.csv`` or ``name.xlsx``: a download link appears under the button.
    ``data`` holds the bytes of the last export (for tests and scripts)."""

    format = traitlets.Unicode("csv")
    filename = traitlets.Unicode("")

    def __init__(self, app: App, source: Any, name: str, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._source: Callable[[], pd.DataFrame] = source if callable(source) else source.table
        self.name = name
        self.data = b""
        self.choice = w.ToggleButtons(options=[("CSV", "csv"), ("Excel", "xlsx")], value="csv",
                                      style={"button_width": "70px"})  # fmt: skip
        traitlets.link((self.choice, "value"), (self, "format"))
        self.button = w.Button(description="Export", icon="download", tooltip="download the rows shown")
        self.link = w.HTML()
        self.button.add_class("itu-export")
        self.button.on_click(self.guard(self._on_export))
        self.children = [self.banner, w.HBox([self.choice, self.button]), self.link]

    def _on_export(self, _button: Any = None) -> None:
        with self.busy(self.button, self.choice):
            frame = self._source()
            if self.format not in MIME:
                raise UsageError(f"cannot export as {self.format!r}; choose CSV or Excel")
            self.data = to_csv(frame) if self.format == "csv" else to_xlsx(frame, self.name)
            self.filename = f"{self.name}.{self.format}"
        self.link.value = self._link(self.data, self.filename, f"{len(frame):,} rows")

    @staticmethod
    def _link(data: bytes, filename: str, what: str) -> str:
        kind = MIME[filename.rsplit(".", 1)[1]]
        href = f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"
        return (
            f'<a class="itu-download" download="{html.escape(filename)}" href="{href}">'
            f'Download {html.escape(filename)}</a> <span class="itu-note">({html.escape(what)})</span>'
        )

    def static_html(self) -> str:
        frame = self._source()
        return self.banner.static_html() + self._link(to_csv(frame), f"{self.name}.csv", f"{len(frame):,} rows, CSV")

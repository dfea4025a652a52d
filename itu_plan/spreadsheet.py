"""Files for spreadsheets: no formula that came from data ever reaches one.

Two kinds of files leave the product, and they are kept apart on purpose:

- **Exact files**, read by programs: the bundle's CSV files (``export DIR``, and
  ``data/`` of a rendered site) and ``report --format csv|json``. A cell holds the
  value, byte for byte, so that export, import and export again give identical
  files. They are data, not documents: open them in a spreadsheet through its
  import dialog with every column as text, or import them back into itu-plan.
- **Spreadsheet files**, opened by people: every ``.xlsx`` the product writes
  (``export --format xlsx`` and the apps' Export button) and the apps' Export
  button CSV. In a workbook every text is a text cell (never a formula, whatever
  it starts with; numbers are numbers). In a spreadsheet CSV a text that starts
  with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``
  (OWASP's advice against CSV injection), unless it is a plain number such as
  ``-123.45``, which stays a number.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from itu_plan.values import PLAIN_NUMBER

if TYPE_CHECKING:
    import pandas as pd
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

#: What a spreadsheet reads as the start of a formula (or of a command, for DDE).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralised(text: str) -> str:
    """``text`` as a spreadsheet CSV cell: a leading ``'`` when a spreadsheet would
    read it as a formula; plain numbers (``-123.45``) unchanged."""
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def cells(sheet: WriteOnlyWorksheet, values: Iterable[Any]) -> list[Any]:
    """A row for ``sheet.append``: every text a text cell (``=HYPERLINK(...)`` stays
    text), other values as they are."""
    from openpyxl.cell import WriteOnlyCell

    row: list[Any] = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # openpyxl reads a text starting with "=" as a formula
            row.append(cell)
        else:
            row.append(value)
    return row


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        return value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
    except ImportError:  # pragma: no cover - pandas is a dependency
        return isinstance(value, float) and math.isnan(value)


def frame_csv(frame: pd.DataFrame) -> bytes:
    """A table as a spreadsheet CSV (UTF-8, header row, ``.`` decimal point, money
    with two decimals as the table holds it), texts neutralised."""
    from pandas.api.types import is_object_dtype, is_string_dtype

    safe = frame.copy()
    for position, dtype in enumerate(frame.dtypes):
        if is_object_dtype(dtype) or is_string_dtype(dtype):
            column = safe.iloc[:, position]
            safe.iloc[:, position] = [neutralised(v) if isinstance(v, str) else v for v in column]
    safe.columns = [neutralised(str(name)) for name in frame.columns]
    # CRLF line ends (RFC 4180, as spreadsheets write them) also quote a cell holding a CR
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def frame_xlsx(frame: pd.DataFrame, sheet_name: str) -> bytes:
    """A table as a workbook of one sheet: texts as text cells, numbers as numbers,
    missing values as empty cells."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_name[:31] or "data")
    sheet.append(cells(sheet, [str(name) for name in frame.columns]))
    for row in frame.itertuples(index=False, name=None):
        sheet.append(cells(sheet, [None if _missing(v) else v for v in row]))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()

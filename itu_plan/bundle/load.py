"""Validating and loading bundle files into the workspace, all or nothing.

Files are taken in dependency order and processed in chunks, column by column:
cells are typed, references resolved (to the workspace or to rows of the same
bundle), the contract's rules checked, business keys compared with what the
workspace holds. Every problem is collected; rows are bulk-loaded into the
caller's transaction only while no problem has been found, and the caller rolls
the transaction back when any was (so nothing is ever written).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Connection, String, func, select, tuple_
from sqlalchemy.orm import Session

from itu_plan import audit, bulk, summaries
from itu_plan import model as m
from itu_plan.bundle import ahead
from itu_plan.bundle.read import Columns, RawFile, ReadError
from itu_plan.bundle.spec import BY_NAME, FILES, REFERABLE, Field, FileSpec
from itu_plan.errors import Problem, Problems
from itu_plan.model import period_in_name, period_text
from itu_plan.money import format_scaled, staff_cost
from itu_plan.values import (
    CONTROL_CHARACTER,
    MAX_CENTIMES,
    PLAIN_NUMBER,
    control_character,
    parse_amount,
    too_many_digits,
)

CHUNK = 50_000
#: Files at least this large are checked by a forked process while this one inserts.
AHEAD_BYTES = 4 << 20
YEAR_RANGE = (1900, 2100)
ORDER = {spec.name: n for n, spec in enumerate(FILES)}
#: Files whose rows later files' rules need (see ``Importer._remember``).
#: files whose rows carry a version and a year, which must lie in the version's period
PERIOD_FILES = ("cost_lines", "budget", "income_budget")
REMEMBERED = ("activities", "standard_costs", "versions", "funding_sources", "kpis")


def _null_by_default(column: Column[Any]) -> bool:
    """Whether leaving ``column`` out of an INSERT stores NULL."""
    return bool(column.nullable) and column.default is None and column.server_default is None


class Invalid:
    """Marks a cell that failed to parse (a problem is already recorded)."""

    def __repr__(self) -> str:
        return "<invalid>"

    def __reduce__(self) -> str:
        return "INVALID"  # the one marker, also after crossing from a process reading ahead


INVALID: Any = Invalid()

# -- cell parsers: text -> value, or ValueError with the reason ---------------------------------

# ASCII digits only: ``\d`` takes any script's digits, and ``int()`` reads them
_INT = re.compile(r"-?[0-9]+")
_DECIMAL = PLAIN_NUMBER
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _not_number(text: str, what: str = "a number") -> ValueError:
    hint = ""
    if "," in text:
        hint = " (use '.' as the decimal point and no thousands separators)"
    elif " " in text or "'" in text:
        hint = " (no thousands separators)"
    return ValueError(f"{text!r} is not {what}{hint}")


def parse_money(text: str) -> int:
    if not _DECIMAL.fullmatch(text):
        raise _not_number(text, "an amount in CHF")
    return parse_amount(text)


def scaled_parser(scale: int) -> Callable[[str], int]:
    unit = 10**scale

    def parse(text: str) -> int:
        if not _DECIMAL.fullmatch(text):
            raise _not_number(text)
        negative = text[0] == "-"
        whole, _, frac = text.lstrip("-").partition(".")
        if len(frac) > scale:
            raise ValueError(f"{text!r} has more than {scale} decimals")
        if reason := too_many_digits(whole):
            raise ValueError(f"{text!r} {reason}")
        value = int(whole) * unit + (int(frac.ljust(scale, "0")) if frac else 0)
        return -value if negative else value

    return parse


def parse_int(text: str) -> int:
    if not _INT.fullmatch(text):
        raise _not_number(text, "a whole number")
    if reason := too_many_digits(text):
        raise ValueError(f"{text!r} {reason}")
    return int(text)


def parse_year(text: str) -> int:
    if not _INT.fullmatch(text) or len(text) > 4 or not YEAR_RANGE[0] <= int(text) <= YEAR_RANGE[1]:
        raise ValueError(f"{text!r} is not a year (YYYY)")
    return int(text)


def parse_number(text: str) -> float:
    if not _DECIMAL.fullmatch(text):
        raise _not_number(text)
    if reason := too_many_digits(text.partition(".")[0]):
        raise ValueError(f"{text!r} {reason}")
    return float(text)


def parse_date(text: str) -> str:
    """A valid ``YYYY-MM-DD`` date, kept as that text (it sorts and loads as is)."""
    if _DATE.fullmatch(text):
        try:
            dt.date.fromisoformat(text)
            return text
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)")


def enum_parser(values: tuple[str, ...]) -> Callable[[str], str]:
    allowed = frozenset(values)
    listed = ", ".join(values)

    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"{text!r} is not one of: {listed}")
        return text

    return parse


def text_parser(limit: int | None) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if limit is not None and len(text) > limit:
            raise ValueError(f"the text is longer than {limit} characters")
        return text

    return parse


def _identity(text: str) -> str:
    return text


def parser_for(spec: FileSpec, f: Field) -> Callable[[str], Any]:
    if f.kind == "money":
        return parse_money
    if f.kind == "scaled":
        return scaled_parser(f.scale)
    if f.kind == "int":
        return parse_int
    if f.kind == "year":
        return parse_year
    if f.kind == "number":
        return parse_number
    if f.kind == "date":
        return parse_date
    if f.kind == "enum":
        return enum_parser(f.values)
    if f.kind == "text":
        column = spec.table.c.get(f.column)
        length = column.type.length if column is not None and isinstance(column.type, String) else None
        return text_parser(length)
    return _identity  # ref, refs: resolved later


def _bounds_message(f: Field, value: int) -> str | None:
    def shown(v: int) -> str:
        if f.kind == "money":
            return format_scaled(v, 2)
        if f.kind == "scaled":
            return format_scaled(v, f.scale).rstrip("0").rstrip(".")
        return str(v)

    if f.low is not None and value < f.low:
        return f"{shown(value)} is below the minimum {shown(f.low)}"
    if f.high is not None and value > f.high:
        return f"{shown(value)} is above the maximum {shown(f.high)}"
    return None


def _out_of_bounds(f: Field, values: list[Any]) -> bool:
    """Whether any number of the column is outside ``f``'s bounds."""
    if f.low is None and f.high is None:
        return False
    numbers = [v for v in values if isinstance(v, int)]
    if not numbers:
        return False
    return (f.low is not None and min(numbers) < f.low) or (f.high is not None and max(numbers) > f.high)


def _as_loaded(value: Any) -> Any:
    """A stored value as the importer holds it (dates as ISO text)."""
    return value.isoformat() if isinstance(value, dt.date) else value


# -- whole columns at once: the fast path for clean data ------------------------------------------

_SPACE = re.compile(r"\s")
_EDGE_SPACE = re.compile(r"(?:\A|\x00)\s|\s(?:\x00|\Z)")


def _edge_space(joined: str) -> bool:
    """Whether a cell of the NUL-joined column starts or ends with whitespace (any
    that ``str.strip`` removes); looking for any whitespace first is five times faster."""
    return _SPACE.search(joined) is not None and _EDGE_SPACE.search(joined) is not None


def _control_character_in(text: str) -> bool:
    """Whether ``text`` holds a control character; ``isprintable`` (three times faster than the
    pattern) clears almost every column at once."""
    return not text.isprintable() and CONTROL_CHARACTER.search(text) is not None


def fast_column(spec: FileSpec, f: Field, cells: Sequence[str], *, trimmed: bool = False) -> list[Any] | None:
    """The typed values of a whole column when every cell is clean, else None.

    Checks run over the distinct values, or over the column joined into one
    string, and numbers are converted by numpy, so a million cells cost
    milliseconds; any doubt (spaces to strip, a bad cell, a missing required
    value) returns None and the caller takes the cell-by-cell path that
    explains each problem. ``trimmed`` tells that no cell has edge whitespace.
    """
    blanks = "" in cells
    if f.required and blanks:
        return None
    if not trimmed and _edge_space("\x00".join(cells)):
        return None
    kind = f.kind
    if kind in ("text", "ref", "refs") and _control_character_in("".join(cells if kind == "text" else set(cells))):
        return None  # the cell-by-cell path names the cell (other kinds refuse such a cell themselves)
    if kind in ("text", "ref", "refs"):
        if kind == "text":
            column = spec.table.c.get(f.column)
            limit = column.type.length if column is not None and isinstance(column.type, String) else None
            if limit is not None and cells and max(map(len, cells)) > limit:
                return None
        return _values(cells, blanks)
    distinct = set(cells) - {""}
    if kind == "enum":
        return _values(cells, blanks) if distinct <= set(f.values) else None
    if kind == "date" or kind == "year":
        parse = parse_date if kind == "date" else parse_year
        try:
            for value in distinct:
                parse(value)
        except ValueError:
            return None
        return [int(c) if c else None for c in cells] if kind == "year" else _values(cells, blanks)
    present = [c for c in cells if c] if blanks else cells
    if kind in ("money", "scaled", "int"):
        scale = 2 if kind == "money" else f.scale if kind == "scaled" else 0
        numbers = _scaled_column(present, scale, MAX_CENTIMES if kind == "money" else None)
        if numbers is None:
            return None
        if not blanks:
            return numbers
        found = iter(numbers)
        return [next(found) if c else None for c in cells]
    if kind == "number" and all(map(_DECIMAL.fullmatch, present)) and max(map(len, present), default=0) <= 15:
        return [float(c) if c else None for c in cells]
    return None


def _values(cells: Sequence[str], blanks: bool) -> list[str | None]:
    """The cells as values: a blank cell is no value (None)."""
    return [c if c else None for c in cells] if blanks else list(cells)


def _scaled_column(texts: Sequence[str], scale: int, limit: int | None = None) -> list[int] | None:
    """``texts`` (``-?digits[.digits]``, at most ``scale`` decimals and 15 digits in all)
    as integers x 10**scale, or None if any text is not such a number or any value is
    beyond ``limit`` either way.

    The checks look at the column joined into one string; numpy converts, through
    floats, which hold 15 digits exactly.
    """
    if not texts:
        return []
    joined = "\x00".join(texts)
    if not (joined.isascii() and joined.replace(".", "").replace("-", "").replace("\x00", "").isdigit()):
        return None  # only digits, points and minus signs
    if joined.count("-") != joined.count("\x00-") + joined.startswith("-"):
        return None  # a minus sign only in front
    if "." in joined and (
        scale == 0
        or joined.startswith(".") or joined.endswith(".") or "\x00." in joined or ".\x00" in joined or "-." in joined
        or re.search(rf"\.\d{{{scale + 1}}}", joined)
    ):  # fmt: skip
        return None  # digits on both sides of a point, at most ``scale`` after it
    if max(map(len, texts)) > 15 - scale and re.search(rf"\d{{{16 - scale}}}", joined):
        return None  # more than 15 digits in all
    import numpy as np

    try:
        values = np.array(texts, dtype=np.float64)  # "1.2.3", "-" or "1-2" raise
    except ValueError:
        return None
    scaled = np.rint(values * 10**scale).astype(np.int64)
    if limit is not None and len(scaled) and max(int(scaled.max()), -int(scaled.min())) > limit:
        return None
    return scaled.tolist()


# -- the importer ------------------------------------------------------------------------------------


@dataclass
class FileResult:
    filename: str
    added: int = 0
    unchanged: int = 0


@dataclass
class Chunk:
    """The typed columns of a piece of a file; rows that failed are marked ``bad``."""

    spec: FileSpec
    filename: str
    first_row: int
    columns: dict[str, list[Any]]
    size: int
    bad: set[int] = field(default_factory=set)

    def row(self, i: int) -> int:
        return self.first_row + i


class SeenKeys:
    """The business keys met so far in a file; the row of each is worked out only
    when a duplicate needs naming it."""

    def __init__(self) -> None:
        self._keys: set[Any] = set()
        self._pieces: list[tuple[int, Sequence[Any]]] = []  # (first row, keys) not yet in _rows
        self._rows: dict[Any, int] | None = None

    def add_distinct(self, first_row: int, keys: Sequence[Any]) -> bool:
        """Take a piece of keys if they are valid, distinct and all new; else take nothing."""
        before = len(self._keys)
        self._keys.update(keys)
        if len(self._keys) - before != len(keys) or INVALID in self._keys:
            self._keys = set(self.rows())  # undo: the keys taken before this piece
            return False
        if self._rows is None:
            self._pieces.append((first_row, keys))
        else:
            self._rows.update(zip(keys, range(first_row, first_row + len(keys)), strict=True))
        return True

    def add(self, key: Any, row: int) -> None:
        self._keys.add(key)
        self.rows().setdefault(key, row)

    def rows(self) -> dict[Any, int]:
        """Key -> the row it was first met on."""
        if self._rows is None:
            self._rows = {}
            for first, keys in self._pieces:
                for i, key in enumerate(keys):
                    self._rows.setdefault(key, first + i)
            self._pieces.clear()
        return self._rows


class Importer:
    """One import: collects problems across files, writes into the caller's session."""

    def __init__(self, session: Session, user: str, *, progress: Callable[[int], Any] | None = None):
        self.session = session
        self.connection: Connection = session.connection()
        self.user = user
        self.progress = progress
        self.problems = Problems()  # the first thousand, and a count of the others
        self.results: list[FileResult] = []
        self._ids: dict[str, dict[Any, int]] = {}  # referable file -> business key -> id
        self._declared: dict[str, set[str]] = defaultdict(set)  # keys the bundle declares
        self._activity_objective: dict[str, str | None] = {}  # from the bundle
        self._standard_cost: dict[tuple[str, int], int] = {}  # from the bundle
        self._version_period: dict[str, tuple[int, int]] = {}  # from the bundle
        self._funding_kind: dict[str, str] = {}  # from the bundle
        self._kpi_formula: dict[str, str | None] = {}  # from the bundle
        self._kpi_formulas_cache: dict[str, str | None] | None = None
        self._version_periods_cache: dict[str, tuple[int, int]] | None = None
        self._funding_kinds_cache: dict[str, str] | None = None
        self._existing_cache: dict[tuple[Any, ...], dict[str, Any]] | None = None
        self._table_empty = False
        self._standard_costs_cache: dict[tuple[str, int], int] | None = None
        self._activity_objectives_cache: dict[str, str | None] | None = None
        self._deltas = summaries.new_deltas()  # of the actuals loaded
        self._objective_of_activity: dict[int, int | None] | None = None  # activity id -> objective id

    # -- public ------------------------------------------------------------------------------

    def run(self, files: Sequence[RawFile]) -> list[FileResult]:
        readable = []
        for raw in files:
            self.problems.extend(raw.problems)
            if raw.spec is not None and not raw.problems:
                readable.append(raw)
        seen: dict[str, str] = {}
        for raw in sorted(readable, key=lambda r: ORDER[r.spec.name]):  # type: ignore[union-attr]
            spec = raw.spec
            assert spec is not None
            if spec.name in seen:
                self._problem(raw.filename, 1, "", f"{spec.filename} is given twice ({seen[spec.name]})")
                continue
            seen[spec.name] = raw.filename
            # keys declared by the bundle, so later files may refer to them
            if spec.ref_key and raw.header.count(spec.ref_key) == 1:
                index = raw.header.index(spec.ref_key)
                with contextlib.suppress(ReadError):  # reported when the file itself is read
                    self._declared[spec.name].update(r[index].strip() for r in raw.rows() if len(r) > index)
        for raw in sorted(readable, key=lambda r: ORDER[r.spec.name]):  # type: ignore[union-attr]
            if seen.get(raw.spec.name) == raw.filename:  # type: ignore[union-attr]
                self._file(raw)
        return self.results

    # -- one file --------------------------------------------------------------------------------

    def _problem(self, filename: str, row: int, column: str, message: str) -> None:
        self.problems.append(Problem(filename, row, column, message))

    def _file(self, raw: RawFile) -> None:
        spec = raw.spec
        assert spec is not None
        name = raw.filename
        result = FileResult(spec.filename)
        self.results.append(result)
        header = raw.header
        positions: dict[str, int] = {}
        for i, column in enumerate(header):
            if not column:
                self._problem(name, 1, "", f"column {i + 1} of the header has no name")
            elif column in positions:
                self._problem(name, 1, column, f"column {column!r} appears twice in the header")
            elif column not in spec.columns:
                self._problem(
                    name,
                    1,
                    column,
                    f"unknown column; {spec.filename} has: {', '.join(spec.columns)}",
                )
            else:
                positions[column] = i
        for f in spec.fields:
            if f.required and f.name not in positions:
                self._problem(name, 1, f.name, "required column is missing from the header")
        self._existing_cache = None
        self._table_empty = not self.connection.execute(
            select(func.count()).select_from(select(spec.table.c.id).limit(1).subquery())
            if "id" in spec.table.c
            else select(func.count()).select_from(spec.table)
        ).scalar_one()
        seen_keys = SeenKeys()
        self_ref = any(f.ref == spec.name for f in spec.fields)
        size = 1 << 62 if self_ref else CHUNK  # self-references are resolved over the whole file
        set_aside = bulk.set_aside_foreign_keys(self.connection, spec.table, raw.size_hint)
        checked = functools.partial(self._checked, raw, positions, size, seen_keys)
        try:
            work_ahead = not self_ref and raw.path is not None and raw.body is None and ahead.available()
            if work_ahead and raw.path.stat().st_size >= AHEAD_BYTES:  # type: ignore[union-attr]
                source = self._checked_ahead(spec, name, checked)
            else:
                source = ((chunk, None) for chunk in checked())
            for chunk, ready in source:
                if ready is not None:  # rows already made for the insert
                    if not self.problems:
                        result.added += self._write(spec, *ready)
                else:
                    new = self._compare(chunk, result)
                    self._remember(chunk)
                    if not self.problems:
                        result.added += self._insert(chunk, new)
                if self.progress:
                    self.progress(chunk.size)
        except ReadError as exc:
            self.problems.append(exc.problem)
        if set_aside and not self.problems:  # with problems, the caller rolls everything back
            bulk.restore_foreign_keys(self.connection, set_aside)
        if spec.name == "actuals" and not self.problems:
            summaries.apply(self.connection, self._deltas)
            self._deltas = summaries.new_deltas()
        if not self.problems and result.added:
            audit.record(
                self.session, self.user, "import", spec.table.name, spec.filename,
                after={"rows_added": result.added, "rows_unchanged": result.unchanged},
            )  # fmt: skip

    def _checked(self, raw: RawFile, positions: dict[str, int], size: int, seen_keys: SeenKeys) -> Iterator[Chunk]:
        """The file's chunks typed, with the contract's rules, references and keys checked."""
        assert raw.spec is not None
        for first_row, rows in raw.pieces(size):
            chunk = self._type(raw.spec, raw.filename, positions, len(raw.header), first_row, rows)
            del rows
            self._rules(chunk)
            self._resolve(chunk)
            self._keys(chunk, seen_keys)
            yield chunk

    def _checked_ahead(
        self, spec: FileSpec, filename: str, checked: Callable[[], Iterator[Chunk]]
    ) -> Iterator[tuple[Chunk, tuple[list[str], list[list[Any]]] | None]]:
        """:meth:`_checked`, worked out by a forked process while this one inserts:
        (chunk, None) to compare and insert as usual.

        For a file whose rows nothing else needs, loaded into an empty table, the
        process also makes the columns to insert (and the actuals' summary), and
        yields (chunk without its cells, (columns, values)): this process is then
        left with little more than the insert.
        """
        self._look_up(spec)
        ready_made = self._table_empty and spec.ref_key is None and spec.name not in REMEMBERED
        ready_made = ready_made and not any(f.kind == "refs" for f in spec.fields)

        def produce() -> Iterator[tuple[Any, ...]]:
            self.connection = self.session = ahead.NoDatabase()  # type: ignore[assignment]
            self._deltas = summaries.new_deltas()
            reported, counted = len(self.problems), self.problems.more
            for chunk in checked():
                problems = (self.problems[reported:], self.problems.more - counted)
                reported, counted = len(self.problems), self.problems.more
                if ready_made and not self.problems:
                    ready = self._insert_columns(chunk, range(chunk.size))
                    yield "rows", chunk.first_row, chunk.size, problems, ready
                else:
                    yield "chunk", chunk.first_row, chunk.size, problems, (chunk.columns, chunk.bad)
            yield "totals", dict(self._deltas)  # of the actuals made ready

        for kind, *message in ahead.ahead(produce):
            if kind == "totals":
                summaries.merge(self._deltas, message[0])
                continue
            first_row, size, (problems, more), payload = message
            self.problems.extend(problems)
            self.problems.more += more
            if kind == "rows":
                yield Chunk(spec, filename, first_row, {}, size), payload
            else:
                columns, bad = payload
                yield Chunk(spec, filename, first_row, columns, size, bad), None

    def _look_up(self, spec: FileSpec) -> None:
        """Read from the database all that checking and inserting ``spec``'s rows looks up."""
        for f in spec.fields:
            if f.ref is not None:
                self.ids(f.ref)
        if spec.name == "cost_lines":
            self._standard_costs()
        if spec.name in PERIOD_FILES:
            self._version_periods()
        if spec.name == "income_budget":
            self._funding_kinds()
        if spec.name == "actuals":
            self._activity_objectives()
            self._objective_map()
        if spec.name == "measurements":
            self._kpi_formulas()

    def _type(
        self, spec: FileSpec, name: str, positions: dict[str, int], width: int, first_row: int,
        piece: list[list[str]] | Columns,
    ) -> Chunk:  # fmt: skip
        bad: set[int]
        if isinstance(piece, Columns):  # already split into columns, every row complete
            transposed, bad, size, trimmed = piece.columns, set(), piece.size, piece.trimmed
        else:
            transposed, bad, size = self._split_rows(name, width, first_row, piece)
            trimmed = False
        columns: dict[str, list[Any]] = {}
        slow: list[str] = []  # columns that needed the cell-by-cell path
        for f in spec.fields:
            if f.name not in positions:
                columns[f.name] = [None] * size
                continue
            raw_cells = transposed[positions[f.name]]
            fast = None if bad else fast_column(spec, f, raw_cells, trimmed=trimmed)
            if fast is not None:
                values = fast
            else:
                values = self._parse_cells(spec, f, raw_cells, name, first_row, bad)
                slow.append(f.name)
            if _out_of_bounds(f, values):
                for i, value in enumerate(values):
                    if isinstance(value, int) and (message := _bounds_message(f, value)):
                        self._problem(name, first_row + i, f.name, message)
                        values[i] = INVALID
                        slow.append(f.name)
            columns[f.name] = values
        chunk = Chunk(spec, name, first_row, columns, size, bad)
        for column in slow:
            chunk.bad.update(i for i, v in enumerate(columns[column]) if v is INVALID)
        if any(f.required and f.name not in positions for f in spec.fields):
            chunk.bad.update(range(size))  # the header lacks a required column (a problem): no row is whole
        return chunk

    def _split_rows(
        self, name: str, width: int, first_row: int, rows: list[list[str]]
    ) -> tuple[list[list[str]], set[int], int]:
        """Columns of ``rows``; rows of the wrong width are problems, blanked out."""
        bad: set[int] = set()
        for i, row in enumerate(rows):
            if len(row) != width:
                if not row or not any(c.strip() for c in row):
                    self._problem(name, first_row + i, "", "the row is empty")
                else:
                    self._problem(
                        name,
                        first_row + i,
                        "",
                        f"the row has {len(row)} cells; the header has {width}",
                    )
                bad.add(i)
        if bad:
            rows = [row if i not in bad else [""] * width for i, row in enumerate(rows)]
        return [[row[i] for row in rows] for i in range(width)], bad, len(rows)

    def _parse_cells(
        self, spec: FileSpec, f: Field, cells: list[str], name: str, first_row: int, bad: set[int]
    ) -> list[Any]:
        """Typed values of one column (cells as read; a control character anywhere in one is a
        problem, spaces around a value are not); INVALID where a cell fails (and a problem is
        recorded)."""
        parse = parser_for(spec, f)
        values: list[Any] = [None] * len(cells)
        for i, raw in enumerate(cells):
            cell = raw.strip()
            if i in bad:
                values[i] = INVALID
            elif reason := control_character(raw):
                self._problem(name, first_row + i, f.name, reason)
                values[i] = INVALID
            elif cell == "":
                if f.required:
                    self._problem(name, first_row + i, f.name, "a value is required")
                    values[i] = INVALID
            else:
                try:
                    values[i] = parse(cell)
                except ValueError as exc:
                    self._problem(name, first_row + i, f.name, str(exc))
                    values[i] = INVALID
        return values

    # -- the contract's rules -----------------------------------------------------------------------

    def _rules(self, chunk: Chunk) -> None:
        rule = getattr(self, f"_rules_{chunk.spec.name}", None)
        if rule is not None:
            rule(chunk)
        if chunk.spec.name in PERIOD_FILES:
            self._year_in_period(chunk)

    def _rules_versions(self, chunk: Chunk) -> None:
        """A version's period: first_year and last_year, else read from a leading
        ``YYYY-YYYY`` or ``YYYY`` in the name; a version without one is a problem."""
        c = chunk.columns
        for i, (name, first, last) in enumerate(zip(c["name"], c["first_year"], c["last_year"], strict=True)):
            if i in chunk.bad:
                continue
            if first is None and last is None:
                period = period_in_name(name)
                if period is None:
                    self._fail(
                        chunk, i, "first_year",
                        f"version {name!r} has no period: give first_year and last_year "
                        "(or start its name with the years, e.g. '2006-2007 draft')",
                    )  # fmt: skip
                    continue
                c["first_year"][i], c["last_year"][i] = period
            elif first is None or last is None:
                missing = "first_year" if first is None else "last_year"
                self._fail(chunk, i, missing, "a version's period needs both first_year and last_year")
            elif last < first:
                self._fail(chunk, i, "last_year", f"last_year {last} is before first_year {first}")

    def _year_in_period(self, chunk: Chunk) -> None:
        periods = self._version_periods()
        c = chunk.columns
        for i, (version, year) in enumerate(zip(c["version"], c["year"], strict=True)):
            if i in chunk.bad or version is INVALID or year is INVALID or version not in periods:
                continue
            first, last = periods[version]
            if not first <= year <= last:
                shown = period_text(first, last)
                self._fail(chunk, i, "year", f"{year} is outside the period {shown} of version {version}")

    def _rules_income_budget(self, chunk: Chunk) -> None:
        kinds = self._funding_kinds()
        for i, source in enumerate(chunk.columns["funding_source_code"]):
            if i in chunk.bad or source is INVALID:
                continue
            kind = kinds.get(source)
            if kind in m.CONTRIBUTION_KINDS:
                self._fail(
                    chunk, i, "funding_source_code",
                    f"{source} is a source of kind {kind}: its income comes from contributory units "
                    "and unit values, not from the income budget",
                )  # fmt: skip

    def _rules_settings(self, chunk: Chunk) -> None:
        for i, (key, value) in enumerate(zip(chunk.columns["key"], chunk.columns["value"], strict=True)):
            if i in chunk.bad or INVALID in (key, value):
                continue
            try:
                parse = parse_date if m.SETTINGS[key] == "date" else parse_int
                parse(value)
            except ValueError as exc:
                self._fail(chunk, i, "value", f"{key}: {exc}")

    def _rules_staff(self, chunk: Chunk) -> None:
        self._date_order(chunk, "start_date", "end_date")

    def _fail(self, chunk: Chunk, i: int, column: str, message: str) -> None:
        self._problem(chunk.filename, chunk.row(i), column, message)
        chunk.bad.add(i)

    def _date_order(self, chunk: Chunk, earlier: str, later: str) -> None:
        first, second = chunk.columns[earlier], chunk.columns[later]
        for i, (a, b) in enumerate(zip(first, second, strict=True)):
            if isinstance(a, str) and isinstance(b, str) and b < a:
                self._fail(chunk, i, later, f"{later} {b} is before {earlier} {a}")

    def _rules_members(self, chunk: Chunk) -> None:
        for i, (kind, region) in enumerate(zip(chunk.columns["type"], chunk.columns["region"], strict=True)):
            if kind == "member_state" and region is None:
                self._fail(chunk, i, "region", "a member state needs its region (A-E)")

    def _rules_activities(self, chunk: Chunk) -> None:
        self._date_order(chunk, "start_date", "end_date")

    def _rules_agreements(self, chunk: Chunk) -> None:
        self._date_order(chunk, "signed_date", "in_force_date")

    def _rules_recruitments(self, chunk: Chunk) -> None:
        self._date_order(chunk, "notice_date", "closing_date")
        self._date_order(chunk, "closing_date", "selection_date")
        self._date_order(chunk, "notice_date", "selection_date")
        self._date_order(chunk, "selection_date", "eod_date")
        self._date_order(chunk, "notice_date", "eod_date")

    def _rules_cost_lines(self, chunk: Chunk) -> None:
        c = chunk.columns
        standard: dict[tuple[str, int], int] | None = None
        rows = zip(c["category"], c["grade"], c["work_months"], c["amount"], c["year"], strict=True)
        for i, (category, grade, months, amount, year) in enumerate(rows):
            if i in chunk.bad:
                continue
            if category != "staff" and (grade is not None or months is not None):
                column = "grade" if grade is not None else "work_months"
                self._fail(chunk, i, column, f"{column} is only for staff lines, not {category}")
            elif grade is not None and months is not None:
                if standard is None:
                    standard = self._standard_costs()
                annual = standard.get((grade, year))
                if annual is None:
                    self._fail(chunk, i, "grade", f"there is no standard cost for grade {grade} in {year}")
                elif amount is None:
                    c["amount"][i] = staff_cost(months, annual)
            elif amount is None:
                self._fail(
                    chunk,
                    i,
                    "amount",
                    "a value is required unless a staff line gives grade and work_months",
                )

    def _rules_actuals(self, chunk: Chunk) -> None:
        c = chunk.columns
        objectives = self._activity_objectives()
        activities, given = c["activity_code"], c["objective_code"]
        for i in [i for i, objective in enumerate(given) if objective is not None]:
            activity, objective = activities[i], given[i]
            if activity is None or i in chunk.bad:
                continue
            expected = objectives.get(activity)
            if expected is not None and expected != objective:
                self._fail(
                    chunk,
                    i,
                    "objective_code",
                    f"{objective} disagrees with activity {activity}, whose objective is {expected}",
                )

    def _rules_measurements(self, chunk: Chunk) -> None:
        """A computed KPI (one with a formula) takes no measurements."""
        formulas = self._kpi_formulas()
        for i, code in enumerate(chunk.columns["kpi_code"]):
            if i in chunk.bad or code is INVALID or formulas.get(code) is None:
                continue
            self._fail(
                chunk, i, "kpi_code",
                f"{code} is computed from the workspace ({formulas[code]}); it takes no measurements",
            )  # fmt: skip

    def _standard_costs(self) -> dict[tuple[str, int], int]:
        """Standard costs of the workspace and of the bundle (read once, after standard_costs.csv)."""
        if self._standard_costs_cache is None:
            rows = self.connection.execute(
                select(m.StandardCost.grade, m.StandardCost.year, m.StandardCost.annual_cost_centimes)
            )
            self._standard_costs_cache = {(grade, year): cost for grade, year, cost in rows}
            self._standard_costs_cache.update(self._standard_cost)
        return self._standard_costs_cache

    def _version_periods(self) -> dict[str, tuple[int, int]]:
        """Version name -> (first year, last year), of the workspace and of the bundle."""
        if self._version_periods_cache is None:
            rows = self.connection.execute(
                select(m.PlanVersion.name, m.PlanVersion.first_year, m.PlanVersion.last_year)
            )
            self._version_periods_cache = {name: (first, last) for name, first, last in rows}
            self._version_periods_cache.update(self._version_period)
        return self._version_periods_cache

    def _funding_kinds(self) -> dict[str, str]:
        """Funding source code -> kind, of the workspace and of the bundle."""
        if self._funding_kinds_cache is None:
            rows = self.connection.execute(select(m.FundingSource.code, m.FundingSource.kind))
            self._funding_kinds_cache = {code: kind for code, kind in rows}
            self._funding_kinds_cache.update(self._funding_kind)
        return self._funding_kinds_cache

    def _activity_objectives(self) -> dict[str, str | None]:
        """Activity code -> objective code, of the workspace and of the bundle (read once,
        after activities.csv)."""
        if self._activity_objectives_cache is None:
            rows = self.connection.execute(
                select(m.Activity.code, m.Objective.code).join(m.Objective, m.Activity.objective_id == m.Objective.id)
            )
            self._activity_objectives_cache = {code: objective for code, objective in rows}
            self._activity_objectives_cache.update(self._activity_objective)
        return self._activity_objectives_cache

    def _kpi_formulas(self) -> dict[str, str | None]:
        """KPI code -> formula (None for a measured KPI), of the workspace and of the bundle."""
        if self._kpi_formulas_cache is None:
            rows = self.connection.execute(select(m.Kpi.code, m.Kpi.formula))
            self._kpi_formulas_cache = {code: formula for code, formula in rows}
            self._kpi_formulas_cache.update(self._kpi_formula)
        return self._kpi_formulas_cache

    def _remember(self, chunk: Chunk) -> None:
        """Keep what later files' rules need from this file."""
        c = chunk.columns
        if chunk.spec.name == "activities":
            for code, objective in zip(c["code"], c["objective_code"], strict=True):
                if code is not INVALID and objective is not INVALID:
                    self._activity_objective[code] = objective
        elif chunk.spec.name == "standard_costs":
            for grade, year, cost in zip(c["grade"], c["year"], c["annual_cost"], strict=True):
                if INVALID not in (grade, year, cost):
                    self._standard_cost[grade, year] = cost
        elif chunk.spec.name == "versions":
            for i, (name, first, last) in enumerate(zip(c["name"], c["first_year"], c["last_year"], strict=True)):
                if i not in chunk.bad and INVALID not in (name, first, last) and None not in (first, last):
                    self._version_period[name] = (first, last)
        elif chunk.spec.name == "funding_sources":
            for code, kind in zip(c["code"], c["kind"], strict=True):
                if INVALID not in (code, kind):
                    self._funding_kind[code] = kind
        elif chunk.spec.name == "kpis":
            for code, formula in zip(c["code"], c["formula"], strict=True):
                if INVALID not in (code, formula):
                    self._kpi_formula[code] = formula

    # -- references ------------------------------------------------------------------------------------

    def ids(self, target: str) -> dict[Any, int]:
        """Business key -> id of the workspace rows of a referable file (loaded once)."""
        if target not in self._ids:
            spec = BY_NAME[target]
            key = spec.table.c[REFERABLE[target]]
            self._ids[target] = dict(self.connection.execute(select(key, spec.table.c.id)).all())
        return self._ids[target]

    def _resolve(self, chunk: Chunk) -> None:
        for f in chunk.spec.fields:
            if f.kind not in ("ref", "refs"):
                continue
            assert f.ref is not None
            known = self.ids(f.ref)
            declared = self._declared[f.ref]
            label = BY_NAME[f.ref].filename
            values = chunk.columns[f.name]
            if f.kind == "ref" and not (set(values) - known.keys() - declared - {None, INVALID}):
                continue  # every reference resolves
            for i, value in enumerate(values):
                if value is None or value is INVALID:
                    continue
                codes = [v.strip() for v in value.split(",") if v.strip()] if f.kind == "refs" else [value]
                missing = [code for code in codes if code not in known and code not in declared]
                if missing:
                    noun = f.ref.removesuffix("s").replace("_", " ")
                    if f.ref == "activities":
                        noun = "activity"
                    shown = ", ".join(repr(x) for x in missing)
                    self._fail(
                        chunk,
                        i,
                        f.name,
                        f"unknown {noun} {shown} (not in the workspace nor in {label})",
                    )
                elif f.kind == "refs":
                    values[i] = tuple(sorted(set(codes)))

    # -- business keys ------------------------------------------------------------------------------

    def _key_of(self, chunk: Chunk) -> list[tuple[Any, ...]]:
        return list(zip(*(chunk.columns[k] for k in chunk.spec.key), strict=True))

    def _keys(self, chunk: Chunk, seen: SeenKeys) -> None:
        """Refuse a business key met twice in a file (``seen`` spans its chunks)."""
        names = chunk.spec.key
        keys: list[Any] = chunk.columns[names[0]] if len(names) == 1 else self._key_of(chunk)
        if seen.add_distinct(chunk.first_row, keys):
            return  # the common case: all distinct
        rows = seen.rows()
        for i, key in enumerate(keys):
            if key is INVALID or (isinstance(key, tuple) and INVALID in key):
                continue
            earlier = rows.get(key)
            if earlier is None or earlier == chunk.row(i):
                seen.add(key, chunk.row(i))
                continue
            parts = key if isinstance(key, tuple) else (key,)
            shown = ", ".join(f"{n}={v if v is not None else ''}" for n, v in zip(names, parts, strict=True))
            self._fail(chunk, i, names[0], f"duplicate key ({shown}); it is also on row {earlier}")

    def _db_key(self, spec: FileSpec, key: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """A business key in database terms (ids for references); None if a reference is new."""
        out = []
        for name, value in zip(spec.key, key, strict=True):
            f = spec.field(name)
            if f.kind == "ref" and value is not None:
                assert f.ref is not None
                resolved = self.ids(f.ref).get(value)
                if resolved is None:
                    return None
                out.append(resolved)
            else:
                out.append(value)
        return tuple(out)

    def _existing(self, spec: FileSpec, db_keys: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], dict[str, Any]]:
        """Workspace rows with these keys, as {db key: row mapping}."""
        if self._table_empty or not db_keys:
            return {}
        table = spec.table
        key_columns = [table.c[spec.field(k).column] for k in spec.key]
        if len(key_columns) > 1 or self._existing_cache is not None:
            if self._existing_cache is None:  # composite keys: small tables, read once
                stored = self.connection.execute(select(table)).mappings()
                self._existing_cache = {tuple(_as_loaded(r[c.name]) for c in key_columns): dict(r) for r in stored}
            return self._existing_cache
        found: dict[tuple[Any, ...], dict[str, Any]] = {}
        values = [k[0] for k in db_keys]
        for start in range(0, len(values), 900):
            part = values[start : start + 900]
            rows = self.connection.execute(select(table).where(tuple_(key_columns[0]).in_([(v,) for v in part])))
            for r in rows.mappings():
                found[(r[key_columns[0].name],)] = dict(r)
        return found

    def _db_row(self, chunk: Chunk, i: int) -> dict[str, Any]:
        """Row ``i`` in database terms; a reference to a row not yet in the workspace is None."""
        row: dict[str, Any] = {}
        for f in chunk.spec.fields:
            value = chunk.columns[f.name][i]
            if f.kind == "refs":
                continue
            if f.kind == "ref" and value is not None:
                assert f.ref is not None
                value = self.ids(f.ref).get(value)
            row[f.column] = value
        return row

    def _compare(self, chunk: Chunk, result: FileResult) -> list[int]:
        """Indexes of the rows to add; rows already in the workspace are skipped if
        identical and a problem if not."""
        spec = chunk.spec
        candidates = [i for i in range(chunk.size) if i not in chunk.bad] if chunk.bad else list(range(chunk.size))
        if self._table_empty:
            return candidates  # nothing to compare with
        keys = self._key_of(chunk)
        db_keys = {i: self._db_key(spec, keys[i]) for i in candidates}
        existing = self._existing(spec, [k for k in db_keys.values() if k is not None])
        new = []
        for i in candidates:
            db_key = db_keys[i]
            stored = existing.get(db_key) if db_key is not None else None
            if stored is None:
                new.append(i)
                continue
            wanted = self._db_row(chunk, i)
            differing = [c for c, v in wanted.items() if _as_loaded(stored.get(c)) != v]
            if spec.name == "users" and tuple(sorted(self._user_units(stored["id"]))) != (
                chunk.columns["units"][i] or ()
            ):
                differing.append("units")
            if differing:
                f = next(f for f in spec.fields if f.column == differing[0] or f.name == differing[0])
                shown = ", ".join(f"{k}={v}" for k, v in zip(spec.key, keys[i], strict=True) if v is not None)
                there = self._shown(f, stored.get(f.column) if f.kind != "refs" else self._user_units(stored["id"]))
                here = self._shown(f, wanted.get(f.column) if f.kind != "refs" else chunk.columns["units"][i])
                self._fail(
                    chunk, i, f.name,
                    f"{shown} is already in the workspace with different content ({f.name} is {there} there, "
                    f"{here} here); an import adds rows, it never overwrites them",
                )  # fmt: skip
            else:
                result.unchanged += 1
        return new

    def _shown(self, f: Field, value: Any) -> str:
        """A stored or imported value as the file would write it."""
        from itu_plan.bundle.export import formatter

        if value is None or value == ():
            return "empty"
        if f.kind == "date":
            return str(_as_loaded(value))  # stored as a date, imported as ISO text
        if f.kind == "ref":
            assert f.ref is not None
            codes = {v: k for k, v in self.ids(f.ref).items()}
            value = codes.get(value, value)
            return str(value)
        return formatter(f)(value)

    def _user_units(self, user_id: int) -> list[str]:
        rows = self.connection.execute(
            select(m.Unit.code).join(m.UserUnit, m.UserUnit.unit_id == m.Unit.id).where(m.UserUnit.user_id == user_id)
        )
        return [code for (code,) in rows]

    # -- writing ------------------------------------------------------------------------------------------

    def _insert(self, chunk: Chunk, indexes: list[int]) -> int:
        if not indexes:
            return 0
        spec = chunk.spec
        self_ref = next((f for f in spec.fields if f.ref == spec.name), None)
        if self_ref is not None:
            return self._insert_tree(chunk, indexes, self_ref)
        return self._insert_rows(chunk, indexes)

    def _insert_rows(self, chunk: Chunk, indexes: Sequence[int]) -> int:
        spec = chunk.spec
        count = self._write(spec, *self._insert_columns(chunk, indexes))
        if spec.ref_key:
            self._refresh_ids(spec, [chunk.columns[spec.ref_key][i] for i in indexes])
        if spec.name == "users":
            self._insert_user_units(chunk, indexes)
        return count

    def _write(self, spec: FileSpec, columns: list[str], values: list[list[Any]]) -> int:
        """Bulk-insert rows given column-wise; every value has been checked."""
        enums = {f.column: f.values for f in spec.fields if f.kind == "enum"}
        rows = zip(*values, strict=True)
        return bulk.bulk_insert(self.connection, spec.table, columns, rows, plain=True, enums_checked=enums)

    def _insert_columns(self, chunk: Chunk, indexes: Sequence[int]) -> tuple[list[str], list[list[Any]]]:
        """(columns, their values) to insert for rows ``indexes`` of ``chunk``, references as ids;
        actuals are added to the summary. Columns empty throughout that default to
        NULL are left out (fewer values to bind)."""
        spec = chunk.spec
        fields = [f for f in spec.fields if f.kind != "refs"]
        columns = [f.column for f in fields]
        everything = len(indexes) == chunk.size
        converted: list[list[Any]] = []
        for f in fields:
            values = chunk.columns[f.name]
            picked = values if everything else [values[i] for i in indexes]
            if f.kind == "ref":
                assert f.ref is not None
                ids: dict[Any, int | None] = dict(self.ids(f.ref))
                ids[None] = None  # an optional reference left empty
                picked = list(map(ids.__getitem__, picked))
            converted.append(picked)
        if "row_version" in spec.table.c:
            columns.append("row_version")
            converted.append([1] * len(indexes))
        if spec.name == "actuals":
            self._collect_totals(dict(zip(columns, converted, strict=True)))
        kept = [
            k for k, column in enumerate(columns)
            if not _null_by_default(spec.table.c[column]) or converted[k].count(None) < len(converted[k])
        ]  # fmt: skip
        return [columns[k] for k in kept], [converted[k] for k in kept]

    def _objective_map(self) -> dict[int, int | None]:
        """Activity id -> its objective's id."""
        if self._objective_of_activity is None:
            objectives, activities = self.ids("objectives"), self.ids("activities")
            self._objective_of_activity = {
                activities[code]: objectives.get(objective) if objective else None
                for code, objective in self._activity_objectives().items()
                if code in activities
            }
        return self._objective_of_activity

    def _collect_totals(self, columns: dict[str, list[Any]]) -> None:
        """Add loaded actuals, given by database column, to the per-year summary
        (by their effective objective: their own, else their activity's)."""
        own = columns["objective_id"]
        effective = list(map(self._objective_map().get, columns["activity_id"]))
        for i in [i for i, o in enumerate(own) if o is not None]:
            effective[i] = own[i]
        summaries.collect(
            self._deltas,
            columns["date"],
            columns["unit_id"],
            effective,
            columns["category"],
            columns["amount_centimes"],
        )

    def _insert_tree(self, chunk: Chunk, indexes: list[int], parent: Field) -> int:
        """Insert rows of a self-referencing file parents first; report cycles."""
        pending = list(indexes)
        ids = self.ids(chunk.spec.name)
        added = 0
        while pending:
            parents = chunk.columns[parent.name]
            ready = [i for i in pending if parents[i] is None or parents[i] in ids]
            if not ready:
                for i in pending:
                    self._fail(
                        chunk,
                        i,
                        parent.name,
                        f"{chunk.columns[parent.name][i]!r} makes a cycle of parents",
                    )
                return added
            added += self._insert_rows(chunk, ready)
            ids = self.ids(chunk.spec.name)
            ready_set = set(ready)
            pending = [i for i in pending if i not in ready_set]
        return added

    def _refresh_ids(self, spec: FileSpec, keys: list[Any]) -> None:
        table = spec.table
        key = table.c[REFERABLE[spec.name]]
        ids = self.ids(spec.name)
        for start in range(0, len(keys), 900):
            part = keys[start : start + 900]
            ids.update(self.connection.execute(select(key, table.c.id).where(key.in_(part))).all())

    def _insert_user_units(self, chunk: Chunk, indexes: Sequence[int]) -> None:
        users = dict(
            self.connection.execute(
                select(m.User.username, m.User.id).where(
                    m.User.username.in_([chunk.columns["username"][i] for i in indexes])
                )
            ).all()
        )
        units = self.ids("units")
        rows = [
            (users[chunk.columns["username"][i]], units[code])
            for i in indexes
            for code in chunk.columns["units"][i] or ()
        ]
        if rows:
            bulk.bulk_insert(self.connection, m.UserUnit.__table__, ["user_id", "unit_id"], rows)  # type: ignore[arg-type]

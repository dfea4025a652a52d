"""Exact money: integer centimes in, integer centimes out, half-even rounding.

Parsing and formatting of CHF amounts and other scaled decimals live here so
that imports, exports, reports and the demo all round the same way.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction


def round_half_even(value: Fraction) -> int:
    """The nearest integer to ``value``, ties to even (banker's rounding)."""
    floor = value.numerator // value.denominator
    rest = value - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1):
        return floor + 1
    return floor


def staff_cost(work_months_e2: int, annual_cost_centimes: int) -> int:
    """``work_months x annual_cost / 12`` in centimes, rounded half-even."""
    return round_half_even(Fraction(work_months_e2 * annual_cost_centimes, 1200))


def parse_scaled(text: str, scale: int) -> int:
    """``"12.5"`` with scale 2 -> 1250. Raises ValueError for more decimals than ``scale``,
    exponents, thousands separators or anything that is not a plain decimal number."""
    text = text.strip()
    if not text or any(c not in "+-0123456789." for c in text) or text.count(".") > 1:
        raise ValueError(f"{text!r} is not a number")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > scale:
        raise ValueError(f"{text!r} has more than {scale} decimals")
    return int(value.scaleb(scale))


def format_scaled(value: int, scale: int) -> str:
    """1250 with scale 2 -> ``"12.50"``; exact, no thousands separators."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**scale)
    return f"{sign}{whole}.{frac:0{scale}d}" if scale else f"{sign}{whole}"


def format_chf(centimes: int) -> str:
    """Centimes as CHF with two decimals: 123456 -> ``"1234.56"``."""
    return format_scaled(centimes, 2)


def ratio(numerator: int, denominator: int, places: int = 4) -> Decimal | None:
    """An exact ratio rounded half-even to ``places`` decimals; None when undefined."""
    if denominator == 0:
        return None
    scaled = round_half_even(Fraction(numerator * 10**places, denominator))
    return Decimal(scaled).scaleb(-places)


def group_chf(centimes: int) -> str:
    """Centimes with thousands separators: 2500000 -> ``"25,000.00"`` (table columns)."""
    sign = "-" if centimes < 0 else ""
    whole, frac = divmod(abs(centimes), 100)
    return f"{sign}{whole:,}.{frac:02d}"


def describe_chf(centimes: int) -> str:
    """Centimes for people to read: 2500000 -> ``"CHF 25,000.00"`` (messages)."""
    return f"CHF {group_chf(centimes)}"

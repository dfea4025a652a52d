from decimal import Decimal
from fractions import Fraction

import pytest

from itu_plan.money import format_chf, parse_scaled, ratio, round_half_even, staff_cost


def test_round_half_even() -> None:
    assert [round_half_even(Fraction(n, 2)) for n in (1, 3, 5, -1, -3)] == [0, 2, 2, 0, -2]
    assert round_half_even(Fraction(7, 3)) == 2


def test_staff_cost_is_work_months_times_annual_cost_over_twelve() -> None:
    assert staff_cost(600, 184_000_00) == 92_000_00  # 6 months of CHF 184,000
    assert staff_cost(100, 100) == 8  # 8.333 centimes
    assert staff_cost(150, 1) == 0  # 0.125 -> 0


@pytest.mark.parametrize(
    ("text", "scale", "value"),
    [("12.5", 2, 1250), ("-0.01", 2, -1), ("318000", 2, 31_800_000), ("0.0625", 4, 625)],
)
def test_parse_scaled(text: str, scale: int, value: int) -> None:
    assert parse_scaled(text, scale) == value


@pytest.mark.parametrize("text", ["1.234", "1,000", "1e3", "", "abc", "1.2.3", "nan"])
def test_parse_scaled_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_scaled(text, 2)


def test_format_and_ratio() -> None:
    assert format_chf(-123456) == "-1234.56"
    assert format_chf(5) == "0.05"
    assert ratio(1, 3) == Decimal("0.3333")
    assert ratio(1, 0) is None
    assert ratio(5, 100000) == Decimal("0.0000")  # 0.00005 rounds to even
    assert ratio(15, 100000) == Decimal("0.0002")

"""CSV cells: text a spreadsheet would run as a formula is neutralised, numbers stay numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from knotwork.lib.csv import neutralise


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tindent", "'\tindent"),
        ("-60.00", "'-60.00"),  # text that looks like a number is still text from outside
        (Decimal("-60.00"), "-60.00"),
        (-3, "-3"),
        (True, "True"),
        (None, ""),
        ("plain", "plain"),
    ],
)
def test_formulas_are_neutralised_and_numbers_are_written_as_numbers(value, cell):
    assert neutralise(value) == cell

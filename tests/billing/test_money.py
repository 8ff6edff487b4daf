from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knotwork.billing.money import MAX_AMOUNT, MoneyError, check_currency, format_money, line_totals, parse_amount, quantize

D = Decimal


class QuantizeTests:
    def test_it_rounds_half_up_not_to_even(self):
        assert quantize(D("2.345")) == D("2.35")
        assert quantize(D("2.335")) == D("2.34")
        assert quantize(D("-2.345")) == D("-2.35")

    def test_zero_decimal_currencies_round_to_whole_units_and_still_show_two_places(self):
        assert quantize(D("1234.5"), "JPY") == D("1235.00")

    def test_it_refuses_floats(self):
        with pytest.raises(TypeError):
            quantize(2.5)  # type: ignore[arg-type]


class ParseAmountTests:
    def test_it_accepts_text_integers_and_decimals(self):
        assert parse_amount("12.5") == D("12.50")
        assert parse_amount(7) == D("7.00")
        assert parse_amount(D("0.01")) == D("0.01")

    @pytest.mark.parametrize(
        ("raw", "words"),
        [
            ("-1", "negative"),
            ("0", "more than zero"),
            ("abc", "such as"),
            ("NaN", "such as"),
            ("Infinity", "such as"),
            ("1.234", "two decimal places"),
            (str(MAX_AMOUNT + 1), "cannot be more than"),
            ("1e400", "cannot be more than"),
        ],
    )
    def test_it_refuses_what_is_not_an_amount_with_a_sentence(self, raw, words):
        with pytest.raises(MoneyError, match=words):
            parse_amount(raw)

    def test_it_refuses_floats_so_nothing_passes_through_binary_fractions(self):
        with pytest.raises(MoneyError, match="exact"):
            parse_amount(0.1)

    def test_zero_is_allowed_when_asked_for(self):
        assert parse_amount("0", allow_zero=True) == D("0.00")

    def test_yen_amounts_have_no_decimal_places(self):
        with pytest.raises(MoneyError, match="no decimal places"):
            parse_amount("10.50", "JPY")


class CurrencyTests:
    def test_three_letter_codes_pass_and_three_decimal_currencies_are_refused(self):
        assert check_currency("EUR") == "EUR"
        for bad in ("eur", "EURO", "", "BHD"):
            with pytest.raises(MoneyError):
                check_currency(bad)

    def test_amounts_print_with_the_code_not_a_symbol(self):
        assert format_money(D("1234.5"), "GBP") == "GBP 1,234.50"
        assert format_money(D("1500"), "JPY") == "JPY 1,500"


class LineTotalsTests:
    def test_tax_inclusive_prices_carry_their_tax_inside(self):
        t = line_totals(quantity=1, unit_price=D("60.00"), discount=D("0"), tax_percent=D("20"), prices_include_tax=True, currency="GBP")
        assert (t.net, t.tax, t.total) == (D("50.00"), D("10.00"), D("60.00"))

    def test_tax_exclusive_prices_get_the_tax_added_after_the_discount(self):
        t = line_totals(
            quantity=2, unit_price=D("25.00"), discount=D("10.00"), tax_percent=D("20"), prices_include_tax=False, currency="GBP"
        )
        assert (t.net, t.tax, t.total) == (D("40.00"), D("8.00"), D("48.00"))

    def test_it_rounds_the_tax_half_up(self):
        t = line_totals(quantity=1, unit_price=D("0.125"), discount=D("0"), tax_percent=D("10"), prices_include_tax=False, currency="GBP")
        assert t.net == D("0.13") and t.tax == D("0.01")

    def test_a_discount_above_the_price_or_a_bad_quantity_is_refused(self):
        with pytest.raises(MoneyError, match="discount"):
            line_totals(quantity=1, unit_price=D("5"), discount=D("6"), tax_percent=D("0"), prices_include_tax=True, currency="GBP")
        with pytest.raises(MoneyError, match="quantity"):
            line_totals(quantity=0, unit_price=D("5"), discount=D("0"), tax_percent=D("0"), prices_include_tax=True, currency="GBP")

    @given(
        price=st.decimals(min_value=0, max_value=10000, places=2),
        quantity=st.integers(1, 50),
        rate=st.decimals(min_value=0, max_value=30, places=2),
        inclusive=st.booleans(),
    )
    def test_every_line_is_exactly_its_net_plus_its_tax(self, price, quantity, rate, inclusive):
        t = line_totals(
            quantity=quantity, unit_price=price, discount=D("0"), tax_percent=rate, prices_include_tax=inclusive, currency="GBP"
        )
        assert t.net + t.tax == t.total
        assert t.net >= 0 and t.tax >= 0
        assert all(v == v.quantize(D("0.01")) for v in (t.net, t.tax, t.total))
        if inclusive:
            assert t.total == quantize(price * quantity)

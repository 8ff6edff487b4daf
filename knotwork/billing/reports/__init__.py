"""The clinic owner's money reports: end-of-day reconciliation, sales, ageing of what clients owe,
prepaid liabilities, the tax summary, refunds and tips (docs/money.md, "Reports").

Every figure is derived from invoice lines, payments and ledger entries by grouped queries
(``values()`` + ``annotate()``), so a report costs the same handful of queries however many rows
the clinic has; nothing is stored. Dates are local to the clinic and both ends of a period are
included; the books are reported as they stand now (a voided invoice leaves the sales of the
period it was issued in; corrections after issue are credit notes, counted when they are issued).

Amounts stay ``Decimal`` in every row; :func:`amount_text` prints one with its currency's minor
digits for CSV files. A clinic bills in one currency, but any row in another currency is kept
apart: every total is per currency.
"""

from __future__ import annotations

from knotwork.billing.reports.balances import (
    AgedInvoice,
    AgeingReport,
    AgeingRow,
    LiabilityReport,
    StoreCredit,
    ageing_report,
    bucket_of,
    liability_report,
    liability_rows,
)
from knotwork.billing.reports.common import (
    BUCKETS,
    MONEY_METHODS,
    PREPAID_LINES,
    PREPAID_METHODS,
    PRESETS,
    RESTRICTED,
    amount_text,
    clinic_currency,
    money_period,
)
from knotwork.billing.reports.sales import SalesReport, SalesRow, issued_lines, sales_journal, sales_report
from knotwork.billing.reports.takings import (
    DayPayment,
    DayRefund,
    DayReport,
    MethodRow,
    day_report,
    refund_entries,
    refund_line,
    refund_rows,
    refund_totals,
)
from knotwork.billing.reports.tax import TaxReport, TaxRow, tax_report
from knotwork.billing.reports.tips import TipRow, TipsReport, tip_lines, tips_report
from knotwork.bookings.reports import Period, ReportError

__all__ = [
    "Period",
    "ReportError",
    "MONEY_METHODS",
    "PREPAID_METHODS",
    "PREPAID_LINES",
    "PRESETS",
    "BUCKETS",
    "RESTRICTED",
    "money_period",
    "amount_text",
    "clinic_currency",
    "SalesRow",
    "SalesReport",
    "issued_lines",
    "sales_report",
    "sales_journal",
    "MethodRow",
    "DayPayment",
    "DayRefund",
    "DayReport",
    "day_report",
    "refund_entries",
    "refund_rows",
    "refund_line",
    "refund_totals",
    "AgedInvoice",
    "AgeingRow",
    "AgeingReport",
    "bucket_of",
    "ageing_report",
    "StoreCredit",
    "LiabilityReport",
    "liability_report",
    "liability_rows",
    "TaxRow",
    "TaxReport",
    "tax_report",
    "TipRow",
    "TipsReport",
    "tip_lines",
    "tips_report",
]

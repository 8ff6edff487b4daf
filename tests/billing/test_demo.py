from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from knotwork.accounts.demo import DEMO_CLIENT_LOGIN, demo_seed
from knotwork.accounts.models import Clinic
from knotwork.billing import selectors
from knotwork.billing.models import BillingSettings, Invoice, InvoiceStatus, Payment, TaxRate
from knotwork.billing.verify import verify_money

pytestmark = pytest.mark.django_db


class DemoTests:
    def test_the_demo_clinic_bills_in_gbp_with_paid_unpaid_and_credited_invoices_and_verifies_clean(self):
        demo_seed()
        clinic = Clinic.objects.get(is_demo=True)
        conf = BillingSettings.objects.get(clinic=clinic)
        assert (conf.currency, conf.tax_number, conf.default_tax_rate.rate) == ("GBP", "GB 123 4567 89", 20)
        assert TaxRate.objects.filter(clinic=clinic).count() == 2
        issued = list(selectors.with_balance(Invoice.objects.filter(clinic=clinic, kind="invoice", status=InvoiceStatus.ISSUED)))
        assert any(i.balance == 0 for i in issued) and any(0 < i.balance < i.total for i in issued)
        assert any(i.balance == i.total for i in issued)
        assert Invoice.objects.filter(clinic=clinic, kind="credit_note").exists() and Payment.objects.filter(clinic=clinic).exists()
        portal_client = Invoice.objects.filter(client__portal_user__email=DEMO_CLIENT_LOGIN).exclude(status="draft")
        assert portal_client.exists()
        out = io.StringIO()
        call_command("money", "verify", stdout=out)
        assert "consistent" in out.getvalue()
        count = Invoice.objects.count()
        demo_seed()
        assert Invoice.objects.count() == count and verify_money().ok

"""Money in the client's language (docs/i18n.md): the portal's invoices, statement and shop pages
in Spanish and French, receipts and the gift card's e-mail in the client's (or buyer's) language
over a real SMTP conversation (aiosmtpd on loopback), and the translation check covering them."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import translation

from knotwork.billing import prepaid, receipt_email, services, shop
from knotwork.billing.membership_models import MembershipPlan, PeriodUnit
from knotwork.billing.models import FeeBasis, FeePolicy
from knotwork.lib.testing import make_user
from tests.billing.conftest import issued_invoice
from tests.lib.catalogues import tool
from tests.lib.pdf_text import pdf_text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogues", "english_afterwards")]

ROOT = Path(__file__).resolve().parents[2]
D = Decimal


@pytest.fixture
def spanish(money):
    """client_a (Ada) signs in to the portal and chose Spanish with the site's chooser."""
    user = make_user("ada@mail.example", mfa=False)
    user.language = "es"
    user.save(update_fields=["language"])
    money.client_a.portal_user = user
    money.client_a.email = "ada@mail.example"
    money.client_a.save(update_fields=["portal_user", "email"])
    return user


def _as(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def _pay(world, invoice, amount: str):
    return services.payment_record(
        clinic=world.clinic_a, client=world.client_a, actor=world.bob, method="cash", amount=amount, currency="GBP", invoices=[invoice]
    )


class PortalPageTests:
    def test_the_invoices_page_speaks_the_client_s_saved_language(self, money, spanish):
        invoice = issued_invoice(money)
        response = _as(spanish).get(reverse("portal_invoices", args=[money.client_a.pk]))
        assert response.status_code == 200 and response["Content-Language"] == "es"
        page = response.content.decode()
        for expected in ('<html lang="es"', "Mis facturas y recibos", "Tiene pendientes GBP 60,00.", "Sin pagar", "Descargar PDF",
                         "Extracto de un periodo", invoice.issued_at.strftime("%d/%m/%Y")):  # fmt: skip
            assert expected in page, expected
        for english in ("My invoices and receipts", "You owe", "Unpaid", "Download PDF"):
            assert english not in page, english

    def test_a_package_s_sessions_and_the_statement_are_in_spanish_too(self, money, spanish):
        invoice = issued_invoice(money)
        _pay(money, invoice, "75.00")  # GBP 15.00 more than owed: kept as credit
        http = _as(spanish)
        invoices = http.get(reverse("portal_invoices", args=[money.client_a.pk])).content.decode()
        assert "Tiene GBP 15,00 de saldo a su favor en la clínica." in invoices and "Pagada" in invoices
        statement = http.get(reverse("portal_statement", args=[money.client_a.pk]))
        assert statement.status_code == 200
        text = statement.content.decode()
        for expected in ("Extracto", "Saldo inicial", "Saldo final", "Pagos recibidos", "Este mes", "Imprimir como", "a su favor"):
            assert expected in text, expected
        assert "Opening balance" not in text and "Payments received" not in text
        # Date inputs take ISO dates in every language (a Spanish "01/12/2026" would leave them empty).
        assert re.search(r'name="from" value="\d{4}-\d{2}-\d{2}"', text) and re.search(r'name="to" value="\d{4}-\d{2}-\d{2}"', text)

    def test_the_statement_s_entries_and_methods_are_in_spanish_and_its_pdf_in_the_clinic_s_english(self, money, spanish):
        invoice = issued_invoice(money)
        _pay(money, invoice, "75.00")  # GBP 15.00 more than owed: kept as credit
        http = _as(spanish)
        url = reverse("portal_statement", args=[money.client_a.pk])
        text = http.get(url).content.decode()
        for expected in (f"Factura {invoice.number}", f"Pago, Efectivo, en {invoice.number}", "Saldo a favor guardado", "Efectivo"):
            assert expected in text, expected
        assert "Payment, Cash" not in text and "Kept as store credit" not in text
        pdf = pdf_text(http.get(url, {"format": "pdf"}).content)
        assert f"Payment, Cash, on {invoice.number}" in pdf and "Pago" not in pdf

    def test_every_payment_method_has_client_words(self):
        from knotwork.billing.client_text import METHOD_WORDS
        from knotwork.billing.models import PaymentMethod

        assert set(METHOD_WORDS) == set(PaymentMethod.values)
        with translation.override("fr"):
            assert str(METHOD_WORDS["cash"]) == "Espèces" and str(METHOD_WORDS["gift_card"]) == "Carte cadeau"

    def test_the_cancellation_policy_on_the_invoices_page_is_in_spanish(self, money, spanish):
        FeePolicy.objects.create(
            clinic=money.clinic_a, late_cancel_basis=FeeBasis.FIXED, late_cancel_value=D("30"), no_show_basis=FeeBasis.PERCENT,
            no_show_value=D("50"),
        )  # fmt: skip
        page = _as(spanish).get(reverse("portal_invoices", args=[money.client_a.pk])).content.decode()
        assert (
            "Cancelar con menos de 24 horas de antelación cuesta GBP 30,00, y no acudir a la cita cuesta el 50 % del precio, "
            "que se cobran en la tarjeta que guarde."
        ) in page
        assert "No hay ninguna tarjeta guardada." in page and "Cancelling" not in page

    def test_the_gift_card_shop_follows_the_browser_s_language_and_its_errors_too(self, money, stripe_on):
        visitor = HttpClient(headers={"accept-language": "es-ES,es;q=0.9"})
        url = reverse("shop_gift_card", args=[money.clinic_a.slug])
        page = visitor.get(url).content.decode()
        for expected in ("Regalar una tarjeta regalo", "GBP 25,00", "Otro importe (GBP)", "De GBP 10,00 a GBP 500,00.", "¿Para quién es?"):
            assert expected in page, expected
        form = {
            "amount": "other", "other_amount": "9", "recipient_name": "Grace", "recipient_email": "grace@mail.example",
            "first_name": "Alan", "last_name": "Turing", "email": "alan@mail.example",
        }  # fmt: skip
        refused = visitor.post(url, form)
        assert refused.status_code == 400 and "Elija un importe entre GBP 10,00 y GBP 500,00." in refused.content.decode()
        french = HttpClient(headers={"accept-language": "fr"}).get(url).content.decode()
        assert "Offrir une carte cadeau" in french and "Autre montant (GBP)" in french

    def test_the_portal_shop_speaks_french_to_a_french_browser(self, money, spanish, stripe_on):
        spanish.language = ""  # no saved choice: the browser decides
        spanish.save(update_fields=["language"])
        http = HttpClient(headers={"accept-language": "fr-FR,fr;q=0.9"})
        http.force_login(spanish)
        page = http.get(reverse("portal_shop", args=[money.client_a.pk])).content.decode()
        assert "Forfaits et cartes cadeaux" in page and "Acheter une carte cadeau" in page and "Mes factures" in page

    def test_a_membership_s_period_is_worded_in_the_active_language(self, money):
        plan = MembershipPlan(clinic=money.clinic_a, name="Monthly", period_unit=PeriodUnit.MONTH, period_count=1)
        with translation.override("en"):
            assert plan.period_words == "every month"
        with translation.override("es"):
            assert plan.period_words == "cada mes"
            plan.period_unit, plan.period_count = PeriodUnit.WEEK, 2
            assert plan.period_words == "cada 2 semanas"
        with translation.override("fr"):
            assert plan.period_words == "toutes les 2 semaines"


class EmailTests:
    def test_a_spanish_client_s_receipt_has_a_spanish_subject_and_body(self, money, spanish, smtp, django_capture_on_commit_callbacks):
        invoice = issued_invoice(money)
        with django_capture_on_commit_callbacks(execute=True):
            _pay(money, invoice, "1275.00")
        [text] = smtp.texts()
        to, subject, body = text.replace("\xa0", " ").split("\n", 2)  # Spanish groups thousands with a no-break space
        assert to == "ada@mail.example" and subject == "Recibo de Clinic A: GBP 1 275,00"
        for expected in (
            "Hola, Ada:", "Gracias por su pago a Clinic A.", "Importe: GBP 1 275,00", f"Factura: {invoice.number}",
            "Queda como saldo a su favor para su próxima visita: GBP 1 215,00", "Sus facturas y recibos: https://",
        ):  # fmt: skip
            assert expected in body, expected
        assert "Hello" not in body and "Thank you" not in body

    def test_the_request_s_language_does_not_leak_into_an_english_client_s_receipt(self, money):
        invoice = issued_invoice(money)
        payment = _pay(money, invoice, "60.00")
        with translation.override("fr"):  # e.g. sent from a request of a French-speaking desk member
            message = receipt_email.receipt_message(payment)
            assert translation.get_language() == "fr"
        assert message["subject"] == "Receipt from Clinic A: GBP 60.00" and "Hello Ada" in message["text"]

    def test_a_gift_card_bought_by_a_spanish_client_reaches_the_recipient_in_spanish(self, money, spanish, stripe_on, smtp):
        _, card = shop.gift_card_order(
            clinic=money.clinic_a, user=spanish, amount=D("50.00"), recipient_name="Grace", recipient_email="grace@mail.example",
            first_name="", last_name="", email="",
        )  # fmt: skip
        assert prepaid.gift_card_send(card)
        [text] = smtp.texts()
        to, subject, body = text.split("\n", 2)
        assert to == "grace@mail.example" and subject == "Su tarjeta regalo para Clinic A"
        for expected in ("Hola, Grace:", "Ada Lovelace le ha regalado una tarjeta regalo para Clinic A.", "Código: ", "Valor: GBP 50,00",
                         "Dé el código en recepción al pagar."):  # fmt: skip
            assert expected in body, expected


class CheckTests:
    MONEY_TEMPLATES = (
        "portal_invoices.html", "_status.html", "membership_portal.html", "statement.html", "_statement_balance.html",
        "shop_gift_card.html", "shop_pay.html", "shop_done.html", "shop_portal.html", "_shop_contents.html", "_shop_link.html",
        "email/payment_receipt.txt", "email/shop_receipt.txt", "email/gift_card.txt",
    )  # fmt: skip

    def test_the_check_covers_the_money_pages_e_mails_and_forms(self):
        check = tool("check_translations")
        covered = {p.relative_to(ROOT).as_posix() for p in check.client_templates()}
        for name in self.MONEY_TEMPLATES:
            assert f"templates/billing/{name}" in covered, name
        for source in ("knotwork/billing/shop_forms.py", "knotwork/billing/shop.py", "knotwork/billing/receipt_email.py",
                       "knotwork/billing/client_text.py", "knotwork/billing/statement_views.py"):  # fmt: skip
            assert source in check.PYTHON_SOURCES, source
        used = check.messages_used([ROOT / "templates/billing/portal_invoices.html"], [ROOT / "knotwork/billing/receipt_email.py"])
        assert (None, "My invoices and receipts") in used and (None, "Receipt from %(clinic)s: %(what)s") in used
        assert check.catalogue_problems(used) == []

    def test_english_left_in_a_money_template_fails_the_check(self, tmp_path, capsys):
        check = tool("check_translations")
        source = (ROOT / "templates/billing/portal_invoices.html").read_text(encoding="utf-8")
        fixture = tmp_path / "portal_invoices.html"
        fixture.write_text(source.replace('{% translate "Saved card" %}', "Saved card"), encoding="utf-8")
        assert check.main(["--template", str(fixture)]) == 1
        assert "English outside a translate tag: 'Saved card'" in capsys.readouterr().out

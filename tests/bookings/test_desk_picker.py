"""The desk's booking page, second part: the free-times panel (the online booking's slot engine),
a new client added in place, and the chosen client's balance and flags at a glance."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from knotwork.audit.models import AuditEvent
from knotwork.billing import services as billing
from knotwork.bookings.models import Appointment, Service
from knotwork.bookings.selectors import free_slots
from knotwork.clients.models import Client, ScreeningFlag
from knotwork.lib.testing import make_client
from tests.bookings.conftest import local

pytestmark = pytest.mark.django_db

NEW = reverse("appointment_new")
SLOTS = reverse("desk_slots")
CLIENT_NEW = reverse("desk_client_new")
GLANCE = reverse("desk_client_glance")
HTMX = {"HTTP_HX_REQUEST": "true"}


def _week(world, monday=None, **extra):
    monday = monday or world.monday
    return {"therapist": world.alice.pk, "service": world.session60.pk, "week": monday.isoformat(), **extra}


def _offered(response) -> list[str]:
    panel = response.context["panel"]
    return [s["iso"] for _, slots in panel.days for s in slots]


def _booking_form(world, **changes):
    data = {
        "client": world.client_a.pk,
        "therapist": world.alice.pk,
        "service": world.session60.pk,
        "day": world.monday.isoformat(),
        "at": "",
    }
    return {**data, **changes}


def _new_client(**changes):
    data = {
        "new-first_name": "Grace",
        "new-last_name": "Hopper",
        "new-email": "grace@navy.example",
        "new-phone": "",
        "new-date_of_birth": "",
    }
    return {**data, **changes}


class FreeTimesPanelTests:
    def test_it_lists_exactly_the_free_starts_the_slot_engine_gives_and_a_booked_time_disappears(self, as_user, booking):
        web = as_user(booking.bob)
        week_end = booking.monday + timedelta(days=6)
        engine = free_slots(
            clinic=booking.clinic_a,
            therapist=booking.alice,
            service=booking.session60,
            first_day=booking.monday,
            last_day=week_end,
            staff=True,
        )
        response = web.get(SLOTS, _week(booking), **HTMX)
        assert response.status_code == 200
        assert _offered(response) == [s.start.isoformat() for s in engine] and engine
        page = response.content.decode()
        ten = local(booking, booking.monday, 10)
        assert f'name="fill" value="{ten.astimezone(UTC).isoformat()}"' in page
        assert 'data-at="10:00"' in page and "Europe/London" in page and 'id="desk-slots-status"' in page

        assert web.post(NEW, _booking_form(booking, at="10:00")).status_code == 302
        after = _offered(web.get(SLOTS, _week(booking), **HTMX))
        taken = {local(booking, booking.monday, h, m).astimezone(UTC).isoformat() for h, m in [(10, 0), (9, 15), (10, 45)]}
        assert not taken & set(after)  # the hour itself, the hour before it and its 15-minute buffer after
        assert local(booking, booking.monday, 11, 15).astimezone(UTC).isoformat() in after
        engine_after = free_slots(
            clinic=booking.clinic_a,
            therapist=booking.alice,
            service=booking.session60,
            first_day=booking.monday,
            last_day=week_end,
            staff=True,
        )
        assert after == [s.start.isoformat() for s in engine_after]

    def test_weeks_move_forward_and_back_and_the_current_week_has_no_earlier_link(self, as_user, booking):
        web = as_user(booking.bob)
        today = timezone.localdate(timezone=booking.tz)
        this_monday = today - timedelta(days=today.weekday())
        now = web.get(SLOTS, _week(booking, this_monday), **HTMX)
        assert now.context["panel"].prev_week is None and "Previous week" not in now.content.decode()
        later = web.get(SLOTS, _week(booking, booking.monday + timedelta(days=7)), **HTMX)
        panel = later.context["panel"]
        assert panel.week == booking.monday + timedelta(days=7)
        assert panel.prev_week == booking.monday and panel.next_week == booking.monday + timedelta(days=14)
        page = later.content.decode()
        assert f'name="week" value="{booking.monday.isoformat()}"' in page and "Next week" in page
        # A date inside a week shows that whole week (from its Monday), as does the form's own date.
        thursday = booking.monday + timedelta(days=10)
        assert web.get(SLOTS, _week(booking, thursday), **HTMX).context["panel"].week == booking.monday + timedelta(days=7)
        by_day = web.get(SLOTS, {"therapist": booking.alice.pk, "service": booking.session60.pk, "day": thursday.isoformat()}, **HTMX)
        assert by_day.context["panel"].week == booking.monday + timedelta(days=7)

    def test_an_impossible_or_absurd_week_is_explained_never_a_server_error(self, as_user, booking):
        web = as_user(booking.bob)
        for bad in ("2026-02-30", "9999-12-31", "0001-01-01", "next tuesday", "2026-13-01", "x" * 300):
            response = web.get(SLOTS, _week(booking, week=bad), **HTMX)
            assert response.status_code == 200, bad
            assert "is not a date that can be shown" in response.content.decode(), bad
        far = web.get(SLOTS, _week(booking, week="2999-12-30"), **HTMX)
        assert far.status_code == 200 and "No free times this week." in far.content.decode()

    def test_a_week_without_free_times_says_so_and_offers_the_next(self, as_user, booking):
        web = as_user(booking.bob)
        last_year = booking.monday - timedelta(days=364)
        response = web.get(SLOTS, _week(booking, last_year), **HTMX)
        page = response.content.decode()
        assert "No free times this week." in page
        assert f'name="week" value="{(last_year - timedelta(days=last_year.weekday()) + timedelta(days=7)).isoformat()}"' in page

    def test_it_asks_for_a_therapist_and_service_and_says_when_the_service_is_not_theirs(self, as_user, booking):
        web = as_user(booking.bob)
        assert "Choose a therapist and a service" in web.get(SLOTS, {"therapist": booking.alice.pk}, **HTMX).content.decode()
        olivias = Service.objects.create(clinic=booking.clinic_a, therapist=booking.olivia, name="Olivia's own", duration_minutes=30)
        refused = web.get(SLOTS, {"therapist": booking.alice.pk, "service": olivias.pk}, **HTMX).content.decode()
        assert "does not offer Olivia&#x27;s own" in refused

    def test_without_script_show_free_times_and_choosing_one_come_back_as_typed(self, as_user, booking):
        web = as_user(booking.bob)
        shown = web.post(NEW, {**_booking_form(booking, outside_hours_reason="typed"), "slots": "show"})
        assert shown.status_code == 200 and not Appointment.objects.exists()
        page = shown.content.decode()
        assert "Find the client and choose them." not in page  # a step, not a booking attempt: no errors
        assert 'value="typed"' in page and f'id="client-{booking.client_a.pk}" checked' in page
        iso = local(booking, booking.monday, 11, 15).astimezone(UTC).isoformat()
        assert iso in _offered(shown)

        filled = web.post(NEW, {**_booking_form(booking), "fill": iso})
        form = filled.context["form"]
        assert form.initial["day"] == booking.monday.isoformat() and form.initial["at"] == "11:15"
        assert 'aria-pressed="true"' in filled.content.decode()
        assert not Appointment.objects.exists()
        later = web.post(NEW, {**_booking_form(booking), "week": (booking.monday + timedelta(days=7)).isoformat()})
        assert later.context["panel"].week == booking.monday + timedelta(days=7)

        booked = web.post(NEW, _booking_form(booking, at="11:15"))
        assert booked.status_code == 302
        assert Appointment.objects.get().starts_at == local(booking, booking.monday, 11, 15)

    def test_the_page_shows_the_panel_and_its_live_status(self, as_user, booking):
        page = as_user(booking.bob).get(NEW, {"therapist": booking.alice.pk}).content.decode()
        assert 'id="desk-slots-panel"' in page and 'role="status"' in page and "Show free times" in page
        assert 'hx-get="' + SLOTS + '"' in page and "bookings/desk.js" in page

    def test_another_clinics_therapist_or_service_is_a_404(self, as_user, booking):
        web = as_user(booking.charlie)
        assert web.get(SLOTS, _week(booking), **HTMX).status_code == 404
        own_service = Service.objects.create(clinic=booking.clinic_b, name="B session", duration_minutes=60)
        assert web.get(SLOTS, {"therapist": booking.alice.pk, "service": own_service.pk}, **HTMX).status_code == 404
        assert web.get(SLOTS, {"therapist": booking.charlie.pk, "service": booking.session60.pk}, **HTMX).status_code == 404


class NewClientInPlaceTests:
    def test_opening_it_starts_from_what_was_searched(self, as_user, booking):
        web = as_user(booking.bob)
        response = web.get(CLIENT_NEW, {"new_client": "open", "client_q": "Grace Hopper"}, **HTMX)
        page = response.content.decode()
        assert 'name="new-first_name"' in page and 'value="Grace"' in page and 'value="Hopper"' in page
        # No autofocus in a panel htmx swaps in: desk.js focuses it once it has settled (an autofocus
        # applied late could move the caret into another field mid-typing).
        assert "autofocus" not in page
        phone = web.get(CLIENT_NEW, {"new_client": "open", "client_q": "07700 900123"}, **HTMX).content.decode()
        assert 'value="07700 900123"' in phone
        closed = web.get(CLIENT_NEW, {"new_client": "cancel"}, **HTMX).content.decode()
        assert "new-first_name" not in closed and "New client" in closed

    def test_adding_creates_the_client_through_the_service_and_chooses_it(self, as_user, booking):
        web = as_user(booking.bob)
        response = web.post(CLIENT_NEW, {**_booking_form(booking, client=""), **_new_client(), "new_client": "add"}, **HTMX)
        grace = Client.objects.get(last_name="Hopper")
        assert grace.clinic == booking.clinic_a and grace.email == "grace@navy.example"
        page = response.content.decode()
        assert "Grace Hopper was added" in page
        assert 'id="client-results" hx-swap-oob="innerHTML"' in page and f'id="client-{grace.pk}" checked' in page
        assert 'id="client-glance" hx-swap-oob="innerHTML"' in page and "Grace Hopper at a glance" in page
        event = AuditEvent.objects.get(action="create", object_type="clients.client", object_id=str(grace.pk))
        assert event.actor == booking.bob and "email" in event.detail["fields"]

    def test_without_script_adding_keeps_everything_typed_in_the_booking_form(self, as_user, booking):
        web = as_user(booking.bob)
        data = {**_booking_form(booking, client="", at="11:15", outside_hours_reason="late shift"), **_new_client(), "new_client": "add"}
        response = web.post(NEW, data)
        grace = Client.objects.get(last_name="Hopper")
        page = response.content.decode()
        assert response.status_code == 200 and not Appointment.objects.exists()
        assert f'id="client-{grace.pk}" checked' in page and "Grace Hopper at a glance" in page
        form = response.context["form"]
        assert form.initial["at"] == "11:15" and form.initial["day"] == booking.monday.isoformat()
        assert str(form.initial["therapist"]) == str(booking.alice.pk) and 'value="late shift"' in page
        assert web.post(NEW, {**_booking_form(booking, client=grace.pk, at="11:15")}).status_code == 302
        assert Appointment.objects.get().client == grace

    def test_a_validation_error_is_shown_in_place_and_nothing_typed_is_lost(self, as_user, booking):
        web = as_user(booking.bob)
        data = {**_booking_form(booking, at="11:15"), **_new_client(**{"new-email": "", "new-phone": ""}), "new_client": "add"}
        response = web.post(NEW, data)
        page = response.content.decode()
        assert "Give an e-mail address or a phone number" in page
        assert 'value="Grace"' in page and 'value="Hopper"' in page
        assert response.context["form"].initial["at"] == "11:15" and f'id="client-{booking.client_a.pk}" checked' in page
        assert not Client.objects.filter(last_name="Hopper").exists()
        bad_phone = web.post(CLIENT_NEW, {**_new_client(**{"new-phone": "call me"}), "new_client": "add"}, **HTMX).content.decode()
        assert "Enter a phone number" in bad_phone and 'value="grace@navy.example"' in bad_phone
        future = (timezone.localdate() + timedelta(days=3)).isoformat()
        born = web.post(CLIENT_NEW, {**_new_client(**{"new-date_of_birth": future}), "new_client": "add"}, **HTMX).content.decode()
        assert "date of birth in the past" in born
        assert not Client.objects.filter(last_name="Hopper").exists()

    def test_a_client_with_the_same_email_or_phone_is_offered_instead(self, as_user, booking):
        Client.objects.filter(pk=booking.client_a.pk).update(email="Ada@Engine.example", phone="07700 900123")
        web = as_user(booking.bob)
        same_email = web.post(CLIENT_NEW, {**_new_client(**{"new-email": "ada@engine.example"}), "new_client": "add"}, **HTMX)
        page = same_email.content.decode()
        assert "Already a client?" in page and "Lovelace, Ada" in page and f'name="use_client" value="{booking.client_a.pk}"' in page
        same_phone = web.post(
            CLIENT_NEW, {**_new_client(**{"new-email": "", "new-phone": "+44 7700 900123"}), "new_client": "add"}, **HTMX
        ).content.decode()
        assert "Lovelace, Ada" in same_phone
        assert not Client.objects.filter(last_name="Hopper").exists()
        assert AuditEvent.objects.filter(action="list", object_type="clients.client").exists()

        used = web.post(CLIENT_NEW, {"use_client": booking.client_a.pk}, **HTMX).content.decode()
        assert f'id="client-{booking.client_a.pk}" checked' in used and "Ada Lovelace at a glance" in used
        assert not Client.objects.filter(last_name="Hopper").exists()

        anyway = web.post(CLIENT_NEW, {**_new_client(**{"new-email": "ada@engine.example"}), "new-anyway": "1"}, **HTMX)
        assert "was added" in anyway.content.decode() and Client.objects.filter(last_name="Hopper").count() == 1

    def test_without_script_the_match_can_be_chosen(self, as_user, booking):
        Client.objects.filter(pk=booking.client_a.pk).update(email="ada@engine.example")
        web = as_user(booking.bob)
        data = {**_booking_form(booking, client="", at="11:15"), **_new_client(**{"new-email": "ada@engine.example"})}
        offered = web.post(NEW, {**data, "new_client": "add"}).content.decode()
        assert "Already a client?" in offered
        chosen = web.post(NEW, {**data, "use_client": booking.client_a.pk})
        assert f'id="client-{booking.client_a.pk}" checked' in chosen.content.decode()
        assert chosen.context["form"].initial["at"] == "11:15"

    def test_charlie_cannot_pick_clinic_as_client_and_adds_only_to_his_own_clinic(self, as_user, booking):
        web = as_user(booking.charlie)
        assert web.post(CLIENT_NEW, {"use_client": booking.client_a.pk}, **HTMX).status_code == 404
        assert web.post(NEW, {"use_client": booking.client_a.pk}).status_code == 404
        web.post(CLIENT_NEW, {**_new_client(), "new_client": "add"}, **HTMX)
        assert Client.objects.get(last_name="Hopper").clinic == booking.clinic_b

    def test_a_get_never_creates_and_a_plain_visit_goes_to_the_booking_page(self, as_user, booking):
        web = as_user(booking.bob)
        web.get(CLIENT_NEW, {**_new_client(), "new_client": "add"}, **HTMX)
        assert not Client.objects.filter(last_name="Hopper").exists()
        assert web.get(CLIENT_NEW).status_code == 302


class ClientAtAGlanceTests:
    def _owe(self, world, price="65.00"):
        invoice = billing.invoice_create(clinic=world.clinic_a, client=world.client_a, actor=world.bob)
        billing.invoice_line_add(invoice=invoice, actor=world.bob, description="Treatment", unit_price=price)
        billing.invoice_issue(invoice=invoice, actor=world.bob)

    def _flag(self, world):
        return ScreeningFlag.objects.create(
            clinic=world.clinic_a,
            client=world.client_a,
            rule_id="anticoagulants",
            rules_version="1",
            flag_class="precaution",
            title="Takes blood thinners",
            reason="Bruises easily under deep pressure",
        )

    def test_the_desk_sees_what_the_client_owes_formatted_and_the_read_is_audited(self, as_user, booking):
        self._owe(booking)
        response = as_user(booking.bob).get(GLANCE, {"client": booking.client_a.pk}, **HTMX)
        page = response.content.decode()
        assert "Owes GBP 65.00" in page and "Ada Lovelace at a glance" in page
        event = AuditEvent.objects.filter(action="view", object_type="clients.client").latest("seq")
        assert event.object_id == str(booking.client_a.pk) and event.actor == booking.bob
        assert event.detail["billing"] == "balance" and event.detail["clinical"] is False

    def test_nothing_owed_says_so(self, as_user, booking):
        assert "Nothing owed" in as_user(booking.bob).get(GLANCE, {"client": booking.client_a.pk}, **HTMX).content.decode()

    def test_the_desk_sees_that_there_is_an_alert_but_no_clinical_detail(self, as_user, booking):
        self._flag(booking)
        page = as_user(booking.bob).get(GLANCE, {"client": booking.client_a.pk}, **HTMX).content.decode()
        assert "Clinical alert" in page and "Ask the therapist" in page
        for secret in ("warfarin", "blood thinners", "Bruises", "Treat with precautions", "anticoagulants"):
            assert secret.lower() not in page.lower(), secret
        full = as_user(booking.bob).get(NEW, {"client": booking.client_a.pk}).content.decode()
        assert "Clinical alert" in full and "warfarin" not in full.lower() and "blood thinners" not in full

    def test_the_therapist_sees_the_flag_text_and_no_account_the_owner_sees_both(self, as_user, booking, client):
        self._flag(booking)
        self._owe(booking)
        alice = as_user(booking.alice).get(GLANCE, {"client": booking.client_a.pk}, **HTMX).content.decode()
        assert "Takes blood thinners" in alice and "On warfarin" in alice and "Owes" not in alice
        assert AuditEvent.objects.filter(action="view", object_type="clients.client").latest("seq").detail["clinical"] is True
        client.logout()
        olivia = as_user(booking.olivia).get(GLANCE, {"client": booking.client_a.pk}, **HTMX).content.decode()
        assert "Takes blood thinners" in olivia and "Owes GBP 65.00" in olivia

    def test_a_client_without_alerts_shows_none(self, as_user, booking):
        quiet = make_client(booking.clinic_a, first_name="Quiet", last_name="Person")
        page = as_user(booking.bob).get(GLANCE, {"client": quiet.pk}, **HTMX).content.decode()
        assert "Clinical alert" not in page and "None" in page

    def test_another_clinics_client_is_a_404_and_no_client_is_nothing(self, as_user, booking):
        web = as_user(booking.charlie)
        assert web.get(GLANCE, {"client": booking.client_a.pk}, **HTMX).status_code == 404
        assert web.get(GLANCE, {"client": booking.client_b.pk}, **HTMX).status_code == 200
        empty = web.get(GLANCE, {"client": ""}, **HTMX)
        assert empty.status_code == 200 and empty.content.decode().strip() == ""

"""The waitlist: joining, matching a freed time, offers to the first few in order, and claiming
one — through the same booking service and database guard as every booking, so exactly one wins."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import time, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connections
from django.test import Client as HttpClient
from django.utils import timezone

from knotwork.accounts.models import Membership
from knotwork.bookings import services
from knotwork.bookings import waitlist as wl
from knotwork.bookings.models import (
    Appointment,
    AppointmentStatus,
    BookingPolicy,
    Service,
    SmsStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistOfferStatus,
    WaitlistStatus,
)
from knotwork.bookings.services import Actor
from knotwork.lib.testing import make_client, make_user
from tests.bookings.conftest import local

CLAIM_LINK = re.compile(r"https?://[^\s\"<>]+/waitlist/claim/([A-Za-z0-9_\-]+)/")


def staff(world, user=None) -> Actor:
    user = user or world.bob
    return Actor(user=user, membership=Membership.objects.get(user=user, clinic=world.clinic_a))


def window(world, *, weekdays=(0, 1, 2, 3, 4), start=time(9), end=time(12), days=21) -> wl.Window:
    today = timezone.localdate(timezone=world.tz)
    return wl.Window(today, today + timedelta(days=days), tuple(weekdays), start, end)


def waiting_client(world, n: int, **extra):
    user = make_user(f"waiter{n}@mail.example", mfa=False)
    return make_client(world.clinic_a, first_name=f"Waiter{n}", portal_user=user, email=user.email, **extra)


def join(world, client, *, service=None, therapist=None, **kw) -> WaitlistEntry:
    return wl.waitlist_join(
        clinic=world.clinic_a,
        client=client,
        service=service or world.consult,
        therapist=therapist,
        window=window(world, **kw),
        actor=staff(world),
    )


def book_and_cancel(world, capture, *, hour=10, service=None) -> Appointment:
    appointment = services.appointment_book(
        clinic=world.clinic_a,
        therapist=world.alice,
        service=service or world.consult,
        start=local(world, world.monday, hour),
        client=world.client_a,
        actor=staff(world),
    )
    mail.outbox.clear()
    with capture(execute=True):
        services.appointment_cancel(appointment=appointment, actor=staff(world), late=False)
    return appointment


def offer_mails() -> list:
    return [m for m in mail.outbox if m.subject.startswith("A time has come free")]


def token_in(message) -> str:
    found = CLAIM_LINK.search(message.body)
    assert found, message.body
    return found.group(1)


class MatchingTests:
    def test_any_therapist_and_the_named_therapist_match_but_another_therapist_does_not(self, booking):
        anyone = join(booking, waiting_client(booking, 1))
        named = join(booking, waiting_client(booking, 2), therapist=booking.alice)
        other = join(booking, waiting_client(booking, 3), therapist=booking.olivia)
        found = wl.matching_entries(clinic=booking.clinic_a, therapist=booking.alice, start=local(booking, booking.monday, 10))
        assert [e.pk for e in found] == [anyone.pk, named.pk]
        assert other.pk not in [e.pk for e in found]

    def test_the_whole_appointment_must_fit_the_days_and_hours(self, booking):
        afternoons = join(booking, waiting_client(booking, 1), start=time(13), end=time(17))
        weekends = join(booking, waiting_client(booking, 2), weekdays=(5, 6))
        too_short = join(booking, waiting_client(booking, 3), service=booking.session60, start=time(9), end=time(10, 30))
        mornings = join(booking, waiting_client(booking, 4), service=booking.session60, start=time(9), end=time(12))
        found = wl.matching_entries(clinic=booking.clinic_a, therapist=booking.alice, start=local(booking, booking.monday, 10))
        assert [e.pk for e in found] == [mornings.pk]
        assert {afternoons.pk, weekends.pk, too_short.pk}.isdisjoint(e.pk for e in found)

    def test_dates_outside_the_entry_do_not_match(self, booking):
        entry = join(booking, waiting_client(booking, 1), days=1)
        later = local(booking, booking.monday + timedelta(days=7), 10)
        assert wl.matching_entries(clinic=booking.clinic_a, therapist=booking.alice, start=later) == []
        assert entry.status == WaitlistStatus.ACTIVE

    def test_a_time_that_is_not_free_any_more_is_not_offered(self, booking, django_capture_on_commit_callbacks):
        join(booking, waiting_client(booking, 1))
        freed = book_and_cancel(booking, django_capture_on_commit_callbacks)
        WaitlistOffer.objects.all().delete()
        WaitlistEntry.objects.update(status=WaitlistStatus.ACTIVE)
        services.appointment_book(
            clinic=booking.clinic_a, therapist=booking.alice, service=booking.consult, start=freed.starts_at,
            client=make_client(booking.clinic_a), actor=staff(booking),
        )  # fmt: skip
        assert wl.offers_for_freed_time(appointment_id=freed.pk) == []

    def test_a_service_only_the_clinic_books_has_no_waitlist(self, booking):
        with pytest.raises(wl.WaitlistError, match="no waitlist"):
            join(booking, waiting_client(booking, 1), service=booking.staff_only)

    def test_joining_twice_for_the_same_thing_is_a_conflict(self, booking):
        client = waiting_client(booking, 1)
        join(booking, client)
        with pytest.raises(wl.WaitlistConflict):
            join(booking, client)

    def test_a_window_shorter_than_the_service_is_refused_with_its_field(self, booking):
        with pytest.raises(wl.WaitlistError) as refused:
            join(booking, waiting_client(booking, 1), service=booking.session60, start=time(9), end=time(9, 30))
        assert refused.value.field == "day_end"


class OfferTests:
    def test_a_cancellation_offers_the_time_to_the_first_three_in_order_by_email(self, booking, django_capture_on_commit_callbacks):
        entries = [join(booking, waiting_client(booking, n)) for n in range(5)]
        book_and_cancel(booking, django_capture_on_commit_callbacks)
        offers = list(WaitlistOffer.objects.order_by("pk"))
        assert [o.entry_id for o in offers] == [e.pk for e in entries[:3]]
        assert {o.status for o in offers} == {WaitlistOfferStatus.SENT}
        statuses = [WaitlistEntry.objects.get(pk=e.pk).status for e in entries]
        assert statuses == [WaitlistStatus.OFFERED] * 3 + [WaitlistStatus.ACTIVE] * 2
        sent = offer_mails()
        assert sorted(m.to[0] for m in sent) == sorted(e.client.email for e in entries[:3])
        for message in sent:
            assert f"{settings.SITE_URL}/waitlist/claim/" in message.body
            assert "Book it" not in message.body and "first to claim" in message.body
        # Only hashes are stored: no token from a mail appears in the table.
        tokens = {token_in(m) for m in sent}
        assert len(tokens) == 3 and not WaitlistOffer.objects.filter(token_hash__in=tokens).exists()

    def test_rerunning_the_task_sends_nothing_twice(self, booking, django_capture_on_commit_callbacks):
        for n in range(5):
            join(booking, waiting_client(booking, n))
        freed = book_and_cancel(booking, django_capture_on_commit_callbacks)
        mail.outbox.clear()
        assert wl.offers_for_freed_time(appointment_id=freed.pk) == []
        assert WaitlistOffer.objects.count() == 3 and mail.outbox == []

    def test_an_opted_in_client_is_also_texted_once(self, booking, django_capture_on_commit_callbacks):
        BookingPolicy.objects.filter(clinic=booking.clinic_a).update(sms_reminders=True)
        texted = join(booking, waiting_client(booking, 1, phone="+447700900123", reminders_by_sms=True))
        mailed = join(booking, waiting_client(booking, 2, phone="+447700900456"))
        book_and_cancel(booking, django_capture_on_commit_callbacks)
        assert WaitlistOffer.objects.get(entry=texted).sms_status == SmsStatus.SENT
        assert WaitlistOffer.objects.get(entry=mailed).sms_status == SmsStatus.NONE
        assert len(offer_mails()) == 2


class ClaimTests:
    def _offered(self, booking, capture, n=3):
        entries = [join(booking, waiting_client(booking, i)) for i in range(n)]
        book_and_cancel(booking, capture)
        tokens = {m.to[0]: token_in(m) for m in offer_mails()}
        return entries, [tokens[e.client.email] for e in entries]

    def test_the_link_shows_the_time_and_books_it_for_the_entrys_client(self, booking, client, django_capture_on_commit_callbacks):
        entries, tokens = self._offered(booking, django_capture_on_commit_callbacks)
        page = client.get(f"/waitlist/claim/{tokens[1]}/")
        assert page.status_code == 200
        assert b"Book it" in page.content and b"no-store" in page["Cache-Control"].encode()
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            done = client.post(f"/waitlist/claim/{tokens[1]}/")
        assert done.status_code == 302
        booked = Appointment.objects.get(client=entries[1].client)
        assert booked.status == AppointmentStatus.CONFIRMED and booked.starts_at == local(booking, booking.monday, 10)
        assert WaitlistEntry.objects.get(pk=entries[1].pk).status == WaitlistStatus.BOOKED
        # The others are told, once, and wait for the next time.
        gone = [m for m in mail.outbox if m.subject.startswith("That time has gone")]
        assert sorted(m.to[0] for m in gone) == sorted([entries[0].client.email, entries[2].client.email])
        assert wl.tell_gone(WaitlistOffer.objects.values_list("pk", flat=True)) == 0
        for entry in (entries[0], entries[2]):
            assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistStatus.ACTIVE
        refused = client.post(f"/waitlist/claim/{tokens[0]}/")
        assert b"someone else has just taken this time" in refused.content
        assert Appointment.objects.filter(starts_at=booked.starts_at, status=AppointmentStatus.CONFIRMED).count() == 1

    def test_a_used_link_books_nothing_more(self, booking, client, django_capture_on_commit_callbacks):
        entries, tokens = self._offered(booking, django_capture_on_commit_callbacks, n=1)
        client.post(f"/waitlist/claim/{tokens[0]}/")
        again = client.post(f"/waitlist/claim/{tokens[0]}/")
        assert again.status_code == 200 and b"This time is booked" in again.content
        assert Appointment.objects.filter(client=entries[0].client).count() == 1

    def test_an_expired_link_says_so_and_books_nothing(self, booking, client, django_capture_on_commit_callbacks):
        entries, tokens = self._offered(booking, django_capture_on_commit_callbacks, n=1)
        WaitlistOffer.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        page = client.get(f"/waitlist/claim/{tokens[0]}/")
        assert b"This offer has expired" in page.content and b"Book it" not in page.content
        client.post(f"/waitlist/claim/{tokens[0]}/")
        assert not Appointment.objects.filter(client=entries[0].client).exists()
        wl.offers_expire()
        assert WaitlistEntry.objects.get(pk=entries[0].pk).status == WaitlistStatus.ACTIVE

    def test_an_unknown_token_and_someone_else_signed_in_get_a_404(self, booking, client, as_user, django_capture_on_commit_callbacks):
        entries, tokens = self._offered(booking, django_capture_on_commit_callbacks, n=1)
        assert client.get("/waitlist/claim/not-a-real-token/").status_code == 404
        for stranger in (booking.charlie, booking.alice, make_user("someone@mail.example", mfa=False)):
            http = as_user(stranger)
            assert http.get(f"/waitlist/claim/{tokens[0]}/").status_code == 404
            assert http.post(f"/waitlist/claim/{tokens[0]}/").status_code == 404
        assert not Appointment.objects.filter(client=entries[0].client).exists()
        own = as_user(entries[0].client.portal_user)
        assert own.post(f"/waitlist/claim/{tokens[0]}/").status_code == 302
        assert Appointment.objects.filter(client=entries[0].client).exists()

    def test_a_withdrawn_entrys_link_stops_working(self, booking, client, django_capture_on_commit_callbacks):
        entries, tokens = self._offered(booking, django_capture_on_commit_callbacks, n=1)
        wl.waitlist_withdraw(entry=entries[0], actor=staff(booking))
        page = client.post(f"/waitlist/claim/{tokens[0]}/")
        assert b"This offer has expired" in page.content
        assert not Appointment.objects.filter(client=entries[0].client).exists()


@pytest.mark.django_db(transaction=True)
class ClaimRaceTests:
    def test_two_clients_claiming_one_time_at_once_get_exactly_one_booking(self, booking):
        entries = [join(booking, waiting_client(booking, i)) for i in range(2)]
        appointment = services.appointment_book(
            clinic=booking.clinic_a, therapist=booking.alice, service=booking.consult, start=local(booking, booking.monday, 10),
            client=booking.client_a, actor=staff(booking),
        )  # fmt: skip
        mail.outbox.clear()
        services.appointment_cancel(appointment=appointment, actor=staff(booking), late=False)  # on_commit runs the task
        tokens = {m.to[0]: token_in(m) for m in offer_mails()}
        assert len(tokens) == 2
        barrier = threading.Barrier(2)

        def claim(i: int) -> str:
            try:
                http = HttpClient()
                barrier.wait(timeout=30)
                page = http.post(f"/waitlist/claim/{tokens[entries[i].client.email]}/")
                return "booked" if page.status_code == 302 else page.content.decode()
            finally:
                connections.close_all()

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(claim, range(2)))
        assert results.count("booked") == 1
        loser = next(r for r in results if r != "booked")
        assert "someone else has just taken this time" in loser
        assert Appointment.objects.filter(starts_at=appointment.starts_at, status=AppointmentStatus.CONFIRMED).count() == 1
        statuses = sorted(WaitlistEntry.objects.values_list("status", flat=True))
        assert statuses == [WaitlistStatus.ACTIVE, WaitlistStatus.BOOKED]
        assert sorted(WaitlistOffer.objects.values_list("status", flat=True)) == [WaitlistOfferStatus.CLAIMED, WaitlistOfferStatus.GONE]


class PageTests:
    def test_a_signed_in_client_joins_from_the_booking_page(self, booking, as_user):
        client = waiting_client(booking, 1)
        http = as_user(client.portal_user)
        slots = http.get(f"/book/{booking.clinic_a.slug}/{booking.alice.pk}/{booking.consult.pk}/")
        assert b"Join the waitlist" in slots.content
        form = http.get(f"/book/{booking.clinic_a.slug}/waitlist/?service={booking.consult.pk}")
        assert form.status_code == 200
        today = timezone.localdate(timezone=booking.tz)
        data = {
            "service": booking.consult.pk, "therapist": "", "earliest_date": today.isoformat(),
            "latest_date": (today + timedelta(days=14)).isoformat(), "weekdays": ["0", "1"], "day_start": "09:00", "day_end": "12:00",
        }  # fmt: skip
        done = http.post(f"/book/{booking.clinic_a.slug}/waitlist/", data)
        assert done.status_code == 302
        entry = WaitlistEntry.objects.get(client=client)
        assert entry.weekdays == [0, 1] and entry.therapist is None and entry.created_by == client.portal_user
        bad = http.post(f"/book/{booking.clinic_a.slug}/waitlist/", {**data, "service": booking.session60.pk, "day_end": "09:30"})
        assert bad.status_code == 200 and b"widen the time of day" in bad.content and b"error-summary" in bad.content
        mine = http.get("/waitlist/")
        assert b"Free consultation" in mine.content
        assert http.post(f"/waitlist/{entry.pk}/withdraw/").status_code == 302
        assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistStatus.WITHDRAWN

    def test_the_desk_adds_lists_and_filters_its_clinics_waitlist(self, booking, as_user, django_assert_max_num_queries):
        waiting = join(booking, waiting_client(booking, 1))
        http = as_user(booking.bob)
        today = timezone.localdate(timezone=booking.tz)
        added = http.post(
            f"/schedule/waitlist/new/?client={booking.client_a.pk}",
            {"client": booking.client_a.pk, "service": booking.session60.pk, "therapist": booking.alice.pk,
             "earliest_date": today.isoformat(), "latest_date": (today + timedelta(days=7)).isoformat(),
             "day_start": "09:00", "day_end": "17:00"},
        )  # fmt: skip
        assert added.status_code == 302
        page = http.get("/schedule/waitlist/")
        assert waiting.client.full_name.encode() in page.content and b"Ada Lovelace" in page.content
        filtered = http.get(f"/schedule/waitlist/?service={booking.session60.pk}")
        assert b"Ada Lovelace" in filtered.content and waiting.client.full_name.encode() not in filtered.content
        for n in range(2, 6):
            join(booking, waiting_client(booking, n))
        with django_assert_max_num_queries(25):
            http.get("/schedule/waitlist/")

    def test_another_clinics_staff_get_404s(self, booking, as_user):
        entry = join(booking, waiting_client(booking, 1))
        http = as_user(booking.charlie)
        assert http.post(f"/waitlist/{entry.pk}/withdraw/").status_code == 404
        assert b"Waiter1" not in http.get("/schedule/waitlist/").content
        assert http.get(f"/schedule/waitlist/new/?client={booking.client_a.pk}").status_code == 404
        assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistStatus.ACTIVE


class ApiTests:
    def _body(self, booking, **extra):
        today = timezone.localdate(timezone=booking.tz)
        body = {
            "service": booking.consult.pk, "earliest_date": today.isoformat(), "latest_date": (today + timedelta(days=14)).isoformat(),
            "weekdays": [0, 1, 2, 3, 4], "day_start": "09:00", "day_end": "12:00",
        }  # fmt: skip
        return {**body, **extra}

    def test_a_client_joins_reads_lists_and_withdraws_their_own_entry(self, booking, as_user):
        client = waiting_client(booking, 1)
        http = as_user(client.portal_user)
        made = http.post("/api/waitlist", self._body(booking), content_type="application/json")
        assert made.status_code == 201, made.content
        entry_id = made.json()["id"]
        assert made.json()["status"] == "active" and made.json()["therapist"] is None
        again = http.post("/api/waitlist", self._body(booking), content_type="application/json")
        assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
        assert http.get(f"/api/waitlist/{entry_id}").json()["id"] == entry_id
        assert [e["id"] for e in http.get("/api/waitlist").json()["items"]] == [entry_id]
        assert http.delete(f"/api/waitlist/{entry_id}").json()["status"] == "withdrawn"
        assert http.delete(f"/api/waitlist/{entry_id}").status_code == 409

    def test_statuses_for_bad_input_roles_and_rules(self, booking, client, as_user):
        assert client.get("/api/waitlist").status_code == 401
        assert client.post("/api/waitlist", self._body(booking), content_type="application/json").status_code == 401
        waiter = as_user(waiting_client(booking, 1).portal_user)
        bad = waiter.post("/api/waitlist", self._body(booking, weekdays="weekdays", colour="blue"), content_type="application/json")
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
        assert (
            waiter.post("/api/waitlist", self._body(booking, client=booking.client_a.pk), content_type="application/json").status_code
            == 403
        )
        past = (timezone.localdate(timezone=booking.tz) - timedelta(days=1)).isoformat()
        refused = waiter.post("/api/waitlist", self._body(booking, earliest_date=past), content_type="application/json")
        assert refused.status_code == 422 and "earliest_date" in refused.json()["error"]["fields"]
        assert waiter.post("/api/waitlist", self._body(booking, service=2_000_000_000), content_type="application/json").status_code == 404
        desk = as_user(booking.bob)
        assert desk.post("/api/waitlist", self._body(booking), content_type="application/json").status_code == 400
        made = desk.post("/api/waitlist", self._body(booking, client=booking.client_a.pk), content_type="application/json")
        assert made.status_code == 201
        assert (
            desk.post("/api/waitlist", self._body(booking, client=booking.client_b.pk), content_type="application/json").status_code == 404
        )
        assert {e["client"] for e in desk.get("/api/waitlist").json()["items"]} >= {booking.client_a.pk}
        assert desk.get("/api/waitlist?status=nonsense").status_code == 400

    def test_another_clinic_gets_404_and_cannot_withdraw(self, booking, as_user):
        entry = join(booking, waiting_client(booking, 1))
        charlie = as_user(booking.charlie)
        assert charlie.get(f"/api/waitlist/{entry.pk}").status_code == 404
        assert charlie.delete(f"/api/waitlist/{entry.pk}").status_code == 404
        assert entry.pk not in [e["id"] for e in charlie.get("/api/waitlist").json()["items"]]
        other = Service.objects.create(clinic=booking.clinic_a, name="Other", duration_minutes=30)
        made = charlie.post(
            "/api/waitlist", self._body(booking, service=other.pk, client=booking.client_a.pk), content_type="application/json"
        )
        assert made.status_code == 404
        assert WaitlistEntry.objects.get(pk=entry.pk).status == WaitlistStatus.ACTIVE

    def test_every_error_status_is_documented(self, client):
        schema = client.get("/api/openapi.json").json()
        for path, methods in (("/api/waitlist", ("get", "post")), ("/api/waitlist/{entry_id}", ("get", "delete"))):
            for method in methods:
                documented = {str(s) for s in schema["paths"][path][method]["responses"]}
                assert {"400", "401", "403", "404"} <= documented, (path, method)
                if method in ("post", "delete"):
                    assert {"409", "422"} <= documented, (path, method)

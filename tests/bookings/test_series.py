"""Recurring appointments: planning every occurrence, booking all or nothing with a choice per
conflict, the clocks changing, cancelling and moving "this and following", tenancy and the API."""

from __future__ import annotations

from datetime import UTC, date, time, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from knotwork.accounts.models import Membership
from knotwork.audit.models import AuditEvent
from knotwork.bookings import series as serieslib
from knotwork.bookings import services
from knotwork.bookings.models import Appointment, AppointmentSeries, AppointmentStatus, AvailabilityException
from knotwork.bookings.series import ALTERNATIVE, OVERRIDE, SKIP, Choice, SeriesChanged, SeriesSpec
from knotwork.bookings.services import Actor, BookingError
from knotwork.lib.testing import make_client, make_user
from tests.bookings.conftest import local

pytestmark = pytest.mark.django_db

API = "/api/bookings/series"


def _actor(world, user=None) -> Actor:
    user = user or world.bob
    return Actor(user=user, membership=Membership.objects.get(user=user, clinic=world.clinic_a))


def _spec(world, *, day=None, at=time(10), count=6, until=None, interval=1, service=None) -> SeriesSpec:
    return SeriesSpec(
        clinic=world.clinic_a,
        therapist=world.alice,
        service=service or world.session60,
        client=world.client_a,
        first_day=day or world.monday,
        at=at,
        interval_weeks=interval,
        count=None if until else count,
        until=until,
    )


def _book_other(world, day, hour=10, minute=0):
    """Someone else's appointment with alice: what makes an occurrence conflict."""
    other = make_client(world.clinic_a, first_name="Other", last_name="Person")
    return services.appointment_book(
        clinic=world.clinic_a,
        therapist=world.alice,
        service=world.consult,
        start=local(world, day, hour, minute),
        client=other,
        actor=_actor(world),
    )


def _week(world, n: int) -> date:
    """The local date of occurrence ``n`` (1-based) of a weekly series starting on the fixture's Monday."""
    return world.monday + timedelta(weeks=n - 1)


class SeriesPlanTests:
    def test_the_acceptance_case_six_weekly_with_one_conflict_resolved_by_an_alternative_time(
        self, booking, django_capture_on_commit_callbacks
    ):
        _book_other(booking, _week(booking, 3))
        plan = serieslib.series_plan(spec=_spec(booking))
        assert [o.index for o in plan.occurrences] == [1, 2, 3, 4, 5, 6]
        assert [o.index for o in plan.conflicts] == [3]
        conflict = plan.conflicts[0]
        assert conflict.problems[0].kind == serieslib.TAKEN and not conflict.can_override
        alternative = conflict.alternatives[0]
        assert Appointment.objects.count() == 1  # planning wrote nothing
        mail.outbox.clear()

        with django_capture_on_commit_callbacks(execute=True):
            series, created = serieslib.series_create(
                plan=plan, choices={3: Choice(ALTERNATIVE, start=alternative.start)}, actor=_actor(booking)
            )

        assert len(created) == 6 and series.appointments.count() == 6
        rows = list(series.appointments.order_by("starts_at"))
        assert [a.series_index for a in rows] == [1, 2, 3, 4, 5, 6]
        assert rows[2].starts_at == alternative.start and rows[2].starts_at.astimezone(booking.tz).date() == _week(booking, 3)
        assert all(a.local_start.time() == time(10) for i, a in enumerate(rows) if i != 2)
        assert all(a.status == AppointmentStatus.CONFIRMED and a.client_id == booking.client_a.pk for a in rows)
        event = AuditEvent.objects.get(action="create", object_type="bookings.appointment", object_id=str(rows[2].pk))
        assert event.detail["series"] == series.pk and event.detail["series_index"] == 3 and "alternative_to" in event.detail
        assert AuditEvent.objects.filter(action="create", object_type="bookings.appointmentseries", object_id=str(series.pk)).exists()
        # One message to the client and one to the therapist for the whole series, not six each.
        assert len(mail.outbox) == 2
        assert all("6 appointments booked" in m.subject for m in mail.outbox)

    def test_until_a_date_and_a_count_give_the_same_dates_and_the_interval_is_kept(self, booking):
        by_count = serieslib.series_plan(spec=_spec(booking, count=3))
        by_date = serieslib.series_plan(spec=_spec(booking, count=None, until=_week(booking, 3) + timedelta(days=2)))
        assert [o.start for o in by_count.occurrences] == [o.start for o in by_date.occurrences]
        fortnightly = serieslib.series_plan(spec=_spec(booking, count=None, until=_week(booking, 5), interval=2))
        assert [o.start.astimezone(booking.tz).date() for o in fortnightly.occurrences] == [_week(booking, n) for n in (1, 3, 5)]

    @pytest.mark.parametrize(
        ("changes", "words"),
        [
            ({"count": 53}, "between 1 and 52"),
            ({"count": None, "until": "far"}, "more than 52"),
            ({"count": None, "until": "before"}, "on or after its first date"),
            ({"interval": 13}, "every 1 to 12 weeks"),
            ({"day": "past"}, "cannot be in the past"),
        ],
    )
    def test_impossible_series_are_refused_in_words(self, booking, changes, words):
        values = dict(changes)
        if values.get("until") == "far":
            values["until"] = booking.monday + timedelta(weeks=60)
        if values.get("until") == "before":
            values["until"] = booking.monday - timedelta(days=1)
        if values.get("day") == "past":
            values["day"] = timezone.localdate() - timedelta(days=7)
        with pytest.raises(BookingError, match=words):
            serieslib.series_plan(spec=_spec(booking, **values))

    def test_a_weekly_series_keeps_its_wall_clock_time_across_the_clocks_changing(self, booking):
        # The first Monday at least two weeks before the next last Sunday of March or October (Europe/London).
        today = timezone.localdate()
        change = None
        for year in (today.year, today.year + 1):
            for month in (3, 10):
                last_sunday = date(year, month, 31) - timedelta(days=(date(year, month, 31).weekday() + 1) % 7)
                if last_sunday > today + timedelta(days=16) and change is None:
                    change = last_sunday
        assert change is not None
        first = change - timedelta(days=13)  # a Monday two weeks before the change
        plan = serieslib.series_plan(spec=_spec(booking, day=first, count=4))
        assert not plan.conflicts
        assert [o.start.astimezone(booking.tz).time() for o in plan.occurrences] == [time(10)] * 4
        offsets = {o.start.astimezone(booking.tz).utcoffset() for o in plan.occurrences}
        assert len(offsets) == 2  # the same 10:00 is a different UTC hour on each side of the change
        assert {o.start.astimezone(UTC).hour for o in plan.occurrences} == {9, 10}

    def test_a_conflict_says_why_in_words_and_offers_free_times_that_day(self, booking):
        _book_other(booking, _week(booking, 2), 10, 30)
        AvailabilityException.objects.create(clinic=booking.clinic_a, therapist=booking.alice, day=_week(booking, 4), kind="off")
        plan = serieslib.series_plan(spec=_spec(booking, count=5, at=time(10)))
        by_index = {o.index: o for o in plan.occurrences}
        taken, off = by_index[2], by_index[4]
        assert taken.status == "conflict" and "already has an appointment at that time" in taken.reason
        assert not taken.can_override
        assert taken.alternatives and len(taken.alternatives) <= 5
        for slot in taken.alternatives:
            assert slot.start.astimezone(booking.tz).date() == _week(booking, 2)
            assert not (
                slot.start < local(booking, _week(booking, 2), 10, 45)
                and slot.end + timedelta(minutes=15) > local(booking, _week(booking, 2), 10, 30)
            )
        assert off.problems[0].kind == serieslib.OUTSIDE_HOURS and "not working on" in off.reason and off.can_override
        assert off.alternatives == []  # a day off has no free time
        evening = serieslib.series_plan(spec=_spec(booking, count=1, at=time(17)))
        assert "outside" in evening.occurrences[0].reason and evening.occurrences[0].can_override


class SeriesCreateTests:
    def test_a_conflict_without_a_choice_books_nothing(self, booking):
        _book_other(booking, _week(booking, 2))
        plan = serieslib.series_plan(spec=_spec(booking, count=3))
        with pytest.raises(SeriesChanged, match="needs a choice") as caught:
            serieslib.series_create(plan=plan, choices={}, actor=_actor(booking))
        assert caught.value.status == 409 and [o.index for o in caught.value.plan.conflicts] == [2]
        assert not AppointmentSeries.objects.exists() and Appointment.objects.count() == 1

    def test_skipping_leaves_a_gap_and_book_anyway_needs_a_reason_and_is_audited(self, booking):
        _book_other(booking, _week(booking, 2))
        AvailabilityException.objects.create(clinic=booking.clinic_a, therapist=booking.alice, day=_week(booking, 3), kind="off")
        plan = serieslib.series_plan(spec=_spec(booking, count=4))
        with pytest.raises(BookingError, match="say why"):
            serieslib.series_create(plan=plan, choices={2: Choice(SKIP), 3: Choice(OVERRIDE)}, actor=_actor(booking))
        with pytest.raises(BookingError, match="cannot be booked anyway"):
            serieslib.series_create(plan=plan, choices={2: Choice(OVERRIDE, reason="x"), 3: Choice(SKIP)}, actor=_actor(booking))
        series, created = serieslib.series_create(
            plan=plan, choices={2: Choice(SKIP), 3: Choice(OVERRIDE, reason="  Client's  only free day ")}, actor=_actor(booking)
        )
        assert [a.series_index for a in created] == [1, 3, 4]
        event = AuditEvent.objects.get(action="create", object_type="bookings.appointment", object_id=str(created[1].pk))
        assert event.detail["outside_hours"] is True and event.detail["reason"] == "Client's only free day"
        series_event = AuditEvent.objects.get(object_type="bookings.appointmentseries", object_id=str(series.pk))
        assert series_event.detail["skipped"] == [2]

    def test_a_time_taken_between_plan_and_create_books_nothing_and_returns_the_fresh_plan(self, booking):
        plan = serieslib.series_plan(spec=_spec(booking))
        assert not plan.conflicts
        _book_other(booking, _week(booking, 4))  # someone else gets in first
        with pytest.raises(SeriesChanged, match="no longer free") as caught:
            serieslib.series_create(plan=plan, choices={}, actor=_actor(booking))
        assert [o.index for o in caught.value.plan.conflicts] == [4]
        assert caught.value.plan.conflicts[0].alternatives
        assert not AppointmentSeries.objects.exists()
        assert not Appointment.objects.filter(client=booking.client_a).exists()

    def test_a_write_refused_by_the_database_rolls_back_the_occurrences_already_written(self, booking, monkeypatch):
        stale = serieslib.series_plan(spec=_spec(booking))
        _book_other(booking, _week(booking, 4))
        # Pretend the re-check under the lock missed it: the database's overlap guard must still refuse occurrence 4.
        monkeypatch.setattr(serieslib, "series_plan", lambda *, spec, now=None: stale)
        with pytest.raises(SeriesChanged, match="Nothing was booked"):
            serieslib.series_create(plan=stale, choices={}, actor=_actor(booking))
        assert not AppointmentSeries.objects.exists()
        assert not Appointment.objects.filter(client=booking.client_a).exists()
        assert not AuditEvent.objects.filter(object_type="bookings.appointmentseries").exists()

    def test_an_alternative_that_is_no_longer_free_books_nothing(self, booking):
        _book_other(booking, _week(booking, 2))
        plan = serieslib.series_plan(spec=_spec(booking, count=3))
        alternative = plan.conflicts[0].alternatives[0]
        _book_other(
            booking, _week(booking, 2), alternative.start.astimezone(booking.tz).hour, alternative.start.astimezone(booking.tz).minute
        )
        with pytest.raises(SeriesChanged, match="not free"):
            serieslib.series_create(plan=plan, choices={2: Choice(ALTERNATIVE, start=alternative.start)}, actor=_actor(booking))
        assert not AppointmentSeries.objects.exists()


def _series(world, count=4):
    series, created = serieslib.series_create(plan=serieslib.series_plan(spec=_spec(world, count=count)), choices={}, actor=_actor(world))
    return series, created


class ThisAndFollowingTests:
    def test_cancelling_this_and_following_cancels_the_later_ones_audits_each_and_tells_the_client_once(
        self, as_user, booking, django_capture_on_commit_callbacks
    ):
        series, created = _series(booking)
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = as_user(booking.bob).post(
                reverse("appointment_cancel", args=[created[1].pk]), {"scope": "following", "kind": "on_time"}
            )
        assert response.status_code == 302
        statuses = [a.status for a in series.appointments.order_by("starts_at")]
        assert statuses == [AppointmentStatus.CONFIRMED] + [AppointmentStatus.CANCELLED] * 3
        assert AuditEvent.objects.filter(action="update", object_type="bookings.appointment", detail__scope="following").count() == 3
        assert len(mail.outbox) == 2 and all("3 appointments cancelled" in m.subject for m in mail.outbox)

    def test_cancelling_just_this_one_leaves_the_rest(self, as_user, booking):
        series, created = _series(booking)
        as_user(booking.bob).post(reverse("appointment_cancel", args=[created[1].pk]), {"scope": "one", "kind": "on_time"})
        assert [a.status for a in series.appointments.order_by("starts_at")].count(AppointmentStatus.CANCELLED) == 1

    def test_moving_this_and_following_shifts_each_by_the_same_wall_clock_difference(self, as_user, booking):
        series, created = _series(booking)
        url = reverse("series_move", args=[created[1].pk])
        web = as_user(booking.bob)
        checked = web.post(url, {"day": _week(booking, 2).isoformat(), "at": "11:30", "check": "1"})
        assert checked.status_code == 200 and "Every new time is free" in checked.content.decode()
        assert Appointment.objects.get(pk=created[1].pk).local_start.time() == time(10)  # checking moves nothing
        response = web.post(url, {"day": (_week(booking, 2) + timedelta(days=1)).isoformat(), "at": "11:30", "confirm": "1"})
        assert response.status_code == 302
        rows = list(series.appointments.order_by("series_index"))
        assert rows[0].local_start.time() == time(10) and rows[0].local_start.date() == _week(booking, 1)
        for n, row in enumerate(rows[1:], start=2):
            assert row.local_start.date() == _week(booking, n) + timedelta(days=1) and row.local_start.time() == time(11, 30)
            assert row.reschedule_count == 1
        assert AuditEvent.objects.filter(object_type="bookings.appointment", detail__scope="following").count() == 3

    def test_a_conflicting_new_time_moves_nothing_unless_that_one_is_skipped(self, booking):
        series, created = _series(booking)
        _book_other(booking, _week(booking, 3), 11, 30)
        with pytest.raises(SeriesChanged, match="conflict") as caught:
            serieslib.series_move_following(appointment=created[1], start=local(booking, _week(booking, 2), 11, 30), actor=_actor(booking))
        assert [o.appointment_id for o in caught.value.plan.conflicts] == [created[2].pk]
        assert all(a.local_start.time() == time(10) for a in series.appointments.all())
        moved = serieslib.series_move_following(
            appointment=created[1], start=local(booking, _week(booking, 2), 11, 30), actor=_actor(booking), skip={created[2].pk}
        )
        assert [a.pk for a in moved] == [created[1].pk, created[3].pk]
        times = {a.series_index: a.local_start.time() for a in series.appointments.all()}
        assert times == {1: time(10), 2: time(11, 30), 3: time(10), 4: time(11, 30)}

    def test_moving_later_by_a_whole_week_does_not_trip_over_its_own_siblings(self, booking):
        series, created = _series(booking, count=3)
        serieslib.series_move_following(appointment=created[0], start=local(booking, _week(booking, 2), 10), actor=_actor(booking))
        assert [a.local_start.date() for a in series.appointments.order_by("starts_at")] == [_week(booking, n) for n in (2, 3, 4)]

    def test_the_detail_page_says_where_it_sits_in_the_series_and_offers_this_or_following(self, as_user, booking):
        _, created = _series(booking, count=6)
        page = as_user(booking.bob).get(reverse("appointment_detail", args=[created[2].pk])).content.decode()
        assert "Part of a series (3 of 6)" in page
        assert reverse("appointment_detail", args=[created[0].pk]) in page and reverse("series_move", args=[created[2].pk]) in page
        assert 'name="scope" value="following"' in page


class TenancyTests:
    def test_another_clinic_gets_404_everywhere(self, as_user, booking):
        series, created = _series(booking)
        web = as_user(booking.charlie)
        assert web.get(f"{API}/{series.pk}").status_code == 404
        assert web.get(reverse("series_move", args=[created[1].pk])).status_code == 404
        assert web.post(reverse("appointment_cancel", args=[created[1].pk]), {"scope": "following"}).status_code == 404
        body = {"therapist": booking.alice.pk, "service": booking.session60.pk, "client": booking.client_a.pk, "count": 2}
        body["start"] = local(booking, booking.monday, 10).isoformat()
        assert web.post(API, body, content_type="application/json").status_code == 404
        assert all(a.status == AppointmentStatus.CONFIRMED for a in series.appointments.all())

    def test_a_client_cannot_cancel_the_rest_of_their_series(self, client, booking):
        portal = make_user("ada@portal.example")
        type(booking.client_a).objects.filter(pk=booking.client_a.pk).update(portal_user=portal)
        _, created = _series(booking)
        client.force_login(portal)
        client.post(reverse("appointment_cancel", args=[created[1].pk]), {"scope": "following"})
        # Treated as a plain cancellation of that one appointment.
        assert Appointment.objects.filter(series__isnull=False, status__startswith="c").exclude(status="confirmed").count() <= 1
        assert client.get(reverse("series_move", args=[created[1].pk])).status_code == 404


def _body(world, **changes):
    body = {
        "therapist": world.alice.pk,
        "service": world.session60.pk,
        "client": world.client_a.pk,
        "start": local(world, world.monday, 10).isoformat(),
        "interval_weeks": 1,
        "count": 6,
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


class SeriesApiTests:
    def test_dry_run_plans_and_choices_create_with_201(self, as_user, booking):
        _book_other(booking, _week(booking, 3))
        web = as_user(booking.bob)
        planned = web.post(API, _body(booking, dry_run=True), content_type="application/json")
        assert planned.status_code == 200
        data = planned.json()
        assert data["conflicts"] == 1 and len(data["occurrences"]) == 6
        third = data["occurrences"][2]
        assert third["status"] == "conflict" and third["problems"][0]["kind"] == "taken" and third["alternatives"]
        assert not AppointmentSeries.objects.exists()
        choice = {"index": 3, "action": "alternative", "start": third["alternatives"][0]["start"]}
        created = web.post(API, _body(booking, choices=[choice]), content_type="application/json", HTTP_IDEMPOTENCY_KEY="s-1")
        assert created.status_code == 201
        body = created.json()
        assert len(body["appointments"]) == 6 and body["count"] == 6 and body["time_zone"] == "Europe/London"
        again = web.post(API, _body(booking, choices=[choice]), content_type="application/json", HTTP_IDEMPOTENCY_KEY="s-1")
        assert again.status_code == 201 and again.json()["id"] == body["id"] and AppointmentSeries.objects.count() == 1
        fetched = web.get(f"{API}/{body['id']}")
        assert fetched.status_code == 200 and [a["id"] for a in fetched.json()["appointments"]] == [a["id"] for a in body["appointments"]]

    def test_every_error_status(self, client, as_user, booking):
        assert client.post(API, _body(booking), content_type="application/json").status_code == 401
        assert client.get(f"{API}/1").status_code == 401
        client.force_login(make_user("nobody@example.org"))
        assert client.post(API, _body(booking), content_type="application/json").status_code == 403
        web = as_user(booking.bob)
        both = web.post(API, _body(booking, until=_week(booking, 3).isoformat()), content_type="application/json")
        assert both.status_code == 400 and both.json()["error"]["code"] == "validation_error"
        assert web.post(API, _body(booking, interval_weeks=13), content_type="application/json").status_code == 400
        assert web.post(API, _body(booking, therapist=booking.charlie.pk), content_type="application/json").status_code == 404
        assert web.post(API, _body(booking, client=booking.client_b.pk), content_type="application/json").status_code == 404
        assert web.get(f"{API}/999999").status_code == 404
        past = local(booking, timezone.localdate() - timedelta(days=7), 10).isoformat()
        refused = web.post(API, _body(booking, start=past), content_type="application/json")
        assert refused.status_code == 422 and "past" in refused.json()["error"]["message"]
        _book_other(booking, _week(booking, 2))
        conflict = web.post(API, _body(booking), content_type="application/json")
        assert conflict.status_code == 409
        assert conflict.json()["error"]["code"] == "series_conflict" and conflict.json()["plan"]["conflicts"] == 1
        override = web.post(
            API, _body(booking, choices=[{"index": 2, "action": "override", "reason": "x"}]), content_type="application/json"
        )
        assert override.status_code == 422
        assert not AppointmentSeries.objects.exists()

    def test_the_operations_document_their_statuses(self, client):
        schema = client.get("/api/openapi.json").json()
        post = schema["paths"]["/api/bookings/series"]["post"]["responses"]
        get = schema["paths"]["/api/bookings/series/{series_id}"]["get"]["responses"]
        assert {"200", "201", "400", "401", "403", "404", "409", "422"} <= {str(k) for k in post}
        assert {"200", "401", "403", "404"} <= {str(k) for k in get}


class DeskSeriesPageTests:
    def _form(self, world, **changes):
        data = {
            "client": world.client_a.pk,
            "therapist": world.alice.pk,
            "service": world.session60.pk,
            "day": world.monday.isoformat(),
            "at": "10:00",
            "repeat": "on",
            "interval_weeks": "1",
            "ends": "count",
            "count": "6",
        }
        data.update(changes)
        return data

    def test_repeat_shows_the_plan_and_confirming_books_the_series_with_the_chosen_alternative(self, as_user, booking):
        _book_other(booking, _week(booking, 3))
        web = as_user(booking.bob)
        page = web.post(reverse("appointment_new"), self._form(booking))
        html = page.content.decode()
        assert page.status_code == 200 and "Check the series" in html and html.count('class="series-occurrence') == 6
        assert 'name="choice-3"' in html and "already has an appointment" in html and not AppointmentSeries.objects.exists()
        plan = serieslib.series_plan(spec=_spec(booking))
        alt = f"alt:{plan.conflicts[0].alternatives[0].start.isoformat()}"
        assert f'value="{alt}"' in html
        data = {**self._form(booking), "confirm": "1", "ok": ["1", "2", "4", "5", "6"], "choice-3": alt}
        response = web.post(reverse("series_confirm"), data)
        assert response.status_code == 302
        assert AppointmentSeries.objects.get().appointments.count() == 6

    def test_a_conflict_left_without_a_choice_shows_the_plan_again_with_what_was_chosen(self, as_user, booking):
        _book_other(booking, _week(booking, 3))
        _book_other(booking, _week(booking, 5))
        data = {**self._form(booking), "confirm": "1", "ok": ["1", "2", "4", "6"], "choice-5": "skip"}
        response = as_user(booking.bob).post(reverse("series_confirm"), data)
        html = response.content.decode()
        assert response.status_code == 409 and "Nothing was booked" in html and "needs a choice" in html
        assert 'value="skip" id="c5-skip" checked' in html
        assert not AppointmentSeries.objects.exists()

    def test_changing_the_details_goes_back_to_the_filled_in_form(self, as_user, booking):
        page = as_user(booking.bob).post(reverse("appointment_new"), {**self._form(booking), "edit": "1"}).content.decode()
        assert "Book an appointment" in page and 'name="count"' in page and 'value="6"' in page
        assert not Appointment.objects.exists()

"""Practice reports: figures checked against hand-computed values, constant queries, owner-only access,
safe CSV, impossible dates, and the API's statuses.

The hand-built clinic (Europe/London, February 2025, no daylight-saving change):

- alice works Mon–Fri 09:00–17:00 (20 weekdays × 480 min) but is off all day Mon 10 Feb: 9 120 min.
- theo works Mon and Wed 10:00–14:00 (8 days × 240 min) plus extra hours Fri 7 Feb 09:00–11:00: 2 040 min.
- The clinic is open whenever one of them works: alice's 9 120 min plus theo's 240 min on 10 Feb = 9 360.
- Clients c1..c5; c2 already visited in December 2024. Every appointment is 60 minutes.

    #   therapist  client  start            status           room
    1   alice      c1      Tue 04 Feb 10:00 completed        Room 1
    2   alice      c2      Wed 05 Feb 10:00 completed        Room 1
    3   alice      c3      Thu 06 Feb 10:00 no-show
    4   alice      c1      Tue 11 Feb 10:00 completed        Room 1
    5   alice      c4      Wed 12 Feb 10:00 late-cancelled
    6   alice      c5      Thu 13 Feb 10:00 cancelled (notice)
    7   theo       c2      Mon 03 Feb 11:00 completed        Room 1
    8   theo       c3      Wed 05 Feb 11:00 completed
    9   theo       c4      Mon 17 Feb 11:00 no-show
    10  theo       c5      Wed 19 Feb 11:00 confirmed (past: a visit)
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from knotwork.accounts.models import ApiToken, Role
from knotwork.accounts.services import api_token_create
from knotwork.bookings import reports
from knotwork.bookings.models import Appointment, AppointmentStatus, Availability, AvailabilityException, Room, Service
from knotwork.clients.models import Client
from knotwork.lib.testing import make_client, make_staff

pytestmark = pytest.mark.django_db

S = AppointmentStatus
FIRST, LAST = date(2025, 2, 3), date(2025, 3, 2)
PERIOD = reports.Period(FIRST, LAST)
URL = "/schedule/reports/"
API = "/api/reports/practice"
QUERY = {"from": "2025-02-03", "to": "2025-03-02"}


def at(world, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=world.clinic_a.tz)


def appt(world, therapist, client, start: datetime, status: str, *, room=None, minutes=60, booked_at=None, clinic=None):
    """An appointment as the records hold it, booked (``created_at``) a week ahead unless told."""
    a = Appointment.objects.create(
        clinic=clinic or world.clinic_a, therapist=therapist, client=client, service=world.session, room=room, status=status,
        starts_at=start, ends_at=start + timedelta(minutes=minutes), block_start=start, block_end=start + timedelta(minutes=minutes),
    )  # fmt: skip
    Appointment.objects.filter(pk=a.pk).update(created_at=booked_at or start - timedelta(days=7))
    return a


@pytest.fixture
def practice(world):
    w = world
    clinic = w.clinic_a
    w.theo = make_staff("theo@a.example", clinic, Role.THERAPIST)
    w.session = Service.objects.create(clinic=clinic, name="NMT session", duration_minutes=60, price=Decimal("60"))
    w.room = Room.objects.create(clinic=clinic, name="Room 1")
    for weekday in range(5):
        Availability.objects.create(clinic=clinic, therapist=w.alice, weekday=weekday, start_time=time(9), end_time=time(17))
    for weekday in (0, 2):
        Availability.objects.create(clinic=clinic, therapist=w.theo, weekday=weekday, start_time=time(10), end_time=time(14))
    AvailabilityException.objects.create(clinic=clinic, therapist=w.alice, day=date(2025, 2, 10), kind="off")
    AvailabilityException.objects.create(
        clinic=clinic, therapist=w.theo, day=date(2025, 2, 7), kind="extra", start_time=time(9), end_time=time(11)
    )
    c1, c2, c3, c4, c5 = (make_client(clinic, first_name=f"C{i}") for i in range(1, 6))
    w.clients = [c1, c2, c3, c4, c5]
    d = date
    appt(w, w.alice, c2, at(w, d(2024, 12, 10), 10), S.COMPLETED)  # c2's first visit, before the period
    appt(w, w.alice, c1, at(w, d(2025, 2, 4), 10), S.COMPLETED, room=w.room)  # 1
    appt(w, w.alice, c2, at(w, d(2025, 2, 5), 10), S.COMPLETED, room=w.room)  # 2
    appt(w, w.alice, c3, at(w, d(2025, 2, 6), 10), S.NO_SHOW)  # 3
    appt(w, w.alice, c1, at(w, d(2025, 2, 11), 10), S.COMPLETED, room=w.room)  # 4
    appt(w, w.alice, c4, at(w, d(2025, 2, 12), 10), S.LATE_CANCELLED)  # 5
    appt(w, w.alice, c5, at(w, d(2025, 2, 13), 10), S.CANCELLED)  # 6
    appt(w, w.theo, c2, at(w, d(2025, 2, 3), 11), S.COMPLETED, room=w.room)  # 7
    appt(w, w.theo, c3, at(w, d(2025, 2, 5), 11), S.COMPLETED)  # 8
    appt(w, w.theo, c4, at(w, d(2025, 2, 17), 11), S.NO_SHOW)  # 9
    appt(w, w.theo, c5, at(w, d(2025, 2, 19), 11), S.CONFIRMED)  # 10
    # After the period: c2 books again but only in March (too late to count for visit 2); c5's next
    # booking was cancelled with notice; c1 and c3 come back in March and April (retention).
    appt(w, w.alice, c2, at(w, d(2025, 3, 25), 10), S.CONFIRMED, booked_at=at(w, d(2025, 3, 20), 9))
    appt(w, w.theo, c5, at(w, d(2025, 3, 10), 11), S.CANCELLED, booked_at=at(w, d(2025, 2, 20), 9))
    appt(w, w.alice, c1, at(w, d(2025, 3, 18), 10), S.COMPLETED, booked_at=at(w, d(2025, 3, 15), 9))
    appt(w, w.theo, c3, at(w, d(2025, 4, 14), 11), S.COMPLETED)
    # Noise that must change nothing: a lapsed hold, and another clinic's busy February.
    Appointment.objects.create(
        clinic=clinic, therapist=w.alice, service=w.session, status=S.EXPIRED, hold_expires_at=at(w, d(2025, 2, 7), 9),
        starts_at=at(w, d(2025, 2, 7), 14), ends_at=at(w, d(2025, 2, 7), 15), block_start=at(w, d(2025, 2, 7), 14),
        block_end=at(w, d(2025, 2, 7), 15),
    )  # fmt: skip
    other = Service.objects.create(clinic=w.clinic_b, name="Other", duration_minutes=60)
    for day in range(3, 8):
        start = at(w, d(2025, 2, day), 9)
        Appointment.objects.create(
            clinic=w.clinic_b, therapist=w.charlie, client=w.client_b, service=other, status=S.NO_SHOW, starts_at=start,
            ends_at=start + timedelta(hours=1), block_start=start, block_end=start + timedelta(hours=1),
        )  # fmt: skip
    return w


def report(world, **kw):
    return reports.practice_report(clinic=world.clinic_a, period=PERIOD, **kw)


def by_name(rows):
    return {r.name: r for r in rows}


class FiguresTests:
    def test_utilisation_divides_booked_time_by_working_time_after_time_off_and_extra_hours(self, practice):
        r = report(practice)
        rows = by_name(r.therapists)
        alice, theo = rows["Alice"], rows["Theo"]
        assert (alice.booked_minutes, alice.available_minutes, alice.percent) == (180, 9120, 2.0)
        assert (theo.booked_minutes, theo.available_minutes, theo.percent) == (180, 2040, 8.8)
        assert "Olivia" not in rows  # the owner has no hours and no bookings
        assert (r.utilisation_total.booked_minutes, r.utilisation_total.available_minutes) == (360, 11160)

    def test_a_room_is_measured_against_the_time_anyone_is_working(self, practice):
        r = report(practice)
        assert r.open_minutes == 9360
        [room] = r.rooms
        assert (room.name, room.booked_minutes, room.available_minutes, room.percent) == ("Room 1", 240, 9360, 2.6)

    def test_no_show_and_late_cancel_rates_count_expected_appointments_only(self, practice):
        r = report(practice)
        rows = by_name(r.attendance)
        assert (rows["Alice"].expected, rows["Alice"].no_shows, rows["Alice"].late_cancels) == (5, 1, 1)
        assert (rows["Alice"].no_show_percent, rows["Alice"].late_cancel_percent) == (20.0, 20.0)
        assert (rows["Theo"].expected, rows["Theo"].no_show_percent, rows["Theo"].late_cancel_percent) == (4, 25.0, 0.0)
        total = r.attendance_total
        assert (total.expected, total.no_shows, total.late_cancels) == (9, 2, 1)
        assert (total.no_show_percent, total.late_cancel_percent) == (22.2, 11.1)

    def test_rebooking_counts_a_later_booking_made_within_n_weeks_of_the_visit(self, practice):
        r = report(practice)
        rows = by_name(r.rebooking)
        # alice: visit 1 rebooked (4 was booked a week ahead); 2 rebooked only in March; 4 only 32 days on.
        assert (rows["Alice"].visits, rows["Alice"].rebooked, rows["Alice"].percent) == (3, 1, 33.3)
        # theo: 7 pre-booked (2); 8 rebooked (3, even though it became a no-show); 10's next one was cancelled.
        assert (rows["Theo"].visits, rows["Theo"].rebooked, rows["Theo"].percent) == (3, 2, 66.7)
        assert (r.rebooking_total.visits, r.rebooking_total.rebooked, r.rebooking_total.percent) == (6, 3, 50.0)

    def test_a_longer_rebooking_window_catches_the_later_booking(self, practice):
        # Visit 4 (11 Feb) is followed by a booking made on 15 March: 32 days, inside 5 weeks.
        assert report(practice, rebook_weeks=5).rebooking_total.rebooked == 4
        assert report(practice, rebook_weeks=12).rebooking_total.rebooked == 5  # visit 2 → booked 20 March

    def test_new_and_returning_clients_per_week(self, practice):
        r = report(practice)
        assert r.group_by == "week"
        mix = [(m.start, m.clients, m.new, m.returning) for m in r.client_mix]
        assert mix == [
            (date(2025, 2, 3), 3, 2, 1),  # c1 and c3 new, c2 returning
            (date(2025, 2, 10), 1, 0, 1),  # c1 again
            (date(2025, 2, 17), 1, 1, 0),  # c5's confirmed, unmarked visit
            (date(2025, 2, 24), 0, 0, 0),
        ]
        assert (r.clients_seen, r.new_clients, r.returning_clients) == (4, 3, 1)

    def test_new_and_returning_clients_per_month(self, practice):
        r = report(practice, group_by="month")
        assert [(m.start, m.clients, m.new) for m in r.client_mix] == [(date(2025, 2, 1), 4, 3), (date(2025, 3, 1), 0, 0)]

    def test_retention_cohorts_follow_first_visitors_for_six_months(self, practice):
        r = report(practice)
        [feb] = r.cohorts
        assert (feb.month, feb.size) == (date(2025, 2, 1), 3)  # c1, c3, c5
        assert feb.returned == [1, 1, 0, 0, 0, 0]  # c1 in March, c3 in April
        assert feb.shares == [33.3, 33.3, 0.0, 0.0, 0.0, 0.0]
        assert r.retention_average == [33.3, 33.3, 0.0, 0.0, 0.0, 0.0]

    def test_referral_sources_count_the_periods_new_clients_only(self, practice):
        c1, c2, c3, _, _ = practice.clients
        Client.objects.filter(pk__in=[c1.pk, c3.pk]).update(referral_source=Client.ReferralSource.FRIEND)
        Client.objects.filter(pk=c2.pk).update(referral_source=Client.ReferralSource.SEARCH)  # returning: not counted
        r = report(practice)
        # New in the period: c1 and c3 (a friend), c5 (nothing recorded); "Not recorded" comes last.
        assert r.referral_sources == [("A friend or family member", 2), ("Not recorded", 1)]
        _, rows = reports.csv_table(r, "referrals")
        assert rows == [["A friend or family member", 2], ["Not recorded", 1]]

    def test_one_therapist_gets_only_their_own_figures(self, practice):
        r = report(practice, therapist=practice.theo)
        assert [t.name for t in r.therapists] == ["Theo"] and r.open_minutes == 2040
        assert r.attendance_total.expected == 4 and r.rebooking_total.visits == 3
        assert (r.clients_seen, r.new_clients) == (3, 2)  # c2 (returning), c3 and c5 (new)
        [feb] = r.cohorts
        assert feb.size == 2 and feb.returned[:2] == [0, 1]  # c3 and c5 first came to theo; c3 back in April

    def test_an_empty_clinic_reports_nothing_without_dividing_by_zero(self, world):
        r = report(world)
        assert r.therapists == [] and r.rooms == [] and r.attendance == [] and r.cohorts == []
        assert r.attendance_total.no_show_percent is None and r.rebooking_total.percent is None
        assert all(m.clients == 0 for m in r.client_mix)


def grow(world, n: int) -> None:
    """``n`` more clients each with a mix of visits, no-shows and cancellations across the period."""
    statuses = [S.COMPLETED, S.COMPLETED, S.NO_SHOW, S.LATE_CANCELLED, S.CANCELLED]
    for i in range(n):
        client = make_client(world.clinic_a)
        therapist = world.alice if i % 2 else world.theo
        for j, status in enumerate(statuses):
            day = FIRST - timedelta(days=30) + timedelta(days=(i * 3 + j * 11) % 90)
            room = world.room if j % 2 else None
            appt(world, therapist, client, at(world, day, 8, 0) + timedelta(minutes=(i % 40) * 5 + j), status, room=room, minutes=5)


class QueryCountTests:
    def _count(self, func) -> int:
        with CaptureQueriesContext(connection) as ctx:
            func()
        return len(ctx.captured_queries)

    def test_the_report_costs_the_same_queries_for_ten_times_the_data(self, practice):
        grow(practice, 6)
        small = self._count(lambda: report(practice))
        grow(practice, 54)
        assert Appointment.objects.filter(clinic=practice.clinic_a).count() > 10 * 30
        large = self._count(lambda: report(practice))
        assert small == large
        assert small <= 12

    def test_the_page_costs_the_same_queries_for_ten_times_the_data(self, practice, as_user):
        http = as_user(practice.olivia)
        http.get(URL, QUERY)  # the first request of a session sets it up: not the page's cost
        grow(practice, 6)
        small = self._count(lambda: http.get(URL, QUERY))
        grow(practice, 54)
        large = self._count(lambda: http.get(URL, QUERY))
        assert small == large


class PageTests:
    def test_the_owner_sees_every_section_with_tables_and_accessible_charts(self, practice, as_user):
        response = as_user(practice.olivia).get(URL, QUERY)
        assert response.status_code == 200
        html = response.content.decode()
        for heading in ("Utilisation by therapist", "No-shows and late cancellations", "Rebooking", "New and returning clients",
                        "Retention cohorts", "Referral sources"):  # fmt: skip
            assert heading in html
        assert html.count("<svg") == 6 and html.count("<title id=") == 6 and html.count("<desc id=") == 6
        assert "22.2%" in html and "66.7%" in html and "how they heard about the clinic" in html
        assert "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]

    def test_the_default_period_is_the_last_twelve_weeks(self, practice, as_user):
        response = as_user(practice.olivia).get(URL)
        assert response.status_code == 200
        today = timezone.localdate()
        assert response.context["report"].period == reports.Period(today - timedelta(days=83), today)

    def test_an_empty_period_shows_empty_states(self, practice, as_user):
        html = as_user(practice.olivia).get(URL, {"from": "2020-01-01", "to": "2020-01-31"}).content.decode()
        assert "No appointments were expected in this period." in html and "No visits in this period." in html
        assert "No client had a first visit in this period." in html

    def test_the_schedule_links_to_the_reports_for_the_owner_only(self, practice, as_user, client):
        assert URL in as_user(practice.olivia).get(reverse("schedule")).content.decode()
        client.logout()
        assert URL not in as_user(practice.bob).get(reverse("schedule")).content.decode()

    @pytest.mark.parametrize("who", ["alice", "bob"])
    def test_therapists_and_the_front_desk_are_refused(self, practice, as_user, who):
        assert as_user(getattr(practice, who)).get(URL, QUERY).status_code == 403
        assert as_user(getattr(practice, who)).get(URL, {**QUERY, "format": "csv", "section": "attendance"}).status_code == 403

    def test_another_clinics_staff_and_anonymous_visitors_are_refused(self, practice, as_user, client):
        assert client.get(URL).status_code == 302
        assert as_user(practice.charlie).get(URL).status_code == 403

    def test_another_clinics_therapist_is_not_found(self, practice, as_user):
        http = as_user(practice.olivia)
        assert http.get(URL, {**QUERY, "therapist": practice.charlie.pk}).status_code == 404
        assert http.get(URL, {**QUERY, "therapist": practice.theo.pk}).status_code == 200

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"from": "2025-02-30"}, "Enter a valid date"),
            ({"to": "2025-13-01"}, "Enter a valid date"),
            ({"from": "not-a-date"}, "Enter a valid date"),
            ({"from": "2025-03-01", "to": "2025-02-01"}, "on or before its end"),
            ({"from": "2021-01-01", "to": "2025-01-01"}, "at most two years"),
            ({"from": "0001-01-01"}, "between the years"),
            ({"to": "9999-12-31"}, "between the years"),
            ({"rebook_weeks": "13"}, "less than or equal to 12"),
            ({"rebook_weeks": "0"}, "greater than or equal to 1"),
            ({"therapist": "abc"}, "Enter a whole number"),
            ({"by": "year"}, "Select a valid choice"),
        ],
    )
    def test_impossible_options_are_clear_errors_never_500(self, practice, as_user, params, message):
        response = as_user(practice.olivia).get(URL, params)
        assert response.status_code == 400
        assert message in response.content.decode()
        assert as_user(practice.olivia).get(URL, {**params, "format": "csv", "section": "clients"}).status_code == 400

    def test_viewing_and_exporting_are_audited(self, practice, as_user):
        from knotwork.audit.models import AuditEvent

        http = as_user(practice.olivia)
        http.get(URL, QUERY)
        http.get(URL, {**QUERY, "format": "csv", "section": "attendance"})
        events = list(AuditEvent.objects.filter(object_type="bookings.practice_report").values_list("action", flat=True))
        assert sorted(events) == ["export", "view"]


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


class CsvTests:
    @pytest.mark.parametrize("section", reports.SECTIONS)
    def test_every_section_downloads_as_well_formed_csv(self, practice, as_user, section):
        response = as_user(practice.olivia).get(URL, {**QUERY, "format": "csv", "section": section})
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        assert f"practice-{section}-20250203-20250302.csv" in response["Content-Disposition"]
        rows = read_csv(response)
        assert len(rows) > 1 and len({len(row) for row in rows}) == 1

    def test_the_attendance_csv_carries_the_hand_computed_figures(self, practice, as_user):
        rows = read_csv(as_user(practice.olivia).get(URL, {**QUERY, "format": "csv", "section": "attendance"}))
        assert rows[0][0] == "therapist"
        assert ["Alice", "5", "1", "1", "20.0", "20.0"] in rows and ["Whole clinic", "9", "2", "1", "22.2", "11.1"] in rows

    def test_names_that_look_like_formulas_are_neutralised(self, practice, as_user):
        practice.theo.full_name = '=HYPERLINK("http://evil.example")'
        practice.theo.save()
        Room.objects.filter(pk=practice.room.pk).update(name="+SUM(A1)")
        rows = read_csv(as_user(practice.olivia).get(URL, {**QUERY, "format": "csv", "section": "utilisation"}))
        names = [row[1] for row in rows[1:]]
        assert '\'=HYPERLINK("http://evil.example")' in names and "'+SUM(A1)" in names
        assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    def test_an_unknown_section_is_not_found(self, practice, as_user):
        assert as_user(practice.olivia).get(URL, {"format": "csv", "section": "payroll"}).status_code == 404


class ApiTests:
    def test_the_owner_gets_the_same_figures_as_json(self, practice, as_user):
        response = as_user(practice.olivia).get(API, QUERY)
        assert response.status_code == 200
        data = response.json()
        assert (data["start"], data["end"], data["time_zone"], data["rebook_weeks"]) == ("2025-02-03", "2025-03-02", "Europe/London", 4)
        assert data["attendance"]["total"]["no_show_percent"] == 22.2
        assert data["rebooking"]["total"] == {"therapist": None, "name": "Whole clinic", "visits": 6, "rebooked": 3, "percent": 50.0}
        assert data["utilisation"]["open_minutes"] == 9360 and data["utilisation"]["rooms"][0]["percent"] == 2.6
        assert (data["clients"]["new"], data["clients"]["returning"]) == (3, 1)
        assert data["retention"]["cohorts"][0]["returned"] == [1, 1, 0, 0, 0, 0]
        assert data["referral_sources"] == [{"source": "Not recorded", "clients": 3}]

    def test_options_reach_the_figures(self, practice, as_user):
        data = as_user(practice.olivia).get(API, {**QUERY, "rebook_weeks": 5, "therapist": practice.alice.pk, "by": "month"}).json()
        assert data["rebooking"]["total"]["rebooked"] == 2 and data["group_by"] == "month"
        assert [t["name"] for t in data["utilisation"]["therapists"]] == ["Alice"]

    def test_a_token_with_the_read_scope_works_and_one_without_is_refused(self, practice, client):
        good = api_token_create(user=practice.olivia, clinic=practice.clinic_a, name="r", scopes=[ApiToken.Scope.CLIENTS_READ])
        bad = api_token_create(user=practice.olivia, clinic=practice.clinic_a, name="a", scopes=[ApiToken.Scope.ATLAS_READ])
        assert client.get(API, QUERY, HTTP_AUTHORIZATION=f"Bearer {good.secret}").status_code == 200
        assert client.get(API, QUERY, HTTP_AUTHORIZATION=f"Bearer {bad.secret}").status_code == 403

    def test_statuses(self, practice, as_user, client):
        assert client.get(API, QUERY).status_code == 401
        assert client.get(API, QUERY).json()["error"]["code"] == "not_authenticated"
        for who in ("alice", "bob", "charlie"):
            assert as_user(getattr(practice, who)).get(API, QUERY).status_code == 403
        http = as_user(practice.olivia)
        assert http.get(API, {**QUERY, "therapist": practice.charlie.pk}).status_code == 404
        assert http.get(API, {"from": "2025-02-30"}).status_code == 400
        assert http.get(API, {"rebook_weeks": 13}).status_code == 400
        assert http.get(API, {"by": "year"}).status_code == 400
        for params in ({"from": "2025-03-01", "to": "2025-02-01"}, {"from": "2021-01-01", "to": "2025-01-01"}, {"to": "9999-12-31"}):
            response = http.get(API, params)
            assert response.status_code == 422, params
            assert set(response.json()["error"]) == {"code", "message", "fields"}

    def test_every_status_is_documented(self):
        from config.api import api

        operation = api.get_openapi_schema()["paths"]["/api/reports/practice"]["get"]
        assert {"200", "400", "401", "403", "404", "422"} <= {str(s) for s in operation["responses"]}
        assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "therapist", "rebook_weeks"}

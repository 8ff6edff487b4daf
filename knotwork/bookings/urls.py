from django.urls import path

from knotwork.bookings import calendar_views, class_views, desk_views, report_views, series_views, setup_views, views, waitlist_views
from knotwork.bookings.sms_views import sms_inbound, sms_status

urlpatterns = [
    # Public: a clinic's booking page, free times, holding a time, and the confirm step.
    path("book/confirm/", views.book_confirm, name="book_confirm"),
    path("book/<slug:slug>/", views.book_clinic, name="book_clinic"),
    path("book/<slug:slug>/<int:therapist_id>/<int:service_id>/", views.book_slots, name="book_slots"),
    path("book/<slug:slug>/<int:therapist_id>/<int:service_id>/hold/", views.book_hold, name="book_hold"),
    # Public by token: a therapist's private calendar feed.
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
    # Signed in.
    path("appointments/", views.my_appointments, name="my_appointments"),
    path("appointments/<int:pk>/", views.appointment_detail, name="appointment_detail"),
    path("appointments/<int:pk>/cancel/", views.appointment_cancel, name="appointment_cancel"),
    path("appointments/<int:pk>/move/", views.appointment_reschedule, name="appointment_reschedule"),
    path("appointments/<int:pk>/outcome/", views.appointment_outcome, name="appointment_outcome"),
    path("appointments/<int:pk>/calendar.ics", views.appointment_ics, name="appointment_ics"),
    path("schedule/", views.schedule, name="schedule"),
    path("schedule/calendar/", calendar_views.calendar, name="calendar"),
    path("schedule/calendar/<int:pk>/move/", calendar_views.calendar_move, name="calendar_move"),
    path("schedule/new/", desk_views.appointment_new, name="appointment_new"),
    path("schedule/new/clients/", desk_views.booking_client_search, name="booking_client_search"),
    path("schedule/calendar-feed/", views.calendar_feed_manage, name="calendar_feed_manage"),
    # Setting bookings up: services, rooms and rules (owner); weekly hours (own, or the owner for anyone).
    path("schedule/settings/", setup_views.booking_settings, name="booking_settings"),
    path("schedule/settings/services/new/", setup_views.service_new, name="service_new"),
    path("schedule/settings/services/<int:pk>/", setup_views.service_edit, name="service_edit"),
    path("schedule/settings/services/<int:pk>/archive/", setup_views.service_archive, name="service_archive"),
    path("schedule/settings/rooms/", setup_views.room_add, name="room_add"),
    path("schedule/settings/rooms/<int:pk>/", setup_views.room_edit, name="room_edit"),
    path("schedule/hours/<int:pk>/", setup_views.availability_edit, name="availability_edit"),
    path("schedule/hours/block/<int:pk>/remove/", setup_views.availability_remove, name="availability_remove"),
    path("schedule/hours/exception/<int:pk>/remove/", setup_views.availability_exception_remove, name="availability_exception_remove"),
    # Public, signed by Twilio: delivery reports of reminder texts, and replies (STOP / START).
    path("sms/status/", sms_status, name="sms_status"),
    path("sms/inbound/", sms_inbound, name="sms_inbound"),
    # Practice reports (owner): utilisation, attendance, rebooking, new and returning clients, retention.
    path("schedule/reports/", report_views.practice_reports, name="practice_reports"),
    # Recurring appointments: booking a planned series, moving "this and following".
    path("schedule/new/series/", series_views.series_confirm, name="series_confirm"),
    path("appointments/<int:pk>/move-following/", series_views.series_move, name="series_move"),
    # The waitlist: the claim link (public, by token), a client's own entries, the desk's list.
    path("waitlist/claim/<str:token>/", waitlist_views.waitlist_claim, name="waitlist_claim"),
    path("waitlist/", waitlist_views.my_waitlist, name="my_waitlist"),
    path("waitlist/<int:pk>/withdraw/", waitlist_views.waitlist_withdraw, name="waitlist_withdraw"),
    path("book/<slug:slug>/waitlist/", waitlist_views.waitlist_join, name="waitlist_join"),
    path("schedule/waitlist/", waitlist_views.clinic_waitlist, name="clinic_waitlist"),
    path("schedule/waitlist/new/", waitlist_views.waitlist_new, name="waitlist_new"),
    # The desk's booking page: its free-times, new-client and client-at-a-glance panels (htmx).
    path("schedule/new/free-times/", desk_views.desk_slots, name="desk_slots"),
    path("schedule/new/new-client/", desk_views.desk_client_new, name="desk_client_new"),
    path("schedule/new/client-glance/", desk_views.desk_client_glance, name="desk_client_glance"),
    # Group sessions (classes): the desk's pages, the public list and a client's seats.
    path("schedule/classes/", class_views.class_list, name="class_list"),
    path("schedule/classes/new/", class_views.class_new, name="class_new"),
    path("schedule/classes/<int:pk>/", class_views.class_detail, name="class_detail"),
    path("schedule/classes/<int:pk>/cancel/", class_views.class_cancel, name="class_cancel"),
    path("classes/<int:pk>/seats/<int:seat_id>/cancel/", class_views.class_seat_cancel, name="class_seat_cancel"),
    path("classes/<int:pk>/book/", class_views.class_book, name="class_book"),
    path("book/<slug:slug>/classes/", class_views.class_public_list, name="class_public_list"),
    path("appointments/classes/", class_views.my_classes, name="my_classes"),
]

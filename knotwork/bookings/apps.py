from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "knotwork.bookings"
    label = "bookings"

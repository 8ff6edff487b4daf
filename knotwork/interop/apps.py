from django.apps import AppConfig


class InteropConfig(AppConfig):
    name = "knotwork.interop"
    label = "interop"

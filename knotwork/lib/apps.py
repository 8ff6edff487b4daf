from django.apps import AppConfig


class LibConfig(AppConfig):
    name = "knotwork.lib"
    label = "lib"
    verbose_name = "Knotwork shared helpers"

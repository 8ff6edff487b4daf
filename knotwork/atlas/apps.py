from django.apps import AppConfig


class AtlasConfig(AppConfig):
    name = "knotwork.atlas"
    label = "atlas"

from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "knotwork.care"
    label = "care"

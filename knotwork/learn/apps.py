from django.apps import AppConfig


class LearnConfig(AppConfig):
    name = "knotwork.learn"
    label = "learn"

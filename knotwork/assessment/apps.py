from django.apps import AppConfig


class AssessmentConfig(AppConfig):
    name = "knotwork.assessment"
    label = "assessment"

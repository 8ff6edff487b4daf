from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "knotwork.billing"
    label = "billing"

from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "knotwork.clients"
    label = "clients"

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "knotwork.messaging"
    label = "messaging"

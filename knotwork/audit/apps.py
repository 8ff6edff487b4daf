from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "knotwork.audit"
    label = "audit"

    def ready(self) -> None:
        from knotwork.audit import signals  # noqa: F401  (sign-in events)

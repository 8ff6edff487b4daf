from django.apps import AppConfig


class PwaConfig(AppConfig):
    name = "knotwork.pwa"
    label = "pwa"
    verbose_name = "Installable portal and push"

    def ready(self) -> None:
        from knotwork.pwa import signals  # noqa: F401  (clears the device's offline copies at sign-in and sign-out)

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "knotwork.accounts"
    label = "accounts"

    def ready(self) -> None:
        from knotwork.accounts import (
            checks,  # noqa: F401  (registers the deploy checks)
            signals,  # noqa: F401  (audits changes to sign-in factors)
        )

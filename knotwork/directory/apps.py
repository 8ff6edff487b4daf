from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "knotwork.directory"
    label = "directory"

    def ready(self) -> None:
        from knotwork.directory import signals  # noqa: F401  (connects the receivers)

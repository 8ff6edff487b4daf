from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate

SPATIAL_MIGRATION = ("directory", "0002_nearest_first_spatial_index")


class DirectoryConfig(AppConfig):
    name = "knotwork.directory"
    label = "directory"

    def ready(self) -> None:
        from knotwork.directory import signals  # noqa: F401  (connects the receivers)

        post_migrate.connect(_repair_spatial_index, sender=self, dispatch_uid="directory_spatial_index")


def _repair_spatial_index(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """A later migration that alters the profile table on SQLite rebuilds it without the R*Tree's
    triggers; put them back (and refill the R*Tree) once the spatial index migration is in."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    from knotwork.directory.geo import ensure_index

    connection = connections[using]
    if SPATIAL_MIGRATION in MigrationRecorder(connection).applied_migrations():
        ensure_index(connection)

"""The migration that adds a thread's kind makes every existing thread clinical (the safe default)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from knotwork.messaging.models import Thread

BEFORE = ("messaging", "0002_encrypt_clinical_text_at_rest")
AFTER = ("messaging", "0003_thread_kind")


@pytest.mark.django_db(transaction=True)
class ThreadKindMigrationTests:
    def test_existing_threads_become_clinical(self, world):
        executor = MigrationExecutor(connection)
        executor.migrate([BEFORE])
        try:
            old_thread = executor.loader.project_state([BEFORE]).apps.get_model("messaging", "Thread")
            assert "kind" not in {f.name for f in old_thread._meta.get_fields()}
            row = old_thread.objects.create(
                clinic_id=world.clinic_a.pk, client_id=world.client_a.pk, subject="Written before kinds", last_message_at=timezone.now()
            )
        finally:
            executor = MigrationExecutor(connection)
            executor.migrate(executor.loader.graph.leaf_nodes("messaging"))
        assert Thread.objects.get(pk=row.pk).kind == Thread.Kind.CLINICAL
        assert AFTER in MigrationRecorder(connection).applied_migrations()

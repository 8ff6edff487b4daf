"""Rows written while the chain was linked inside each request are already in their chain: the
migration that moves sealing off the request path marks them sealed, and they still verify."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from knotwork.audit.models import AuditEvent
from knotwork.audit.services import GENESIS, audit_record, audit_seal, audit_verify

BEFORE = ("audit", "0002_auditevent_key_id")
K1 = {"k1": "first-secret-that-is-long-enough-for-an-hmac-key"}


@pytest.mark.django_db(transaction=True)
class SealOffTheRequestPathMigrationTests:
    def test_rows_chained_as_they_were_written_become_sealed_and_new_rows_continue_the_chain(self, world, settings, tmp_path):
        settings.AUDIT_KEYS = dict(K1)
        settings.AUDIT_CHECKPOINT_FILE = tmp_path / "checkpoints.log"
        chain = f"clinic:{world.clinic_a.pk}"
        executor = MigrationExecutor(connection)
        executor.migrate([BEFORE])
        try:
            old_apps = executor.loader.project_state([BEFORE]).apps
            old_event, old_head = old_apps.get_model("audit", "AuditEvent"), old_apps.get_model("audit", "AuditChainHead")
            assert "sealed_at" not in {f.name for f in old_event._meta.get_fields()}
            prev, written = GENESIS, []
            for seq in (1, 2):  # as the old audit_record wrote them: linked and hashed in the request
                row = AuditEvent(
                    chain=chain, seq=seq, at=timezone.now(), actor_id=world.alice.pk, actor_label=world.alice.email,
                    clinic_id=world.clinic_a.pk, action="view", object_type="clients.client", object_id=str(world.client_a.pk),
                    prev_hash=prev, key_id="k1",
                )  # fmt: skip
                row.hash = row.compute_hash(K1["k1"])
                fields = {f.attname: getattr(row, f.attname) for f in old_event._meta.concrete_fields if f.attname != "id"}
                written.append(old_event.objects.create(**fields))
                prev = row.hash
            old_head.objects.create(chain=chain, seq=2, hash=prev)
        finally:
            executor = MigrationExecutor(connection)
            executor.migrate(executor.loader.graph.leaf_nodes("audit"))
        migrated = list(AuditEvent.objects.order_by("seq"))
        assert [(e.seq, e.sealed_at, e.mac) for e in migrated] == [(w.seq, w.at, "") for w in written]
        assert [(r.ok, r.rows, r.unsealed) for r in audit_verify()] == [(True, 2, 0)]
        audit_record(action="view", obj=world.client_a, actor=world.alice)
        assert audit_seal(grace=0) == 1
        newest = AuditEvent.objects.get(seq=3)
        assert newest.prev_hash == prev and newest.mac
        assert [(r.ok, r.rows) for r in audit_verify()] == [(True, 3)]

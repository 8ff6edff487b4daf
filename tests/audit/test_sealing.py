"""Audit rows are written by the request as plain inserts and linked into their chain by the sealer.

The request path locks nothing shared; the sealer takes the chain head's lock; verify proves the
chain complete and fails on rows left unsealed too long."""

from __future__ import annotations

import io
import logging
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from knotwork.audit.models import AuditChainHead, AuditEvent
from knotwork.audit.services import audit_checkpoint, audit_many, audit_record, audit_seal, audit_verify, run_sealer
from knotwork.clients.models import Client

K1 = {"k1": "first-secret-that-is-long-enough-for-an-hmac-key"}


@pytest.fixture(autouse=True)
def _keys_and_checkpoints(tmp_path, settings):
    settings.AUDIT_KEYS = dict(K1)
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "checkpoints.log"


def _view(world, **extra) -> AuditEvent:
    return audit_record(action="view", obj=world.client_a, actor=world.alice, **extra)


def _chain(world) -> str:
    return f"clinic:{world.clinic_a.pk}"


def _race(fn, n: int) -> list:
    """Run fn(0..n-1) in n threads released together, each on its own database connection."""
    barrier = threading.Barrier(n)

    def attempt(i: int):
        try:
            barrier.wait(timeout=30)
            return fn(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(attempt, range(n)))


@pytest.mark.django_db
class WritingTests:
    def test_writing_an_event_is_one_insert_that_reads_and_locks_no_chain_head(self, world):
        with CaptureQueriesContext(connection) as queries:
            event = _view(world)
        sql = " ".join(q["sql"] for q in queries.captured_queries).lower()
        assert "audit_auditchainhead" not in sql and "for update" not in sql
        assert sum(1 for q in queries.captured_queries if q["sql"].lower().startswith("insert")) == 1
        assert not AuditChainHead.objects.exists()
        stored = AuditEvent.objects.get(pk=event.pk)
        assert (stored.seq, stored.prev_hash, stored.hash, stored.sealed_at) == (None, "", "", None)
        assert stored.mac == stored.compute_mac(K1["k1"]) and stored.key_id == "k1"

    def test_the_callers_signatures_are_unchanged_and_a_list_is_one_event(self, world):
        audit_many(action="list", objects=[world.client_a], clinic=world.clinic_a, role="therapist")
        event = AuditEvent.objects.get()
        assert (event.action, event.object_type, event.detail) == ("list", "clients.client", {"ids": [world.client_a.pk], "count": 1})

    def test_a_rolled_back_change_leaves_no_audit_row(self, world):
        with pytest.raises(RuntimeError), transaction.atomic():
            Client.objects.filter(pk=world.client_a.pk).update(first_name="Changed")
            audit_record(action="update", obj=world.client_a, actor=world.alice)
            raise RuntimeError("the change fails after it was audited")
        world.client_a.refresh_from_db()
        assert world.client_a.first_name != "Changed"
        assert not AuditEvent.objects.exists()
        assert audit_seal(grace=0) == 0 and audit_verify() == []


@pytest.mark.django_db
class SealingTests:
    def test_sealing_links_rows_in_the_order_they_were_written(self, world):
        written = [_view(world) for _ in range(5)]
        assert audit_seal(grace=0) == 5
        rows = list(AuditEvent.objects.order_by("id"))
        assert [r.pk for r in rows] == [w.pk for w in written]
        assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
        assert rows[0].prev_hash == "0" * 64 and all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
        assert all(r.sealed_at is not None and r.hash == r.compute_hash(K1["k1"]) for r in rows)
        head = AuditChainHead.objects.get(chain=_chain(world))
        assert (head.seq, head.hash) == (5, rows[-1].hash)
        assert [(r.ok, r.rows, r.unsealed) for r in audit_verify()] == [(True, 5, 0)]

    def test_a_second_run_finds_nothing_to_seal_and_later_rows_continue_the_chain(self, world):
        _view(world)
        assert audit_seal(grace=0) == 1
        assert audit_seal(grace=0) == 0
        _view(world)
        assert audit_seal(grace=0) == 1
        assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2]

    def test_only_rows_older_than_the_grace_period_are_sealed_and_sealing_stops_at_the_first_younger(self, world):
        first, second, third = (_view(world) for _ in range(3))
        assert audit_seal(grace=0, now=second.at) == 1  # `second` is not older than the cut-off: it and all after wait
        assert list(AuditEvent.objects.filter(seq__isnull=False).values_list("pk", flat=True)) == [first.pk]
        assert audit_seal(grace=3600) == 0  # all younger than an hour
        assert audit_seal(grace=0) == 2
        assert [r.ok for r in audit_verify()] == [True]

    def test_small_batches_seal_everything(self, world):
        for _ in range(7):
            _view(world)
        assert audit_seal(grace=0, batch=2) == 7
        assert list(AuditEvent.objects.order_by("id").values_list("seq", flat=True)) == list(range(1, 8))

    def test_each_clinic_and_the_platform_have_their_own_chain(self, world):
        _view(world)
        audit_record(action="view", obj=world.client_b, actor=world.charlie)
        audit_record(action="login", object_type="accounts.user", object_id=world.alice.pk, actor=world.alice)
        assert audit_seal(grace=0) == 3
        assert sorted(AuditChainHead.objects.values_list("chain", "seq")) == sorted(
            [(f"clinic:{world.clinic_a.pk}", 1), (f"clinic:{world.clinic_b.pk}", 1), ("platform", 1)]
        )

    def test_a_row_altered_before_it_was_sealed_is_kept_out_of_the_chain_and_reported(self, world, caplog):
        a, b, c = _view(world), _view(world), _view(world)
        with connection.cursor() as cur:
            cur.execute("UPDATE audit_auditevent SET object_id = '999' WHERE id = %s", [b.pk])
        report = audit_verify()[0]
        assert not report.ok and report.broken_at.pk == b.pk and "mac" in report.reason
        caplog.set_level(logging.ERROR)
        assert audit_seal(grace=0) == 2
        assert f"audit row id {b.pk}" in caplog.text
        assert list(AuditEvent.objects.filter(seq__isnull=False).order_by("seq").values_list("pk", flat=True)) == [a.pk, c.pk]
        report = audit_verify()[0]
        assert not report.ok and report.broken_at.pk == b.pk and report.unsealed == 1

    def test_a_row_made_up_without_the_key_is_never_sealed(self, world):
        real = _view(world)
        forged = AuditEvent(
            chain=real.chain, at=timezone.now(), actor_label="mallory@x.example", clinic_id=world.clinic_a.pk, action="view",
            object_type="clients.client", object_id="1", key_id="k1", mac=secrets.token_hex(32),
        )  # fmt: skip
        forged.save()
        unkeyed = AuditEvent(chain=real.chain, at=timezone.now(), actor_label="eve@x.example", clinic_id=world.clinic_a.pk, action="view")
        unkeyed.save()  # no key id and no mac, as rows from before the keys: those are all sealed already
        assert audit_seal(grace=0) == 1
        assert AuditEvent.objects.get(pk=real.pk).seq == 1
        report = audit_verify()[0]
        assert not report.ok and report.broken_at.pk == forged.pk and report.unsealed == 2

    def test_an_unkeyed_rewrite_that_keeps_the_mac_is_caught_at_the_first_row(self, world):
        """Relabelling rows as "from before the keys" and rehashing them with SHA-256 is not enough:
        the mac each row was written with still needs the key."""
        for _ in range(3):
            _view(world)
        audit_seal(grace=0)
        with connection.cursor() as cur:
            cur.execute("UPDATE audit_auditevent SET key_id = ''")
        prev = "0" * 64
        for event in AuditEvent.objects.order_by("seq"):
            event.prev_hash = prev
            with connection.cursor() as cur:
                cur.execute("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s", [prev, event.compute_hash(), event.pk])
            prev = event.compute_hash()
        report = audit_verify()[0]
        assert not report.ok and report.broken_at.seq == 1 and "mac" in report.reason

    def test_a_sealed_row_altered_later_is_caught(self, world):
        rows = [_view(world) for _ in range(4)]
        audit_seal(grace=0)
        with connection.cursor() as cur:
            cur.execute("UPDATE audit_auditevent SET actor_label = 'mallory@x.example' WHERE id = %s", [rows[2].pk])
        report = audit_verify()[0]
        assert not report.ok and report.broken_at.pk == rows[2].pk and "altered" in report.reason

    def test_a_sealed_row_unsealed_again_behind_the_applications_back_leaves_a_gap(self, world):
        rows = [_view(world) for _ in range(3)]
        audit_seal(grace=0)
        with connection.cursor() as cur:
            cur.execute("UPDATE audit_auditevent SET seq = NULL, prev_hash = '', hash = '', sealed_at = NULL WHERE id = %s", [rows[1].pk])
        report = audit_verify()[0]
        assert not report.ok and report.broken_at.seq == 3 and "row 2 is missing" in report.reason

    def test_checkpoints_cover_what_is_sealed(self, world):
        for _ in range(3):
            _view(world)
        assert audit_checkpoint() == []  # nothing sealed, nothing to anchor yet
        audit_seal(grace=0)
        heads = audit_checkpoint()
        assert [(c, seq) for c, seq, _ in heads] == [(_chain(world), 3)]
        with connection.cursor() as cur:
            cur.execute("DELETE FROM audit_auditevent WHERE seq = 3")
            cur.execute("UPDATE audit_auditchainhead SET seq = 2")
        report = audit_verify()[0]
        assert not report.ok and "checkpoint records row 3" in report.reason


@pytest.mark.django_db
class VerifyUnsealedTests:
    def test_young_unsealed_rows_are_counted_and_do_not_fail(self, world):
        _view(world)
        audit_seal(grace=0)
        _view(world)
        assert [(r.ok, r.rows, r.unsealed) for r in audit_verify()] == [(True, 1, 1)]

    def test_an_unsealed_row_older_than_the_limit_is_a_failure(self, world, settings):
        _view(world)
        event = _view(world)
        audit_seal(grace=0, now=event.at)  # the first sealed; the second waits
        report = audit_verify(max_unsealed_age=0)[0]
        assert not report.ok and report.broken_at.pk == event.pk and "unsealed for more than 0 s" in report.reason
        settings.AUDIT_UNSEALED_MAX_AGE = 0
        assert not audit_verify()[0].ok
        settings.AUDIT_UNSEALED_MAX_AGE = 300
        assert audit_verify()[0].ok

    def test_the_command_reports_waiting_rows_and_fails_on_old_ones(self, world):
        _view(world)
        out = io.StringIO()
        call_command("audit", "verify", "--no-seal", stdout=out)
        assert "0 rows, chain intact, 1 waiting to be sealed" in out.getvalue()
        with pytest.raises(SystemExit):
            call_command("audit", "verify", "--no-seal", "--max-unsealed-age", "0", stdout=out)
        assert "broken at an unsealed row" in out.getvalue() and "is the sealer running?" in out.getvalue()
        call_command("audit", "verify", "--grace", "0", "--max-unsealed-age", "0", stdout=out)
        assert "sealed 1 audit row(s)" in out.getvalue() and "1 rows, chain intact" in out.getvalue()

    def test_the_seal_command_seals(self, world):
        _view(world)
        out = io.StringIO()
        call_command("audit", "seal", "--grace", "0", stdout=out)
        assert out.getvalue().strip() == "sealed 1 audit row(s)"
        assert not AuditEvent.objects.unsealed().exists()


@pytest.mark.django_db(transaction=True)
class ConcurrencyTests:
    """Threads with their own connections against a real database: no test transaction hides a race."""

    WRITERS = 8
    WRITES = 15

    def test_concurrent_writers_and_a_running_sealer_give_one_complete_verified_chain(self, world):
        clients = [Client.objects.create(clinic=world.clinic_a, first_name=f"W{i}", last_name="Writer") for i in range(self.WRITERS)]
        done = threading.Event()

        def sealer() -> int:
            sealed = 0
            try:
                while not done.is_set():
                    sealed += audit_seal(grace=0)
            finally:
                connections.close_all()
            return sealed

        def writer(i: int) -> int:
            for n in range(self.WRITES):
                with transaction.atomic():
                    Client.objects.filter(pk=clients[i].pk).update(first_name=f"W{i}-{n}")
                    audit_record(action="update", obj=clients[i], actor=world.alice)
            return self.WRITES

        with ThreadPoolExecutor(max_workers=1) as pool:
            running = pool.submit(sealer)
            written = sum(_race(writer, self.WRITERS))
            done.set()
            sealed_while_writing = running.result()
        total = written
        assert sealed_while_writing + audit_seal(grace=0) == total
        assert AuditEvent.objects.filter(chain=_chain(world)).count() == total
        assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, total + 1))
        assert [(r.ok, r.rows, r.unsealed) for r in audit_verify()] == [(True, total, 0)]

    @pytest.mark.parametrize("wait", [False, True], ids=["skip-locked", "wait"])
    def test_sealers_running_at_once_seal_each_row_exactly_once(self, world, wait):
        for _ in range(60):
            _view(world)
        counts = _race(lambda i: audit_seal(grace=0, batch=7, wait=wait), 4)
        assert sum(counts) == 60
        assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 61))
        assert [(r.ok, r.rows, r.unsealed) for r in audit_verify()] == [(True, 60, 0)]

    def test_the_workers_sealer_thread_seals_new_rows_until_stopped(self, world):
        stop = threading.Event()
        thread = threading.Thread(target=run_sealer, kwargs={"interval": 0.2, "stop": stop})
        thread.start()
        try:
            event = _view(world)
            for _ in range(300):  # the sealer waits out the grace period first
                if AuditEvent.objects.filter(pk=event.pk, sealed_at__isnull=False).exists():
                    break
                stop.wait(0.1)
        finally:
            stop.set()
            thread.join(timeout=30)
        assert not thread.is_alive()
        assert AuditEvent.objects.get(pk=event.pk).seq == 1
        assert audit_verify()[0].ok

"""The audit chain is anchored outside the database: an HMAC under AUDIT_KEYS (never stored in it)
and checkpoints of the chain heads in an append-only file. Someone with full write access to the
database but not the key cannot rewrite the log unnoticed."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from knotwork.audit.models import AuditEvent
from knotwork.audit.services import audit_checkpoint, audit_record, audit_seal, audit_verify, read_checkpoints

pytestmark = pytest.mark.django_db

K1 = {"k1": "first-secret-that-is-long-enough-for-an-hmac-key"}
K2 = {"k2": "second-secret-that-is-long-enough-for-an-hmac-key"}


@pytest.fixture(autouse=True)
def _keys_and_checkpoints(tmp_path, settings):
    settings.AUDIT_KEYS = dict(K1)
    settings.AUDIT_CHECKPOINT_FILE = tmp_path / "checkpoints.log"


def _events(world, n):
    """n events, sealed into the chain (grace 0: the sealer would otherwise wait a moment for them)."""
    ids = [audit_record(action="view", obj=world.client_a, actor=world.alice).pk for _ in range(n)]
    audit_seal(grace=0)
    return list(AuditEvent.objects.filter(pk__in=ids).order_by("seq"))


def _rewrite_with_sha256(chain: str, *, change_row: int, key_id: str | None = None) -> None:
    """The attack: change one row, then recompute every hash from there on with plain SHA-256 (the
    attacker has the database, not the key) and move the chain head along. Rows rewritten as
    unkeyed (``key_id=""``) lose their mac too, as rows from before the keys had none."""
    prev = None
    for event in AuditEvent.objects.filter(chain=chain).order_by("seq"):
        if event.seq == change_row:
            event.actor_label = "mallory@x.example"
        if prev is not None:
            event.prev_hash = prev
        if key_id is not None:
            event.key_id = key_id
            if not key_id:
                event.mac = ""
        payload = json.dumps(event.content(), sort_keys=True, separators=(",", ":"), default=str).encode()
        event.hash = hashlib.sha256(payload).hexdigest()
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE audit_auditevent SET actor_label = %s, prev_hash = %s, hash = %s, key_id = %s, mac = %s WHERE id = %s",
                [event.actor_label, event.prev_hash, event.hash, event.key_id, event.mac, event.pk],
            )
        prev = event.hash
    with connection.cursor() as cur:
        cur.execute("UPDATE audit_auditchainhead SET hash = %s WHERE chain = %s", [prev, chain])


def test_new_rows_are_signed_with_the_first_key(world):
    event = _events(world, 1)[0]
    assert event.key_id == "k1"
    assert event.hash == event.compute_hash(K1["k1"]) != event.compute_hash("another key of the same length, or so...")
    assert audit_verify()[0].ok


def test_a_full_rewrite_without_the_key_is_caught(world):
    events = _events(world, 5)
    _rewrite_with_sha256(events[0].chain, change_row=3)
    report = audit_verify()[0]
    assert not report.ok and report.broken_at.seq == 1 and "altered" in report.reason


def test_a_rewrite_that_drops_the_key_id_is_caught_at_the_checkpoint(world):
    events = _events(world, 4)
    audit_checkpoint()
    _rewrite_with_sha256(events[0].chain, change_row=2, key_id="")  # every row made "from before the keys"
    report = audit_verify()[0]
    assert not report.ok and report.broken_at.seq == 4 and "checkpoint" in report.reason


def test_an_unkeyed_row_after_keyed_ones_is_caught(world):
    events = _events(world, 3)
    _rewrite_with_sha256(events[0].chain, change_row=3, key_id="")
    with connection.cursor() as cur:  # rows 1-2 keep their keyed hashes; row 3 rewritten unkeyed and relinked
        for e in events[:2]:
            cur.execute(
                "UPDATE audit_auditevent SET key_id = 'k1', mac = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [e.mac, e.prev_hash, e.hash, e.pk],
            )
        third = AuditEvent.objects.get(pk=events[2].pk)
        third.prev_hash = events[1].hash
        rehashed = third.compute_hash()
        cur.execute("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s", [third.prev_hash, rehashed, third.pk])
    report = audit_verify()[0]
    assert not report.ok and report.broken_at.seq == 3 and "unkeyed row after keyed ones" in report.reason


def test_rows_cut_off_the_end_are_caught_by_the_checkpoint(world):
    events = _events(world, 4)
    heads = audit_checkpoint()
    assert heads == [(events[0].chain, 4, events[-1].hash)]
    with connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditevent WHERE id IN (%s, %s)", [events[2].pk, events[3].pk])
        cur.execute("UPDATE audit_auditchainhead SET seq = 2, hash = %s WHERE chain = %s", [events[1].hash, events[0].chain])
    report = audit_verify()[0]
    assert not report.ok and "checkpoint records row 4" in report.reason


def test_a_whole_chain_removed_is_caught(world):
    events = _events(world, 2)
    audit_checkpoint()
    with connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditevent WHERE chain = %s", [events[0].chain])
        cur.execute("DELETE FROM audit_auditchainhead WHERE chain = %s", [events[0].chain])
    reports = audit_verify()
    assert [(r.chain, r.ok, r.reason) for r in reports] == [(events[0].chain, False, "checkpointed but gone")]


def test_rotation_signs_with_the_new_key_and_still_verifies_the_old(world, settings):
    old = _events(world, 2)
    settings.AUDIT_KEYS = {**K2, **K1}
    new = _events(world, 2)
    assert [e.key_id for e in old + new] == ["k1", "k1", "k2", "k2"]
    assert audit_verify()[0].ok
    settings.AUDIT_KEYS = dict(K2)  # the old key thrown away too early
    report = audit_verify()[0]
    assert not report.ok and report.broken_at.seq == 1 and "not in AUDIT_KEYS" in report.reason


def test_rows_from_before_the_chain_was_keyed_still_verify_and_stay_covered(world):
    events = _events(world, 3)
    with connection.cursor() as cur:  # as a database upgraded from the unkeyed chain holds them
        for e in events[:2]:
            e.key_id, e.mac = "", ""
        prev = "0" * 64
        for e in events[:2]:
            e.prev_hash = prev
            e.hash = e.compute_hash()
            cur.execute(
                "UPDATE audit_auditevent SET key_id = '', mac = '', prev_hash = %s, hash = %s WHERE id = %s", [e.prev_hash, e.hash, e.pk]
            )
            prev = e.hash
    third = AuditEvent.objects.get(pk=events[2].pk)
    third.prev_hash = prev
    with connection.cursor() as cur:
        cur.execute("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s", [prev, third.compute_hash(K1["k1"]), third.pk])
    assert audit_verify()[0].ok
    with connection.cursor() as cur:  # an old unkeyed row changed and rehashed: the keyed row after it no longer links
        cur.execute("UPDATE audit_auditevent SET actor_label = 'x' WHERE id = %s", [events[1].pk])
        events[1].actor_label = "x"
        cur.execute("UPDATE audit_auditevent SET hash = %s WHERE id = %s", [events[1].compute_hash(), events[1].pk])
    report = audit_verify()[0]
    assert not report.ok and report.broken_at.seq == 3


def test_the_checkpoint_file_is_appended_and_a_torn_line_is_ignored(world, settings):
    _events(world, 1)
    audit_checkpoint()
    _events(world, 1)
    audit_checkpoint()
    with open(settings.AUDIT_CHECKPOINT_FILE, "a") as f:
        f.write('{"chain": "clinic:1", "se')
    marks = read_checkpoints()
    assert list(marks.values())[0].keys() == {1, 2}
    out = io.StringIO()
    call_command("audit", "checkpoint", "--grace", "0", stdout=out)
    assert "checkpoint at row 2" in out.getvalue()
    call_command("audit", "verify", "--grace", "0", stdout=out)
    assert "chain intact" in out.getvalue()


@override_settings()
def test_the_audit_keys_setting_is_validated(tmp_path, monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from config.env import audit_keys

    monkeypatch.setenv("AUDIT_KEYS", "k1:short")
    with pytest.raises(ImproperlyConfigured, match="AUDIT_KEYS entry 1"):
        audit_keys(tmp_path, debug=False)
    monkeypatch.setenv("AUDIT_KEYS", f"k2:{'x' * 40},k1:{'y' * 40}")
    assert list(audit_keys(tmp_path, debug=False)) == ["k2", "k1"]
    monkeypatch.delenv("AUDIT_KEYS")
    generated = audit_keys(tmp_path, debug=True)
    assert list(generated) == ["k1"] and len(generated["k1"]) >= 32 and audit_keys(tmp_path, debug=True) == generated

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from knotwork.audit.models import AppendOnlyError, AuditEvent
from knotwork.audit.services import audit_record, audit_seal, audit_verify

pytestmark = pytest.mark.django_db


def _events(world, n=5):
    """n events, sealed into the chain (grace 0: the sealer would otherwise wait a moment for them)."""
    ids = [audit_record(action="view", obj=world.client_a, actor=world.alice).pk for _ in range(n)]
    audit_seal(grace=0)
    return list(AuditEvent.objects.filter(pk__in=ids).order_by("seq"))


class AuditChainTests:
    def test_each_row_links_to_the_previous_rows_hash(self, world):
        a, b, c = _events(world, 3)
        assert (b.prev_hash, c.prev_hash) == (a.hash, b.hash)
        assert [r.ok for r in audit_verify()] == [True]

    def test_clinics_have_separate_chains(self, world):
        audit_record(action="view", obj=world.client_a, actor=world.alice)
        event_b = audit_record(action="view", obj=world.client_b, actor=world.charlie)
        audit_seal(grace=0)
        event_b.refresh_from_db()
        assert event_b.seq == 1
        assert {r.chain for r in audit_verify()} == {f"clinic:{world.clinic_a.pk}", f"clinic:{world.clinic_b.pk}"}

    def test_rows_cannot_be_changed_or_deleted_through_the_orm(self, world):
        event = _events(world, 1)[0]
        event.action = "delete"
        with pytest.raises(AppendOnlyError):
            event.save()
        with pytest.raises(AppendOnlyError):
            event.delete()
        with pytest.raises(AppendOnlyError):
            AuditEvent.objects.filter(pk=event.pk).update(action="x")
        with pytest.raises(AppendOnlyError):
            AuditEvent.objects.all().delete()

    def test_verify_finds_the_first_row_altered_behind_the_applications_back(self, world):
        events = _events(world, 5)
        with connection.cursor() as cur:
            cur.execute("UPDATE audit_auditevent SET actor_label = %s WHERE id = %s", ["mallory@x.example", events[2].pk])
        report = audit_verify()[0]
        assert not report.ok
        assert report.broken_at.seq == 3
        assert "altered" in report.reason

    def test_verify_notices_a_removed_row_in_the_middle_and_at_the_end(self, world):
        events = _events(world, 4)
        with connection.cursor() as cur:
            cur.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])
        assert audit_verify()[0].broken_at.seq == 3
        with connection.cursor() as cur:
            cur.execute("DELETE FROM audit_auditevent WHERE id >= %s", [events[1].pk])
        report = audit_verify()[0]
        assert not report.ok and "rows removed" in report.reason

    def test_the_command_reports_intact_chains_and_exits_non_zero_on_a_broken_one(self, world):
        events = _events(world, 2)
        out = io.StringIO()
        call_command("audit", "verify", "--grace", "0", stdout=out)
        assert "chain intact" in out.getvalue()
        with connection.cursor() as cur:
            cur.execute("UPDATE audit_auditevent SET object_id = '999' WHERE id = %s", [events[0].pk])
        with pytest.raises(SystemExit):
            call_command("audit", "verify", "--grace", "0", stdout=out)
        assert "broken at row 1" in out.getvalue()


class AuditViewerTests:
    def test_the_owner_browses_and_filters_the_clinics_log(self, world, as_user):
        _events(world, 3)
        audit_record(action="view", obj=world.client_b, actor=world.charlie)
        c = as_user(world.olivia)
        response = c.get(reverse("audit_log"), {"actor": "alice"})
        assert response.status_code == 200
        assert response.content.count(b"alice@a.example") >= 3
        assert b"charlie@b.example" not in response.content

    def test_a_bad_date_range_is_reported_not_crashed(self, world, as_user):
        response = as_user(world.olivia).get(reverse("audit_log"), {"since": "2026-02-01", "until": "2026-01-01"})
        assert response.status_code == 200
        assert b"end date is before" in response.content
        assert as_user(world.olivia).get(reverse("audit_log"), {"since": "not-a-date"}).status_code == 200

    def test_csv_export_neutralises_formulas_and_is_itself_audited(self, world, as_user):
        audit_record(action="view", object_type="=cmd|' /C calc'!A0", clinic=world.clinic_a, actor=world.alice)
        response = as_user(world.olivia).get(reverse("audit_export"))
        body = b"".join(response.streaming_content).decode()
        assert "'=cmd" in body and ",=cmd" not in body
        assert AuditEvent.objects.filter(action="export", clinic=world.clinic_a).exists()

    @pytest.mark.parametrize("persona", ["alice", "bob"])
    def test_staff_who_are_not_owners_get_403(self, world, as_user, persona):
        assert as_user(getattr(world, persona)).get(reverse("audit_log")).status_code == 403

    def test_charlie_sees_only_his_own_clinics_events(self, world, as_user):
        _events(world, 2)
        from knotwork.accounts.models import Membership

        Membership.objects.filter(user=world.charlie).update(role="owner")
        response = as_user(world.charlie).get(reverse("audit_log"))
        assert b"alice@a.example" not in response.content

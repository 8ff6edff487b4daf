"""Figure 8: every clinical read in the route inventory writes an audit row, the chains verify,
a tampered row is found, and neither logs nor audit details carry seeded PHI canaries or secrets."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django.test import Client as HttpClient

from knotwork.audit.models import AuditEvent
from knotwork.audit.services import audit_verify
from tests.security.conftest import all_routes, concrete
from tests.security.objects import ids_for, other_params
from tests.security.routes import ROUTES

CLINICAL_READS = sorted(
    name
    for name, r in ROUTES.items()
    if name in all_routes()
    and r.ids
    and r.role in ("staff:view_clinical", "staff-or-client:view_clinical")
    and "client" in r.ids.values()
    or name in all_routes()
    and r.role.endswith("view_clinical")
    and set(r.ids.values()) & {"visit", "assessment", "episode", "photo", "thread"}
)
# Not reads to audit one by one: write-only operations, and the pressure-feedback feed that the open
# visit page polls every few seconds (opening the visit is the audited read).
NOT_READS = {"api:thread_reply", "api:interop_export_create", "feedback_feed"}
CLINICAL_READS = [n for n in CLINICAL_READS if n not in NOT_READS]
CANARY = "PHI-CANARY-51c2"


@pytest.mark.parametrize("name", CLINICAL_READS)
def test_every_clinical_read_writes_an_audit_row(seeded, db, name):
    route = ROUTES[name]
    ids = ids_for(route.ids, seeded.clinic_a)
    assert ids is not None
    url = concrete(all_routes()[name], {**other_params(seeded.clinic_a, ids.get("client_id")), **ids})
    http = HttpClient()
    http.force_login(seeded.therapist_a)
    before = AuditEvent.objects.count()
    response = http.get(url)
    assert response.status_code == 200, f"{url} → {response.status_code}"
    assert AuditEvent.objects.count() > before, f"{name}: a clinical read left no audit row"


class AuditChainTests:
    def test_a_scripted_session_over_canary_data_verifies_and_leaks_nothing(self, seeded, db, caplog):
        from knotwork.care.models import Visit

        visit = Visit.objects.filter(clinic=seeded.clinic_a).first()
        visit.subjective = f"Told me about {CANARY}"
        visit.save()
        client = visit.client
        client.clinical_alerts = f"{CANARY} alert"
        client.save()
        http = HttpClient()
        http.force_login(seeded.therapist_a)
        caplog.set_level(logging.DEBUG)
        for url in (
            f"/clients/{client.pk}/",
            f"/visits/{visit.pk}/",
            f"/api/visits/{visit.pk}",
            f"/visits/{visit.pk}/note.pdf",
            f"/clients/{client.pk}/summary/",
            "/accounts/login/?token=secret-token-1234&code=999999",
        ):
            http.get(url)
        http.post(f"/visits/{visit.pk}/notes/", {"subjective": f"{CANARY} again", "objective": "", "assessment": "", "plan": ""})
        HttpClient().post("/accounts/login/", {"login": seeded.therapist_a.email, "password": "wrong-password-canary"})
        assert CANARY not in caplog.text and "wrong-password-canary" not in caplog.text and "secret-token-1234" not in caplog.text
        details = " ".join(str(d) for d in AuditEvent.objects.values_list("detail", flat=True))
        assert CANARY not in details and "wrong-password-canary" not in details
        assert all(r.ok for r in audit_verify())

    def test_a_tampered_row_is_found(self, seeded, db):
        HttpClient().get("/")
        event = AuditEvent.objects.filter(clinic=seeded.clinic_a).order_by("seq")[3]
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {AuditEvent._meta.db_table} SET object_id = %s WHERE id = %s", ["999", event.pk])  # noqa: S608
        broken = [r for r in audit_verify() if not r.ok]
        assert len(broken) == 1 and broken[0].broken_at.pk == event.pk

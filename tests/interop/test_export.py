from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from knotwork.clients.models import Client
from knotwork.interop import export, fhir, services
from knotwork.interop.models import DataExport, ExportStatus


def walk_related_objects(client: Client) -> dict[str, set[str]]:
    """Every row linked to the client, found independently of the exporter: Django's
    ``_meta.related_objects`` from Client, recursively through the models reached."""
    found: dict[type, set] = {Client: {client.pk}}
    queue = [Client]
    while queue:
        model = queue.pop(0)
        for rel in model._meta.related_objects:
            related = rel.related_model
            if related._meta.label_lower in export.EXCLUDED:
                continue
            pks = set(related._default_manager.filter(**{f"{rel.field.name}__in": found[model]}).values_list("pk", flat=True))
            new = pks - found.get(related, set())
            if new:
                found.setdefault(related, set()).update(new)
                queue.append(related)
    return {m._meta.label_lower: {str(pk) for pk in pks} for m, pks in found.items()}


def zip_tables(data: bytes) -> dict[str, set[str]]:
    tables = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if name.startswith("csv/"):
                rows = list(csv.reader(io.StringIO(zf.read(name).decode())))
                label = name[4:-4]
                from django.apps import apps

                pk = apps.get_model(label)._meta.pk.attname
                col = rows[0].index(pk)
                tables[label] = {r[col] for r in rows[1:]}
    return tables


class ExportCompletenessTests:
    def test_every_row_linked_to_the_client_is_in_the_export(self, demo_client):
        expected = walk_related_objects(demo_client)
        assert len(expected) >= 12  # the demo reaches intake, care, assessment, bookings, messaging and outcomes rows
        data, counts = export.build_zip(demo_client)
        tables = zip_tables(data)
        for label, pks in expected.items():
            missing = pks - tables.get(label, set())
            assert not missing, f"{label}: rows {sorted(missing)[:5]} are missing from the export"
        assert counts == {label: len(pks) for label, pks in tables.items()}

    def test_no_other_clients_rows_are_in_the_export(self, demo_client):
        other = Client.objects.filter(clinic=demo_client.clinic).exclude(pk=demo_client.pk).first()
        data, _ = export.build_zip(demo_client)
        assert str(other.pk) not in zip_tables(data)["clients.client"]

    def test_every_exclusion_names_a_real_model_and_gives_a_reason(self):
        from django.apps import apps

        for label, reason in export.EXCLUDED.items():
            assert apps.get_model(label) and len(reason) > 20

    def test_the_archive_holds_a_summary_the_fhir_bundle_and_the_documents(self, demo_client):
        data, _ = export.build_zip(demo_client)
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
            assert {"summary.pdf", "fhir/bundle.json", "README.txt", "csv/clients.client.csv"} <= set(names)
            assert zf.read("summary.pdf").startswith(b"%PDF")
            fhir.validate(json.loads(zf.read("fhir/bundle.json")))
            assert any(n.startswith("documents/visit-note-") for n in names)
            assert any(n.startswith("documents/progress-report-episode-") for n in names)

    def test_secrets_are_withheld_and_formulas_neutralised(self, world, atlas_db_client):
        client, _ = atlas_db_client
        client.first_name = "=HYPERLINK(1)"
        client.save()
        data, _ = export.build_zip(client)
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert "'=HYPERLINK(1)" in zf.read("csv/clients.client.csv").decode()


class ExportFlowTests:
    def request(self, c, client, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            r = c.post(reverse("client_data_export", args=[client.pk]))
        assert r.status_code == 302
        return DataExport.objects.get(client=client)

    def test_alice_requests_an_export_and_downloads_it_through_a_signed_link(self, world, as_user, atlas_db_client,
                                                                             django_capture_on_commit_callbacks):  # fmt: skip
        client, _ = atlas_db_client
        c = as_user(world.alice)
        e = self.request(c, client, django_capture_on_commit_callbacks)
        assert e.status == ExportStatus.READY and e.byte_size
        # The page signs its own link when it renders (a timestamped token, so not always the same
        # string as one signed here a second earlier): read it from the page and check what it names.
        page = c.get(reverse("client_data_export", args=[client.pk])).content.decode()
        prefix = reverse("data_export_download", args=["TOKEN"]).split("TOKEN")[0]
        found = re.search(re.escape(prefix) + r"([^/\"]+)/", page)
        assert found and services.export_id_from_token(found.group(1)) == e.pk
        r = c.get(found.group(0))
        assert r.status_code == 200 and r["Content-Type"] == "application/zip"
        assert zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content))).testzip() is None

    def test_the_link_is_refused_to_other_people_forged_or_expired(self, world, as_user, client, atlas_db_client,
                                                                  django_capture_on_commit_callbacks):  # fmt: skip
        owner, _ = atlas_db_client
        e = self.request(as_user(world.alice), owner, django_capture_on_commit_callbacks)
        link = reverse("data_export_download", args=[services.download_token(e)])
        client.logout()
        assert client.get(link).status_code == 302
        assert as_user(world.charlie).get(link).status_code == 404
        assert as_user(world.bob).get(link).status_code == 403
        assert as_user(world.alice).get(reverse("data_export_download", args=[services.download_token(e) + "x"])).status_code == 404
        DataExport.objects.filter(pk=e.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert as_user(world.alice).get(link).status_code == 404

    def test_charlie_and_bob_cannot_request_an_export(self, world, as_user, atlas_db_client):
        client, _ = atlas_db_client
        assert as_user(world.charlie).post(reverse("client_data_export", args=[client.pk])).status_code == 404
        assert as_user(world.bob).post(reverse("client_data_export", args=[client.pk])).status_code == 403
        assert not DataExport.objects.exists()

    def test_the_client_requests_their_own_copy_in_the_portal(self, world, as_user, atlas_db_client, django_capture_on_commit_callbacks):
        from knotwork.lib.testing import make_user

        client, _ = atlas_db_client
        user = make_user("ada@mail.example", mfa=False)
        client.portal_user = user
        client.save()
        c = as_user(user)
        with django_capture_on_commit_callbacks(execute=True):
            assert c.post(reverse("portal_data_export", args=[client.pk])).status_code == 302
        e = DataExport.objects.get()
        assert c.get(reverse("data_export_download", args=[services.download_token(e)])).status_code == 200
        assert c.get(reverse("portal_data_export", args=[world.client_b.pk])).status_code == 404

    def test_expired_archives_are_purged(self, world, as_user, atlas_db_client, django_capture_on_commit_callbacks):
        from django.core.files.storage import default_storage

        from knotwork.interop.tasks import purge_expired

        client, _ = atlas_db_client
        e = self.request(as_user(world.alice), client, django_capture_on_commit_callbacks)
        name = e.file_name
        assert default_storage.exists(name)
        assert purge_expired(now=e.expires_at + timedelta(seconds=1)) == 1
        e.refresh_from_db()
        assert e.status == ExportStatus.EXPIRED and not default_storage.exists(name)


class ExportApiTests:
    def test_the_api_queues_an_export_and_reports_its_link(self, world, as_user, atlas_db_client, django_capture_on_commit_callbacks):
        client, _ = atlas_db_client
        c = as_user(world.alice)
        with django_capture_on_commit_callbacks(execute=True):
            r = c.post(reverse("api:interop_export_create", args=[client.pk]))
        assert r.status_code == 202
        data = c.get(reverse("api:interop_export", args=[r.json()["id"]])).json()
        assert data["status"] == "ready" and "/exports/" in data["download_url"]
        assert as_user(world.charlie).get(reverse("api:interop_export", args=[r.json()["id"]])).status_code == 404
        assert as_user(world.charlie).post(reverse("api:interop_export_create", args=[client.pk])).status_code == 404


@pytest.mark.parametrize("bad", ["", "abc", "1:forged"])
def test_a_forged_token_names_no_export(bad):
    assert services.export_id_from_token(bad) is None
